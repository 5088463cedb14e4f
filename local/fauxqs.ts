import { startFauxqs } from 'fauxqs';
import type { LocalService } from '#local/dynamodb-local';

/** Embeds fauxqs (SQS over the wire) in this process on a free port. */
export async function startSqs(): Promise<LocalService> {
  // fauxqs always binds 0.0.0.0; clients still talk to it on 127.0.0.1.
  const server = await startFauxqs({ port: 0, logger: false });
  return {
    endpoint: `http://127.0.0.1:${server.port}`,
    stop: () => server.stop(),
  };
}
