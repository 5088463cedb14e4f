import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalService } from '#local/dynamodb-local';
import { startHttpFront } from '#local/http-front';

describe('HTTP API front', () => {
  let front: LocalService;
  const events: APIGatewayProxyEventV2[] = [];

  beforeAll(async () => {
    front = await startHttpFront({
      maxBodyBytes: 1024,
      routes: {
        'POST /webhooks/psapi': async (event) => {
          events.push(event);
          return { statusCode: 202, headers: { 'x-seen': String(event.body?.length ?? 0) }, body: '{"accepted":true}' };
        },
        'GET /items/{id}': async (event) => JSON.stringify({ id: event.pathParameters?.id, q: event.queryStringParameters }),
        'GET /binary': async () => ({ statusCode: 200, isBase64Encoded: true, body: Buffer.from([0, 255, 1]).toString('base64') }),
        'GET /boom': async () => {
          throw new Error('handler exploded');
        },
      },
    });
  });
  afterAll(() => front.stop());

  it('hands the handler the exact raw UTF-8 body and lowercased headers, and writes its result back', async () => {
    // Whitespace, key order and escapes must survive untouched: signatures are computed over these bytes.
    const raw = '{ "type":"npn.deactivated",\n  "data": {"npn":"123", "name":"Zoë \\u00e9"} }';
    const response = await fetch(`${front.endpoint}/webhooks/psapi?x=1`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Svix-Id': 'msg_1', 'Svix-Timestamp': '1700000000', 'Svix-Signature': 'v1,abc' },
      body: raw,
    });
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ accepted: true });
    expect(response.headers.get('x-seen')).toBe(String(raw.length));

    const event = events.at(-1) as APIGatewayProxyEventV2;
    expect(event.body).toBe(raw);
    expect(event.isBase64Encoded).toBe(false);
    expect(event.headers).toMatchObject({ 'content-type': 'application/json', 'svix-id': 'msg_1', 'svix-timestamp': '1700000000', 'svix-signature': 'v1,abc' });
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: 'POST /webhooks/psapi',
      rawPath: '/webhooks/psapi',
      rawQueryString: 'x=1',
      queryStringParameters: { x: '1' },
      requestContext: { http: { method: 'POST', path: '/webhooks/psapi' }, stage: '$default' },
    });
    expect(event.requestContext.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(Math.abs(event.requestContext.timeEpoch - Date.now())).toBeLessThan(60_000);
  });

  it('base64-encodes a body that is not UTF-8 text', async () => {
    const bytes = Buffer.from([0x7b, 0xff, 0xfe, 0x00, 0x7d]);
    const response = await fetch(`${front.endpoint}/webhooks/psapi`, { method: 'POST', body: bytes });
    expect(response.status).toBe(202);
    const event = events.at(-1) as APIGatewayProxyEventV2;
    expect(event.isBase64Encoded).toBe(true);
    expect(Buffer.from(event.body ?? '', 'base64')).toEqual(bytes);
  });

  it('matches path parameters, infers 200 JSON for plain results, decodes base64 responses', async () => {
    const item = await fetch(`${front.endpoint}/items/42?a=1&a=2`);
    expect(item.status).toBe(200);
    expect(await item.json()).toEqual({ id: '42', q: { a: '1,2' } });
    const binary = await fetch(`${front.endpoint}/binary`);
    expect(Buffer.from(await binary.arrayBuffer())).toEqual(Buffer.from([0, 255, 1]));
  });

  it('answers 404 for unknown routes, 413 for oversized bodies and 500 when the handler throws', async () => {
    expect((await fetch(`${front.endpoint}/webhooks/other`, { method: 'POST', body: '{}' })).status).toBe(404);
    expect((await fetch(`${front.endpoint}/webhooks/psapi`, { method: 'GET' })).status).toBe(404);
    const before = events.length;
    const big = await fetch(`${front.endpoint}/webhooks/psapi`, { method: 'POST', body: 'x'.repeat(2048) });
    expect(big.status).toBe(413);
    expect(events.length).toBe(before);
    const boom = await fetch(`${front.endpoint}/boom`);
    expect(boom.status).toBe(500);
    expect(await boom.json()).toEqual({ message: 'Internal Server Error' });
  });
});
