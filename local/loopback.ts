/** One way for a local stand-in to listen: on 127.0.0.1 only, stopped with every connection closed. */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LocalService } from '#local/dynamodb-local';

/** Listens on 127.0.0.1 (`port` 0 or unset: any free port); `stop` drops open keep-alive connections too. */
export async function serveOnLoopback(server: Server, port = 0): Promise<LocalService> {
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));
  const { port: bound } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${bound}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
