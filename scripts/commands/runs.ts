import { parseArgs } from 'node:util';
import { DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { connectLocalDeployment } from '../local-deployment/connect.ts';
import { resolveDeployed } from '../support/deployed-stack.ts';
import { formatRunTable, type RunRecord } from '../support/run-table.ts';

const HELP = `usage: producersync runs [--limit N] [--json] [--control-table NAME] [--region R] [--local [--data-dir DIR]]

Lists the most recent run records (newest first) from the control table (--local: of the local deployment running on DIR).`;

export async function listRuns(dynamo: DynamoDBClient, tableName: string, limit: number): Promise<RunRecord[]> {
  const result = await dynamo.send(
    new QueryCommand({
      TableName: tableName,
      IndexName: 'byKind',
      KeyConditionExpression: 'kind = :k',
      ExpressionAttributeValues: { ':k': { S: 'run' } },
      ScanIndexForward: false,
      Limit: limit,
    }),
  );
  return (result.Items ?? []).map((item) => unmarshall(item) as RunRecord);
}

export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      limit: { type: 'string', default: '20' },
      json: { type: 'boolean', default: false },
      'control-table': { type: 'string' },
      region: { type: 'string' },
      local: { type: 'boolean', default: false },
      'data-dir': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return (console.log(HELP), 0);
  const local = values.local ? connectLocalDeployment(values['data-dir']) : undefined;
  const deployed = local ?? (await resolveDeployed(['controlTableName'], { controlTable: values['control-table'], region: values.region }));
  const runs = await listRuns(local?.dynamo ?? new DynamoDBClient({ region: deployed.region }), deployed.controlTableName, Number(values.limit));
  console.log(values.json ? JSON.stringify(runs, null, 2) : formatRunTable(runs));
  return 0;
}
