import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import { logger } from '#commons/logger';
import { LOCAL_ACCOUNT_ID } from '#local/aws-env';
import type { LocalService } from '#local/dynamodb-local';
import { serveOnLoopback } from '#local/loopback';
import { lambdaContext } from '#local/lambda-context';

export type HttpHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyResultV2>;

export interface HttpFrontOptions {
  /** Routes as API Gateway route keys: `'POST /webhooks/psapi'`, `'GET /items/{id}'` or `'$default'`. */
  routes: Record<string, HttpHandler>;
  /** Larger bodies get 413 (API Gateway's limit is 10 MB). */
  maxBodyBytes?: number;
  /** 0 (default) picks a free port. */
  port?: number;
}

const API_ID = 'local';
const DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024;

class TooLarge extends Error {}

async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) throw new TooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function matchRoute(routes: Record<string, HttpHandler>, method: string, path: string) {
  for (const [routeKey, handler] of Object.entries(routes)) {
    if (routeKey === '$default') continue;
    const [routeMethod, routePath = ''] = routeKey.split(' ');
    if (routeMethod !== 'ANY' && routeMethod !== method) continue;
    const want = routePath.split('/');
    const got = path.split('/');
    if (want.length !== got.length) continue;
    const pathParameters: Record<string, string> = {};
    const matches = want.every((segment, i) => {
      const param = /^\{(.+)\}$/.exec(segment)?.[1];
      if (param) pathParameters[param] = decodeURIComponent(got[i] ?? '');
      return param !== undefined || segment === got[i];
    });
    if (matches) return { routeKey, handler, pathParameters };
  }
  const fallback = routes.$default;
  return fallback ? { routeKey: '$default', handler: fallback, pathParameters: {} } : undefined;
}

/** Text if the bytes are valid UTF-8, else base64 (what API Gateway hands Lambda for binary bodies). */
function encodeBody(raw: Buffer): { body: string; isBase64Encoded: boolean } {
  try {
    return { body: new TextDecoder('utf-8', { fatal: true }).decode(raw), isBase64Encoded: false };
  } catch {
    return { body: raw.toString('base64'), isBase64Encoded: true };
  }
}

function apiGatewayTime(date: Date): string {
  const [day, month, year, time] = date.toUTCString().slice(5, 25).split(' '); // "27 Nov 2026 00:00:00"
  return `${day}/${month}/${year}:${time} +0000`;
}

function buildEvent(req: IncomingMessage, raw: Buffer, routeKey: string, pathParameters: Record<string, string>): APIGatewayProxyEventV2 {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || name === 'cookie') continue;
    headers[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  }
  const query: Record<string, string> = {};
  for (const [key, value] of url.searchParams) query[key] = key in query ? `${query[key]},${value}` : value;
  const cookies = req.headers.cookie?.split(';').map((c) => c.trim()).filter(Boolean);
  const now = new Date();
  const host = headers.host ?? 'localhost';
  return {
    version: '2.0',
    routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    ...(cookies?.length ? { cookies } : {}),
    headers,
    ...(Object.keys(query).length ? { queryStringParameters: query } : {}),
    ...(Object.keys(pathParameters).length ? { pathParameters } : {}),
    requestContext: {
      accountId: LOCAL_ACCOUNT_ID,
      apiId: API_ID,
      domainName: host,
      domainPrefix: host.split('.')[0] ?? host,
      http: {
        method: req.method ?? 'GET',
        path: url.pathname,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: apiGatewayTime(now),
      timeEpoch: now.getTime(),
    },
    ...(raw.length > 0 ? encodeBody(raw) : { isBase64Encoded: false }),
  };
}

/** API Gateway's reading of a Lambda result: a structured response, or any other value as a 200 JSON body. */
function toResponse(result: APIGatewayProxyResultV2): { status: number; headers: Record<string, string>; cookies: string[]; body: Buffer } {
  if (typeof result === 'object' && result !== null && 'statusCode' in result) {
    const body = result.body ?? '';
    return {
      status: result.statusCode ?? 200,
      headers: Object.fromEntries(Object.entries(result.headers ?? {}).map(([k, v]) => [k, String(v)])),
      cookies: result.cookies ?? [],
      body: result.isBase64Encoded ? Buffer.from(body, 'base64') : Buffer.from(body, 'utf8'),
    };
  }
  const body = typeof result === 'string' ? result : JSON.stringify(result ?? null);
  return { status: 200, headers: { 'content-type': 'application/json' }, cookies: [], body: Buffer.from(body, 'utf8') };
}

/** An HTTP API (payload format 2.0) stand-in on 127.0.0.1: one node:http server, routes to local handlers. */
export async function startHttpFront(options: HttpFrontOptions): Promise<LocalService> {
  const server = createServer(async (req, res) => {
    const sendJson = (status: number, message: string): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ message }));
    };
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const route = matchRoute(options.routes, req.method ?? 'GET', path);
    if (!route) return sendJson(404, 'Not Found');
    let raw: Buffer;
    try {
      raw = await readBody(req, options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES);
    } catch (error) {
      if (error instanceof TooLarge) return sendJson(413, 'Request Entity Too Large');
      return sendJson(400, 'Bad Request');
    }
    let result: APIGatewayProxyResultV2;
    try {
      result = await route.handler(buildEvent(req, raw, route.routeKey, route.pathParameters), lambdaContext('http-front'));
    } catch (error) {
      logger.error('Local HTTP front: handler failed', { routeKey: route.routeKey, error: (error as Error).message });
      return sendJson(500, 'Internal Server Error');
    }
    const response = toResponse(result);
    if (response.cookies.length) res.setHeader('set-cookie', response.cookies);
    res.writeHead(response.status, response.headers).end(response.body);
  });
  return serveOnLoopback(server, options.port);
}
