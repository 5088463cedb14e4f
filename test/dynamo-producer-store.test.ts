import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDynamoProducerStore, maySell, readProducer, type ProducerStore } from '#read/index';
import { itemsOf } from './support/stored-items.ts';
import { createDataTable } from './sync-fixtures.ts';

const admin = new DynamoDBClient({});
/** A client that counts the requests it sends, to check the read side's round trips. */
const counting = new DynamoDBClient({});
const sent: string[] = [];
counting.middlewareStack.add((next, context) => (args) => (sent.push(String(context.commandName)), next(args)), { step: 'initialize', name: 'countRequests' });

let tableName: string;
let store: ProducerStore;
const put = (item: object) => admin.send(new PutItemCommand({ TableName: tableName, Item: marshall(item, { removeUndefinedValues: true }) }));

beforeAll(async () => {
  tableName = await createDataTable(admin);
  store = createDynamoProducerStore({ client: counting, tableName });
});

describe('DynamoDB producer store', () => {
  it('answers a producer, and the selling question, with one Query each', async () => {
    const { item, status } = itemsOf('15645555');
    await Promise.all(
      [
        item('entities', 1, { type: 'INDIVIDUAL', firstName: 'Joe', lastName: 'Producer' }),
        item('licenses', 10, { forState: 'TX', licenseNum: 'L10', active: true, expirationDate: '2030-01-01', licenseLoas: [{ id: 100, loa: 'Property', loaCode: '12', status: 'Active' }] }),
        item('addresses', 30, { type: 'BUSINESS', forState: 'TX', city: 'Austin' }),
        item('appointments', 20, { forState: 'TX', coCode: '98765', loa: 'Property', status: 'Appointed' }),
        status('ACTIVE', '2025-07-01'),
      ].map(put),
    );
    // Another producer's items stay out of the partition.
    await put(itemsOf('19855109').item('licenses', 11, { forState: 'TX', active: true }));

    sent.length = 0;
    const view = await readProducer(store, '15645555', '2025-07-24');
    expect(sent).toEqual(['QueryCommand']);
    expect(view).toMatchObject({ npn: '15645555', itemCount: 5, subscription: { status: 'ACTIVE' }, entity: { name: 'Joe Producer' } });

    sent.length = 0;
    const answer = await maySell(store, '15645555', { state: 'TX', line: 'Property', today: '2025-07-24' });
    expect(sent).toEqual(['QueryCommand']);
    expect(answer).toMatchObject({ allowed: true, basis: { licenseNum: 'L10' } });
    sent.length = 0;
    expect((await maySell(store, '15645555', { state: 'TX', line: 'Property', carrier: '98765', today: '2025-07-24' })).allowed).toBe(true);
    expect(sent).toEqual(['QueryCommand']);

    // The selling question reads only the record types its rule needs.
    expect((await store.items('15645555', { recordTypes: ['licenses', 'npnStatus'] })).map((i) => i.sk)).toEqual(['STATUS', 'licenses#10']);
    expect(await readProducer(store, '123')).toBeUndefined();
  });

  it('follows the Query past DynamoDB\'s 1 MB page for a producer with large items', async () => {
    const { item } = itemsOf('18551108');
    const filler = 'x'.repeat(300_000);
    await Promise.all(Array.from({ length: 6 }, (_, i) => put(item('regulatoryActions', i + 1, { forState: 'TX', filler }))));
    sent.length = 0;
    const items = await store.items('18551108');
    expect(items.map((i) => i.sk)).toEqual([1, 2, 3, 4, 5, 6].map((n) => `regulatoryActions#${n}`));
    expect(sent.length, 'pages').toBeGreaterThan(1);
  });
});
