import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDynamoPendingActivationStore, PENDING_ACTIVATION_KIND, type PendingActivation } from '#dispatcher/pending-activations';
import { createControlTable } from './sync-fixtures.ts';

const admin = new DynamoDBClient({});

const activation = (npn: string, overrides: Partial<PendingActivation> = {}): PendingActivation => ({
  npn,
  attempts: 1,
  firstSeenAt: '2025-07-24T10:00:00.000Z',
  nextAttemptAt: '2025-07-25T06:00:00.000Z',
  executionArn: `arn:aws:states:us-east-1:0:execution:sync:activation-${npn}`,
  eventId: 'evt-1',
  expiresAt: 1_754_000_000,
  ...overrides,
});

describe('pending activation store', () => {
  let tableName: string;
  beforeAll(async () => {
    tableName = await createControlTable(admin);
  });

  it('keeps an item listed by the byKind index, overwrites it, lists it consistently, and forgets it', async () => {
    const store = createDynamoPendingActivationStore({ client: admin, tableName });
    await store.put(activation('100'));
    await store.put(activation('200'));
    const stored = await admin.send(new GetItemCommand({ TableName: tableName, Key: marshall({ pk: 'ACTIVATION#100', sk: 'PENDING' }) }));
    expect(unmarshall(stored.Item!)).toEqual({ ...activation('100'), pk: 'ACTIVATION#100', sk: 'PENDING', kind: PENDING_ACTIVATION_KIND, startedAt: '2025-07-24T10:00:00.000Z' });

    await store.put(activation('100', { attempts: 2, nextAttemptAt: '2025-07-26T02:00:00.000Z' }));
    const listed = await store.list();
    expect(listed.sort((a, b) => a.npn.localeCompare(b.npn))).toEqual([activation('100', { attempts: 2, nextAttemptAt: '2025-07-26T02:00:00.000Z' }), activation('200')]);

    await store.forget('100');
    expect((await store.list()).map((a) => a.npn)).toEqual(['200']);
  });
});
