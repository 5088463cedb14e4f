import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { checkLocalOptions, connectLocalDeployment, localOptions } from '../local-deployment/connect.ts';
import { defineCommand } from '../support/command.ts';
import { resolveDataTable } from '../support/deployed-stack.ts';
import { text } from '../support/options.ts';
import { readSyncedRecords, writeJsonLines } from '../support/table-export.ts';

export const command = defineCommand({
  description:
    'Writes the data table as JSON lines, one per stored source record, the same lines as "sync --out":\n' +
    '{"type":"licenses","npn":"...","id":123,"deleted":false,"record":{...}}. The table is the deployed one, or with\n' +
    '--local the one of the local deployment running on the data directory.',
  options: {
    out: text({ placeholder: 'FILE', required: true, description: 'the file to write (replaced if it exists)' }),
    'data-table': text({
      placeholder: 'NAME',
      // Not `env`: an explicit --stage wins over the variable (scripts/support/deployed-stack.ts).
      description: "the data table (default: $PRODUCERSYNC_DATA_TABLE, else the DataTableName output of the data stack; with --stage, that stage's output)",
    }),
    ...localOptions,
  },
  deployment: true,
  check: (values) => checkLocalOptions(values, ['data-table']),
  async run(context) {
    const { values } = context;
    const local = values.local ? connectLocalDeployment(values['data-dir']) : undefined;
    const tableName = local?.dataTableName ?? (await resolveDataTable(context, values['data-table']));
    const lines = await readSyncedRecords(local?.dynamo ?? new DynamoDBClient({ ...context.aws }), tableName);
    await writeJsonLines(values.out, lines);
    const written = { file: values.out, table: tableName, records: lines.length };
    context.result(written, `wrote ${lines.length.toLocaleString('en-US')} records from ${tableName} to ${values.out}`);
  },
});
