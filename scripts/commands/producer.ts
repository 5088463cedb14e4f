import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createDynamoProducerStore, producerView, sellingAuthority, todayUtc } from '#read/index';
import { checkLocalOptions, connectLocalDeployment, localOptions } from '../local-deployment/connect.ts';
import { defineCommand } from '../support/command.ts';
import { resolveDataTable } from '../support/deployed-stack.ts';
import { calendarDate, text, UsageError } from '../support/options.ts';
import { formatProducer, formatSellingAnswer, viewForState } from '../support/producer-report.ts';

/** NAIC company codes are five digits. */
const CO_CODE = /^\d{5}$/;

export const command = defineCommand({
  description:
    'Shows one producer from the copy (one Query on its partition of the data table, deployed or with --local the\n' +
    "local deployment's): the entity, licenses with their LOAs and status by state, appointments by carrier,\n" +
    'addresses, regulatory actions, contact details and other names; soft-deleted records, records missing from the\n' +
    'source and a deactivated NPN are marked so.\n' +
    'With --state and --loa it answers "may this producer sell this line in this state today?" with the reason\n' +
    '(the rule: lambdas/read/selling-authority.ts; docs/STREAM-CONTRACT.md §8). Exits 0 with the answer, yes or no;\n' +
    '1 if the copy has nothing for the NPN; 2 on bad usage.',
  positionals: { placeholder: 'NPN', min: 1, max: 1, npns: true },
  options: {
    state: text({ placeholder: 'XX', rule: { test: (v) => /^[A-Za-z]{2}$/.test(v), expected: 'a two-letter state such as TX' }, description: "only this state's records; with --loa, the state asked about" }),
    loa: text({ placeholder: 'TEXT', description: 'a line of authority by name ("Property", "Accident & Health") or code ("12"): may the producer sell it in --state?' }),
    carrier: text({ placeholder: 'COCODE', rule: { test: (v) => CO_CODE.test(v), expected: 'a five-digit NAIC company code' }, description: 'with --loa, also require an active appointment with this carrier in the state' }),
    date: calendarDate({ description: 'the day licenses must still be valid on (default: today, UTC)' }),
    'data-table': text({
      placeholder: 'NAME',
      // Not `env`: an explicit --stage wins over the variable (scripts/support/deployed-stack.ts).
      description: "the data table (default: $PRODUCERSYNC_DATA_TABLE, else the DataTableName output of the data stack; with --stage, that stage's output)",
    }),
    ...localOptions,
  },
  deployment: true,
  check(values) {
    checkLocalOptions(values, ['data-table']);
    if (values.loa !== undefined && values.state === undefined) throw new UsageError('--loa needs --state XX: the state the line is sold in');
    if (values.carrier !== undefined && values.loa === undefined) throw new UsageError('--carrier needs --state XX and --loa TEXT');
  },
  async run(context) {
    const { values } = context;
    const npn = context.positionals[0]!;
    const local = values.local ? connectLocalDeployment(values['data-dir']) : undefined;
    const tableName = local?.dataTableName ?? (await resolveDataTable(context, values['data-table']));
    const store = createDynamoProducerStore({ client: local?.dynamo ?? new DynamoDBClient({ ...context.aws }), tableName });
    const today = values.date ?? todayUtc();
    // One Query answers everything: the listing and the question come from the same items.
    const items = await store.items(npn);
    const view = producerView(npn, items, today);
    if (!view) throw new Error(`the copy has nothing for NPN ${npn} (table ${tableName})`);
    const state = values.state?.toUpperCase();
    const shown = state ? viewForState(view, state) : view;
    const answer = values.loa !== undefined && state ? sellingAuthority(npn, view, { state, line: values.loa, today, ...(values.carrier ? { carrier: values.carrier } : {}) }) : undefined;
    context.result({ producer: shown, ...(answer ? { answer } : {}) }, () => [formatProducer(shown), ...(answer ? ['', formatSellingAnswer(answer)] : [])].join('\n'));
  },
});
