import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { connectLocalDeployment } from '../local-deployment/connect.ts';
import { resolveDeployed } from '../support/deployed-stack.ts';
import { readSyncedRecords, writeJsonLines } from '../support/table-export.ts';

const HELP = `usage: producersync export --out FILE [--data-table NAME] [--region R] [--local [--data-dir DIR]]

Writes the data table as JSON lines, one per stored source record, the same lines as "sync --out":
{"type":"licenses","npn":"...","id":123,"deleted":false,"record":{...}}. The table is the deployed one
(--data-table, $PRODUCERSYNC_DATA_TABLE or the ProducerSyncData stack's DataTableName output), or with
--local the one of the local deployment running on DIR.`;

export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      out: { type: 'string' },
      'data-table': { type: 'string' },
      region: { type: 'string' },
      local: { type: 'boolean', default: false },
      'data-dir': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return (console.log(HELP), 0);
  if (!values.out) {
    console.error(`--out FILE is required\n\n${HELP}`);
    return 2;
  }
  const local = values.local ? connectLocalDeployment(values['data-dir']) : undefined;
  const deployed = local ?? (await resolveDeployed(['dataTableName'], { dataTable: values['data-table'], region: values.region }));
  const lines = await readSyncedRecords(local?.dynamo ?? new DynamoDBClient({ region: deployed.region }), deployed.dataTableName);
  await writeJsonLines(values.out, lines);
  console.log(`wrote ${lines.length.toLocaleString('en-US')} records from ${deployed.dataTableName} to ${values.out}`);
  return 0;
}
