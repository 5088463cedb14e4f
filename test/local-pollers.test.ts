import { DeleteItemCommand, DescribeTableCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageBatchCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { DynamoDBRecord, SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dynamoClient, sqsClient } from '#commons/clients';
import { pollQueue, pollStream } from '#local/pollers';
import { provisionFromTemplates, type ProvisionResult } from '#local/provision';
import { useLocalAws, type LocalAws } from './support/local-aws.ts';
import { smallAppTemplates } from './support/small-app.ts';
import { createDataTable } from './sync-fixtures.ts';

describe('event source pollers', () => {
  let local: LocalAws;
  let provisioned: ProvisionResult;

  beforeAll(async () => {
    local = await useLocalAws({ secrets: true });
    provisioned = await provisionFromTemplates(await smallAppTemplates(), { prefix: `poll${process.pid}` });
  });
  afterAll(() => local.cleanup());

  it('pollQueue deletes handled records, keeps batchItemFailures, and the queue redrives them to the DLQ', async () => {
    const queueUrl = provisioned.resources.EventsQueue?.url as string;
    const dlqUrl = provisioned.resources.EventsDeadLetterQueue?.url as string;
    for (const body of ['good', 'bad']) {
      await sqsClient().send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: body,
          MessageAttributes: { eventType: { DataType: 'String', StringValue: `type-${body}` } },
        }),
      );
    }
    const seen: SQSRecord[] = [];
    const poller = pollQueue({
      queueUrl,
      waitTimeSeconds: 1,
      handler: async (event) => {
        seen.push(...event.Records);
        return { batchItemFailures: event.Records.filter((r) => r.body === 'bad').map((r) => ({ itemIdentifier: r.messageId })) };
      },
    });
    await poller.drain(20_000);
    await poller.stop();

    const good = seen.filter((r) => r.body === 'good');
    const bad = seen.filter((r) => r.body === 'bad');
    expect(good).toHaveLength(1);
    expect(good[0]).toMatchObject({
      eventSource: 'aws:sqs',
      eventSourceARN: provisioned.resources.EventsQueue?.arn,
      attributes: { ApproximateReceiveCount: '1' },
      messageAttributes: { eventType: { dataType: 'String', stringValue: 'type-good' } },
    });
    // maxReceiveCount is 2: two deliveries, then the queue moves it to the DLQ.
    expect(bad.map((r) => r.attributes.ApproximateReceiveCount)).toEqual(['1', '2']);
    const dead = await sqsClient().send(new ReceiveMessageCommand({ QueueUrl: dlqUrl, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'] }));
    expect(dead.Messages?.map((m) => m.Body)).toEqual(['bad']);
    expect(dead.Messages?.[0]?.MessageAttributes?.eventType?.StringValue).toBe('type-bad');
  });

  it('pollQueue gathers a batch larger than one receive (10) up to batchSize, and deletes it all', async () => {
    const queueUrl = provisioned.resources.EventsQueue?.url as string;
    for (let i = 0; i < 35; i += 5) {
      await sqsClient().send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: [0, 1, 2, 3, 4].map((j) => ({ Id: String(j), MessageBody: `m${i + j}` })) }));
    }
    const batches: number[] = [];
    const poller = pollQueue({ queueUrl, waitTimeSeconds: 1, batchSize: 25, handler: async (event) => void batches.push(event.Records.length) });
    await poller.drain(20_000);
    await poller.stop();
    expect(batches).toEqual([25, 10]);
    const left = await sqsClient().send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
    expect(left.Attributes).toEqual({ ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '0' });
  });

  it('pollStream delivers INSERT/MODIFY/REMOVE in order and retries a failed batch', async () => {
    const table = provisioned.resources.DataTable;
    const seen: DynamoDBRecord[] = [];
    let failures = 1;
    const poller = pollStream({
      streamArn: table?.streamArn as string,
      handler: async (event) => {
        if (failures-- > 0) throw new Error('first delivery fails');
        seen.push(...event.Records);
      },
    });
    const key = { pk: { S: 'NPN#1' }, sk: { S: 'licenses#1' } };
    await dynamoClient().send(new PutItemCommand({ TableName: table?.name, Item: { ...key, v: { N: '1' } } }));
    await dynamoClient().send(
      new UpdateItemCommand({ TableName: table?.name, Key: key, UpdateExpression: 'SET v = :v', ExpressionAttributeValues: { ':v': { N: '2' } } }),
    );
    await dynamoClient().send(new DeleteItemCommand({ TableName: table?.name, Key: key }));
    await poller.drain(20_000);
    await poller.stop();

    expect(seen.map((r) => r.eventName)).toEqual(['INSERT', 'MODIFY', 'REMOVE']);
    expect(seen[1]?.dynamodb?.OldImage?.v).toEqual({ N: '1' });
    expect(seen[1]?.dynamodb?.NewImage?.v).toEqual({ N: '2' });
    expect(seen[0]).toMatchObject({ eventSource: 'aws:dynamodb', eventSourceARN: table?.streamArn, dynamodb: { Keys: key } });
    expect(typeof seen[0]?.dynamodb?.ApproximateCreationDateTime).toBe('number');
  });

  it('pollStream from LATEST on an empty table still delivers what is written afterwards, each record once', async () => {
    const tableName = await createDataTable(dynamoClient());
    const streamArn = (await dynamoClient().send(new DescribeTableCommand({ TableName: tableName }))).Table?.LatestStreamArn as string;
    const seen: string[] = [];
    const poller = pollStream({ streamArn, startingPosition: 'LATEST', handler: async (event) => void seen.push(...event.Records.map((r) => r.dynamodb?.Keys?.sk?.S ?? '')) });
    await poller.drain(20_000);
    for (const id of [1, 2, 3]) await dynamoClient().send(new PutItemCommand({ TableName: tableName, Item: { pk: { S: 'NPN#9' }, sk: { S: `licenses#${id}` } } }));
    await poller.drain(20_000);
    await dynamoClient().send(new PutItemCommand({ TableName: tableName, Item: { pk: { S: 'NPN#9' }, sk: { S: 'licenses#4' } } }));
    await poller.drain(20_000);
    await poller.stop();
    expect(seen).toEqual(['licenses#1', 'licenses#2', 'licenses#3', 'licenses#4']);
  });
});
