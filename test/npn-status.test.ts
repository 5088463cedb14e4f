import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDynamoNpnStatusStore, type NpnStatusStore } from '#dispatcher/npn-status';
import { typeShardOf } from '#sync/change-index';
import { createDataTable, readStream, scanAll } from './sync-fixtures.ts';

const admin = new DynamoDBClient({});
let tableName: string;
let statuses: NpnStatusStore;

const CHANGED_AT = '2025-07-24T12:00:01.000Z';

beforeAll(async () => {
  tableName = await createDataTable(admin);
  statuses = createDynamoNpnStatusStore({ client: admin, tableName, now: () => Date.parse(CHANGED_AT) });
});

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

  it('tells whether an NPN has any record yet, and its status', async () => {
    expect(await statuses.dataState('100')).toEqual({ hasRecords: false });
    await statuses.write({ npn: '100', status: 'ACTIVE', eventId: 'e', eventTimestamp: '2025-07-24T10:00:00.000Z' });
    expect(await statuses.dataState('100')).toEqual({ hasRecords: false, status: 'ACTIVE' });
    await admin.send(new PutItemCommand({ TableName: tableName, Item: marshall({ pk: 'NPN#100', sk: 'licenses#9', recordType: 'licenses', npn: '100' }) }));
    expect(await statuses.dataState('100')).toEqual({ hasRecords: true, status: 'ACTIVE' });
    await admin.send(new PutItemCommand({ TableName: tableName, Item: marshall({ pk: 'NPN#200', sk: 'addresses#1', recordType: 'addresses', npn: '200' }) }));
    expect(await statuses.dataState('200')).toEqual({ hasRecords: true });
  });
});
