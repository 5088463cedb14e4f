import { randomUUID } from 'node:crypto';
import { DeleteItemCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { logger } from '#commons/logger';
import { applyEnv, localAwsEnv } from '#local/aws-env';
import { lambdaContext } from '#local/lambda-context';
import { createTablesFromTemplates } from '#local/provision';
import { createStreamReader, toLambdaRecord } from '#local/stream-reader';
import { appTemplates } from '#local/synth';
import { classify } from '#commons/stream-change';
import { handler } from '../lambdas/stream-consumer/example-consumer.ts';
import { captureLogLines, expectLambdaContextOnEveryLine } from './log-capture.ts';

logger.setLogLevel('SILENT');

let dynamo: DynamoDBClient;
beforeAll(() => {
  applyEnv(localAwsEnv({ dynamo: inject('dynamoEndpoint') }));
  dynamo = new DynamoDBClient({});
});
afterEach(() => vi.restoreAllMocks());

/** Everything on the table's stream so far, shaped like the records Lambda hands a stream consumer. */
async function lambdaStreamRecords(streamArn: string): Promise<DynamoDBRecord[]> {
  return (await createStreamReader({ streamArn }).read()).map((r) => toLambdaRecord(r, streamArn));
}

const license = (overrides: Record<string, unknown> = {}) => ({
  pk: 'NPN#15645555',
  sk: 'licenses#1234567',
  recordType: 'licenses',
  npn: '15645555',
  id: 1234567,
  updatedAt: '2025-07-01',
  deleted: false,
  contentHash: 'a'.repeat(64),
  record: { id: 1234567, state: 'TX', niprDeleted: false },
  ...overrides,
});

describe('example stream consumer', () => {
  it('classifies inserts, updates, soft deletes, restores, reconcile marks, removals and NPN status changes from a real stream', async () => {
    const table = `stream-${randomUUID().slice(0, 8)}`;
    const { DataTable: created } = await createTablesFromTemplates(await appTemplates(), { DataTable: table }, { dynamo });
    const put = (item: Record<string, unknown>) => dynamo.send(new PutItemCommand({ TableName: table, Item: marshall(item) }));
    await put(license());
    await put(license({ updatedAt: '2025-07-24', contentHash: 'b'.repeat(64) }));
    await put(license({ updatedAt: '2025-07-25', deleted: true, record: { id: 1234567, niprDeleted: true } }));
    await put(license({ updatedAt: '2025-07-26', deleted: false }));
    await put(license({ updatedAt: '2025-07-26', deleted: false, missingFromSource: { reason: 'notReturnedBySource', since: '2025-07-27T06:00:00.000Z', runId: 'reconcile-1' } }));
    await put(license({ updatedAt: '2025-07-26', deleted: false }));
    await put({ pk: 'NPN#15645555', sk: 'STATUS', recordType: 'npnStatus', npn: '15645555', status: 'DEACTIVATED', statusDate: '2025-07-27', eventId: 'evt_1' });
    await dynamo.send(new DeleteItemCommand({ TableName: table, Key: marshall({ pk: 'NPN#15645555', sk: 'licenses#1234567' }) }));

    const records = await lambdaStreamRecords(created!.streamArn!);
    expect(records.map((r) => classify(r).kind)).toEqual(['created', 'updated', 'soft-deleted', 'restored', 'missing-from-source', 'returned', 'npn-status', 'removed']);
    const softDelete = classify(records[2]!);
    expect(softDelete).toMatchObject({ pk: 'NPN#15645555', sk: 'licenses#1234567', recordType: 'licenses', npn: '15645555', eventName: 'MODIFY' });
    expect(softDelete.oldItem?.deleted).toBe(false);
    expect(softDelete.newItem?.record).toEqual({ id: 1234567, niprDeleted: true });

    const info = vi.spyOn(logger, 'info');
    expect(await handler({ Records: records })).toEqual({ batchItemFailures: [] });
    expect(info).toHaveBeenCalledTimes(records.length);
    expect(info.mock.calls[6]?.[1]).toMatchObject({ kind: 'npn-status', status: 'DEACTIVATED', statusDate: '2025-07-27' });
  });

  it('reports the first failing record so Lambda retries from there in order', async () => {
    const ok = (seq: string): DynamoDBRecord => ({
      eventName: 'INSERT',
      dynamodb: { SequenceNumber: seq, Keys: { pk: { S: 'NPN#1' }, sk: { S: `licenses#${seq}` } }, NewImage: { pk: { S: 'NPN#1' }, sk: { S: `licenses#${seq}` }, recordType: { S: 'licenses' } } },
    });
    const broken: DynamoDBRecord = { dynamodb: { SequenceNumber: '200' } };
    const info = vi.spyOn(logger, 'info');
    const out = await handler({ Records: [ok('100'), broken, ok('300')] });
    expect(out).toEqual({ batchItemFailures: [{ itemIdentifier: '200' }] });
    expect(info).toHaveBeenCalledTimes(1);
    info.mockRestore();

    const lines = await captureLogLines(() => handler({ Records: [ok('400'), broken] }, lambdaContext('producersync-example-consumer')));
    expect(lines.map((l) => l.message)).toEqual(['data table change', 'could not apply a stream record']);
    expectLambdaContextOnEveryLine(lines, 'producersync-example-consumer');
  });
});
