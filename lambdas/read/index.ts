/**
 * Answers from the copy, for downstream code (`import ... from 'producersync-aws/read'`) and the
 * `producersync producer` command: one producer as a typed view, and "may this producer sell this
 * line in this state today", each from one Query on the producer's partition of the data table.
 *
 * ```ts
 * import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
 * import { createDynamoProducerStore, maySell, readProducer } from 'producersync-aws/read';
 * const store = createDynamoProducerStore({ client: new DynamoDBClient({}), tableName: 'ProducerSyncData-DataTable...' });
 * const producer = await readProducer(store, '15645555');
 * const answer = await maySell(store, '15645555', { state: 'TX', line: 'Property' });
 * if (!answer.allowed) console.log(answer.reason);
 * ```
 * The caller needs `dynamodb:Query` on the table and `kms:Decrypt` on its key (the `DataKeyArn` output).
 */
import type { ProducerStore } from './producer-store.ts';
import { producerView, type ProducerView } from './producer-view.ts';
import { sellingAuthority, type SellingAnswer, type SellingQuestion } from './selling-authority.ts';

export * from './producer-view.ts';
export * from './selling-authority.ts';
export type { ProducerItemsOptions, ProducerStore } from './producer-store.ts';
export { createDynamoProducerStore, type DynamoProducerStoreOptions } from './dynamo-producer-store.ts';

/** The record types the selling rule reads: the rest of the partition is left on the server. */
export const SELLING_RECORD_TYPES = ['entities', 'licenses', 'licenseLoas', 'appointments', 'npnStatus'] as const;

/** One producer from the copy (one Query); undefined when the copy holds nothing for the NPN. */
export async function readProducer(store: ProducerStore, npn: string, today?: string): Promise<ProducerView | undefined> {
  return producerView(npn, await store.items(npn), today);
}

/** "May NPN sell `line` in `state` today?" with the reason (one Query). */
export async function maySell(store: ProducerStore, npn: string, question: SellingQuestion): Promise<SellingAnswer> {
  const items = await store.items(npn, { recordTypes: question.carrier ? SELLING_RECORD_TYPES : SELLING_RECORD_TYPES.filter((t) => t !== 'appointments') });
  return sellingAuthority(npn, producerView(npn, items, question.today), question);
}
