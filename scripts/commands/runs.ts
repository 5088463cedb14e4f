import { DynamoDBClient, QueryCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { checkLocalOptions, connectLocalDeployment, localOptions } from '../local-deployment/connect.ts';
import { defineCommand } from '../support/command.ts';
import { resolveControlTable } from '../support/deployed-stack.ts';
import { integer, text } from '../support/options.ts';
import type { RunRecord } from '#sync/run-record';
import { formatRunTable } from '../support/run-table.ts';

/** The newest `limit` run records, following pages (a page stops at 1 MB) until there are that many. */
export async function listRuns(dynamo: DynamoDBClient, tableName: string, limit: number): Promise<RunRecord[]> {
  const runs: RunRecord[] = [];
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await dynamo.send(
      new QueryCommand({
        TableName: tableName,
        IndexName: 'byKind',
        KeyConditionExpression: 'kind = :k',
        ExpressionAttributeValues: { ':k': { S: 'run' } },
        ScanIndexForward: false,
        Limit: limit - runs.length,
        ExclusiveStartKey: startKey,
      }),
    );
    runs.push(...(page.Items ?? []).map((item) => unmarshall(item) as RunRecord));
    startKey = page.LastEvaluatedKey;
  } while (startKey && runs.length < limit);
  return runs;
}

export const command = defineCommand({
  description:
    'Lists the most recent run records (newest first) from the control table (with --local, of the local deployment\n' +
    'running on the data directory). --output json prints them as a JSON array.',
  options: {
    limit: integer({ default: 20, min: 1, description: 'how many runs (default 20)' }),
    'control-table': text({
      placeholder: 'NAME',
      // Not `env`: an explicit --stage wins over the variable (scripts/support/deployed-stack.ts).
      description: "the control table (default: $PRODUCERSYNC_CONTROL_TABLE, else the ControlTableName output of the data stack; with --stage, that stage's output)",
    }),
    ...localOptions,
  },
  aliases: { json: ['--output', 'json'] },
  deployment: true,
  check: (values) => checkLocalOptions(values, ['control-table']),
  async run(context) {
    const { values } = context;
    const local = values.local ? connectLocalDeployment(values['data-dir']) : undefined;
    const tableName = local?.controlTableName ?? (await resolveControlTable(context, values['control-table']));
    const runs = await listRuns(local?.dynamo ?? new DynamoDBClient({ ...context.aws }), tableName, values.limit);
    context.result(runs, () => formatRunTable(runs));
  },
});
