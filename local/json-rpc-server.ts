import { createServer, type IncomingMessage } from 'node:http';
import type { LocalService } from '#local/dynamodb-local';
import { serveOnLoopback } from '#local/loopback';

/** An AWS JSON-protocol error: written as `x-amzn-errortype` + `{__type, message}` with status 400. */
export class AwsJsonError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly statusCode = 400,
  ) {
    super(message);
  }
}

export type JsonOperation = (input: Record<string, unknown>) => unknown;

export interface JsonRpcServerOptions {
  /** `x-amz-target` prefix, e.g. `secretsmanager` or `AWSStepFunctions`. */
  targetPrefix: string;
  /** `application/x-amz-json-1.0` or `-1.1`. */
  contentType: string;
  operations: Record<string, JsonOperation>;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** A minimal AWS JSON 1.0/1.1 server on 127.0.0.1 (POST /, operation in `x-amz-target`). */
export async function startJsonRpcServer(options: JsonRpcServerOptions): Promise<LocalService> {
  const server = createServer(async (req, res) => {
    const send = (status: number, payload: unknown, errorType?: string): void => {
      const headers: Record<string, string> = { 'content-type': options.contentType };
      if (errorType) headers['x-amzn-errortype'] = errorType;
      res.writeHead(status, headers).end(JSON.stringify(payload ?? {}));
    };
    try {
      const target = String(req.headers['x-amz-target'] ?? '');
      const [prefix, operationName] = target.split('.');
      const operation = prefix === options.targetPrefix && operationName ? options.operations[operationName] : undefined;
      if (!operation) throw new AwsJsonError('UnknownOperationException', `Unsupported operation ${target || '(none)'}`);
      const raw = await readBody(req);
      const input = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
      send(200, await operation(input));
    } catch (error) {
      if (error instanceof AwsJsonError) {
        send(error.statusCode, { __type: error.type, message: error.message }, error.type);
      } else {
        send(500, { __type: 'InternalFailure', message: (error as Error).message }, 'InternalFailure');
      }
    }
  });
  return serveOnLoopback(server);
}
