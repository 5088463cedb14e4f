import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'svix';
import type { Simulator } from './server.ts';

/**
 * Minimal raw-HTTP helpers for tests that exercise the simulator itself (the product's real
 * client lives in lambdas/producersync). They follow the API's documented rules literally.
 */
export async function fetchToken(sim: Simulator, credentials = { clientId: 'local', clientSecret: 'local' }): Promise<string> {
  const response = await fetch(sim.tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: credentials.clientId, client_secret: credentials.clientSecret }),
  });
  if (response.status !== 200) throw new Error(`token request failed: ${response.status}`);
  return ((await response.json()) as { access_token: string }).access_token;
}

export interface PageBody {
  embedded?: Record<string, unknown[]>;
  links: { self: { href: string }; next: { href: string } };
}

/** Follows links.next.href until a response without `embedded` or a next token of 0; returns every record and page body. */
export async function fetchAllPages(firstUrl: string, token: string, key: string): Promise<{ records: Record<string, unknown>[]; pages: PageBody[] }> {
  const records: Record<string, unknown>[] = [];
  const pages: PageBody[] = [];
  let url = firstUrl;
  for (let guard = 0; guard < 100_000; guard++) {
    const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    if (response.status !== 200) throw new Error(`GET ${url} → ${response.status} ${await response.text()}`);
    const body = (await response.json()) as PageBody;
    pages.push(body);
    const items = body.embedded?.[key];
    if (!items || items.length === 0) return { records, pages };
    records.push(...(items as Record<string, unknown>[]));
    if (new URL(body.links.next.href).searchParams.get('continuationToken') === '0') return { records, pages };
    url = body.links.next.href;
  }
  throw new Error('pagination did not end');
}

export interface ReceivedWebhook {
  headers: Record<string, string>;
  /** The raw body as delivered. */
  body: string;
  payload: { id: string; type: string; timestamp: string; data: unknown };
}

export interface WebhookReceiver {
  /** Where the simulator should deliver (`SimulatorOptions.webhook.url`). */
  readonly url: string;
  /** Deliveries whose svix signature verified, in arrival order. */
  readonly received: ReceivedWebhook[];
  /** Deliveries refused (bad or stale signature): answered 401. */
  rejected(): number;
  /** Resolves once `count` deliveries have verified. */
  waitFor(count: number): Promise<void>;
  clear(): void;
  close(): Promise<void>;
}

/** A receiving endpoint that verifies every delivery with the real svix library (as the webhook Lambda does) and answers 204. */
export async function startWebhookReceiver(secret: string): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  let rejected = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
      const body = Buffer.concat(chunks).toString('utf8');
      try {
        received.push({ headers, body, payload: new Webhook(secret).verify(body, headers) as ReceivedWebhook['payload'] });
        res.writeHead(204).end();
      } catch {
        rejected++;
        res.writeHead(401).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/psapi`,
    received,
    rejected: () => rejected,
    async waitFor(count) {
      while (received.length < count) await new Promise((resolve) => setTimeout(resolve, 5));
    },
    clear() {
      received.length = 0;
      rejected = 0;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
