import { DynamoDBClient, PutItemCommand, TransactionCanceledException, TransactWriteItemsCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDynamoNpnStatusStore, type NpnStatusChange, type NpnStatusStore } from '#dispatcher/npn-status';
import { typeShardOf } from '#sync/change-index';
import { countRequests } from './support/dispatcher-fixtures.ts';
import { createDataTable, readStream, scanAll } from './sync-fixtures.ts';

const admin = new DynamoDBClient({});
let tableName: string;
let statuses: NpnStatusStore;

const CHANGED_AT = '2025-07-24T12:00:01.000Z';

beforeAll(async () => {
  tableName = await createDataTable(admin);
  statuses = createDynamoNpnStatusStore({ client: admin, tableName, now: () => Date.parse(CHANGED_AT) });
});

const change = (npn: string, status: NpnStatusChange['status'], eventId: string, eventTimestamp: string): NpnStatusChange => ({ npn, status, eventId, eventTimestamp });

describe('NPN status store', () => {
  it('writes a status change once, ignores a repeat, and lets no older event undo a newer one', async () => {
    const npn = '15645555';
    expect(await statuses.write({ npn, status: 'ACTIVE', eventId: 'e1', eventTimestamp: '2025-07-24T10:00:00.000Z' })).toBe('written');
    expect(await statuses.write({ npn, status: 'ACTIVE', eventId: 'e1-again', eventTimestamp: '2025-07-24T10:00:00.000Z' })).toBe('unchanged');
    expect(await statuses.write({ npn, status: 'DEACTIVATED', eventId: 'e2', eventTimestamp: '2025-07-24T12:00:00.000Z' })).toBe('written');
    // An activation generated before that deactivation arrives late.
    expect(await statuses.write({ npn, status: 'ACTIVE', eventId: 'e0', eventTimestamp: '2025-07-24T11:00:00.000Z' })).toBe('superseded');

    const items = (await scanAll(admin, tableName)).filter((item) => item.npn === npn);
    expect(items).toEqual([
      {
        pk: `NPN#${npn}`,
        sk: 'STATUS',
        recordType: 'npnStatus',
        npn,
        status: 'DEACTIVATED',
        statusDate: '2025-07-24',
        eventId: 'e2',
        eventTimestamp: '2025-07-24T12:00:00.000Z',
        // In the change index: its shard, and the time of the write (the store's clock).
        typeShard: typeShardOf('npnStatus', `NPN#${npn}`, 'STATUS'),
        changedAt: CHANGED_AT,
      },
    ]);
    const changes = (await readStream(admin, tableName)).filter((r) => r.dynamodb?.Keys?.pk?.S === `NPN#${npn}`);
    expect(changes.map((r) => r.eventName)).toEqual(['INSERT', 'MODIFY']);
  });

  it('reads the stored statuses of many NPNs at once (more than one batch)', async () => {
    const npns = Array.from({ length: 150 }, (_, i) => String(500_000 + i));
    for (const npn of npns.slice(0, 120)) await statuses.write({ npn, status: Number(npn) % 2 ? 'ACTIVE' : 'DEACTIVATED', eventId: 'e', eventTimestamp: '2025-07-24T10:00:00.000Z' });
    const found = await statuses.statuses([...npns, npns[0]!]);
    expect(found.size).toBe(120);
    expect(found.get('500001')).toBe('ACTIVE');
    expect(found.get('500000')).toBe('DEACTIVATED');
    expect(found.has('500149')).toBe(false);
  });

  it('writes hundreds of NPNs 100 to a transaction, and a transaction a refused condition cancelled is sent again without it', async () => {
    const npns = Array.from({ length: 250 }, (_, i) => String(7_000_000 + i));
    // 7000010 is already active (a repeat), 7000020 was deactivated by a newer event.
    await statuses.writeAll([change('7000010', 'ACTIVE', 'old', '2025-07-24T09:00:00.000Z'), change('7000020', 'DEACTIVATED', 'newer', '2025-07-24T13:00:00.000Z')]);
    const client = new DynamoDBClient({});
    const sent = countRequests(client).byCommand;
    const counted = createDynamoNpnStatusStore({ client, tableName });
    const outcomes = await counted.writeAll(npns.map((npn) => change(npn, 'ACTIVE', 'wave', '2025-07-24T12:00:00.000Z')));
    expect(outcomes.filter((o) => o === 'written')).toHaveLength(248);
    expect(outcomes[10]).toBe('unchanged');
    expect(outcomes[20]).toBe('superseded');
    // Chunks of 100, 100, 50; the first was cancelled once (two refusals) and sent again with 98.
    expect(sent).toEqual({ TransactWriteItemsCommand: 4 });
    const stored = await counted.statuses([...npns, '9999999']);
    expect(stored.size).toBe(250);
    expect(stored.get('7000001')).toBe('ACTIVE');
    expect(stored.get('7000020')).toBe('DEACTIVATED');
    expect(stored.has('9999999')).toBe(false);
    // Each change that was written is one stream record; nothing for the refused ones.
    const wave = (await readStream(admin, tableName)).filter((r) => r.dynamodb?.NewImage?.eventId?.S === 'wave');
    expect(wave).toHaveLength(248);
  });

  it('refuses two changes of the same NPN in one call, and falls back to single writes after repeated conflicts', async () => {
    await expect(statuses.writeAll([change('1', 'ACTIVE', 'a', '2025-07-24T10:00:00.000Z'), change('1', 'DEACTIVATED', 'b', '2025-07-24T11:00:00.000Z')])).rejects.toThrow(/distinct NPNs/);
    // A client whose transactions are always cancelled by conflicts (as a busy item would).
    const client = new DynamoDBClient({});
    let transactions = 0;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === TransactWriteItemsCommand.name) {
          transactions++;
          const items = (args.input as { TransactItems: unknown[] }).TransactItems;
          throw new TransactionCanceledException({ message: 'conflict', $metadata: {}, CancellationReasons: items.map(() => ({ Code: 'TransactionConflict' })) });
        }
        return next(args);
      },
      { step: 'initialize' },
    );
    const busy = createDynamoNpnStatusStore({ client, tableName });
    const outcomes = await busy.writeAll([change('8000001', 'ACTIVE', 'c', '2025-07-24T10:00:00.000Z'), change('8000002', 'ACTIVE', 'c', '2025-07-24T10:00:00.000Z')]);
    expect(outcomes).toEqual(['written', 'written']);
    expect(transactions).toBe(4);
    await admin.send(new PutItemCommand({ TableName: tableName, Item: marshall({ pk: 'NPN#8000003', sk: 'licenses#1', npn: '8000003' }) }));
    expect((await statuses.statuses(['8000001', '8000002', '8000003'])).size).toBe(2);
  });
});
