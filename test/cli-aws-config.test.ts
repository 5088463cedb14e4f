/**
 * `--profile`, `--region` and `--stage` as they reach AWS: the CLI runs as a child process with a
 * throw-away ~/.aws config, every AWS endpoint pointed at a recorder that reads the SigV4 credential
 * scope of each request (access key, region, service). Step Functions calls go on to the local Step
 * Functions stand-in; CloudFormation (no local stand-in) answers DescribeStacks from a small stack
 * table; Secrets Manager and DynamoDB answer "not found", which is all these cases need.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSfnApi, type SfnApi } from '#local/sfn-api';
import { runCli, type CliResult } from './support/cli-process.ts';

const UNSTAGED_ARN = 'arn:aws:states:us-east-1:000000000000:stateMachine:ProducerSync-Sync';
const DEV_ARN = 'arn:aws:states:eu-west-3:111111111111:stateMachine:ProducerSync-dev-SyncRun';
const STACK_OUTPUTS: Record<string, Record<string, string>> = {
  ProducerSyncSync: { StateMachineArn: UNSTAGED_ARN },
  'ProducerSync-dev-Sync': { StateMachineArn: DEV_ARN },
};
const EU_KEY = 'AKIAPSEUTEST00000001';
const NO_REGION_KEY = 'AKIAPSNOREGION000002';

interface Recorded {
  service: string;
  region: string;
  accessKeyId: string;
  /** X-Amz-Target (JSON protocols) or Action (query protocol). */
  action: string;
  body: string;
}

let sfn: SfnApi;
let recorder: Server;
let endpoint: string;
let dir: string;
let recorded: Recorded[] = [];

const bodyOf = async (request: IncomingMessage): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
};

const xmlEscape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;');

function describeStacks(stackName: string): { status: number; body: string } {
  const outputs = STACK_OUTPUTS[stackName];
  if (!outputs) {
    return {
      status: 400,
      body: `<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id ${xmlEscape(stackName)} does not exist</Message></Error><RequestId>r</RequestId></ErrorResponse>`,
    };
  }
  const members = Object.entries(outputs).map(([key, value]) => `<member><OutputKey>${key}</OutputKey><OutputValue>${xmlEscape(value)}</OutputValue></member>`);
  return {
    status: 200,
    body:
      `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member>` +
      `<StackName>${xmlEscape(stackName)}</StackName><StackStatus>CREATE_COMPLETE</StackStatus><CreationTime>2025-07-01T00:00:00Z</CreationTime>` +
      `<Outputs>${members.join('')}</Outputs></member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DescribeStacksResponse>`,
  };
}

beforeAll(async () => {
  const succeed = { StartAt: 'Done', States: { Done: { Type: 'Succeed' as const } } };
  sfn = await startSfnApi({ stateMachines: { [UNSTAGED_ARN]: succeed, [DEV_ARN]: succeed }, handlers: {} });
  recorder = createServer((request, response) => {
    void (async () => {
      const body = await bodyOf(request);
      const scope = /Credential=([^/]+)\/\d{8}\/([^/]+)\/([^/]+)\//.exec(request.headers.authorization ?? '');
      const target = request.headers['x-amz-target'];
      const action = typeof target === 'string' ? target : (new URLSearchParams(body).get('Action') ?? '');
      const [, accessKeyId = '', region = '', service = ''] = scope ?? [];
      recorded.push({ service, region, accessKeyId, action, body });
      if (service === 'states') {
        const forwarded = await fetch(sfn.endpoint, { method: 'POST', headers: { 'content-type': String(request.headers['content-type']), 'x-amz-target': String(target) }, body });
        response.writeHead(forwarded.status, { 'content-type': forwarded.headers.get('content-type') ?? 'application/x-amz-json-1.0' }).end(await forwarded.text());
      } else if (service === 'cloudformation') {
        const answer = describeStacks(new URLSearchParams(body).get('StackName') ?? '');
        response.writeHead(answer.status, { 'content-type': 'text/xml' }).end(answer.body);
      } else {
        response.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' }).end(JSON.stringify({ __type: 'ResourceNotFoundException', message: `recorder: no such ${service} resource` }));
      }
    })();
  });
  await new Promise<void>((resolve) => recorder.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(recorder.address() as AddressInfo).port}`;
  dir = mkdtempSync(join(tmpdir(), 'cli-aws-config-'));
  writeFileSync(join(dir, 'config'), '[profile ps-eu]\nregion = eu-west-3\n\n[profile ps-noregion]\noutput = json\n');
  writeFileSync(
    join(dir, 'credentials'),
    `[ps-eu]\naws_access_key_id = ${EU_KEY}\naws_secret_access_key = eu-secret\n\n[ps-noregion]\naws_access_key_id = ${NO_REGION_KEY}\naws_secret_access_key = nr-secret\n`,
  );
});
afterAll(async () => {
  await new Promise((resolve) => recorder?.close(resolve));
  await sfn?.stop();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  recorded = [];
});

/** The CLI as a user runs it, with only the throw-away AWS configuration (no AWS_REGION, no keys) plus `env`. */
function cli(argv: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return runCli(argv, {
    PATH: process.env.PATH ?? '',
    HOME: dir,
    AWS_CONFIG_FILE: join(dir, 'config'),
    AWS_SHARED_CREDENTIALS_FILE: join(dir, 'credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ENDPOINT_URL_SFN: endpoint,
    AWS_ENDPOINT_URL_CLOUDFORMATION: endpoint,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: endpoint,
    ...env,
  });
}

const scopes = () => recorded.map(({ service, region, accessKeyId }) => ({ service, region, accessKeyId }));
const startedOn = (name: string) => sfn.executions().filter((e) => e.name === name).map((e) => e.stateMachineArn);

describe('--profile and --region reach every AWS client', () => {
  it('--profile: its keys and its region; --region wins over the profile\'s region', async () => {
    expect((await cli(['rerun', '--profile', 'ps-eu', '--run-date', '2025-07-24', '--name', 'p-1', '--state-machine-arn', UNSTAGED_ARN])).code).toBe(0);
    expect(scopes()).toEqual([{ service: 'states', region: 'eu-west-3', accessKeyId: EU_KEY }]);
    recorded = [];
    expect((await cli(['rerun', '--profile', 'ps-eu', '--region', 'ca-central-1', '--run-date', '2025-07-24', '--name', 'p-2', '--state-machine-arn', UNSTAGED_ARN])).code).toBe(0);
    expect(scopes()).toEqual([{ service: 'states', region: 'ca-central-1', accessKeyId: EU_KEY }]);
    expect(startedOn('p-2')).toEqual([UNSTAGED_ARN]);
  });

  it("without flags, the SDK's own resolution (AWS_PROFILE, AWS_REGION) decides, never a default region", async () => {
    const viaEnv = await cli(['rerun', '--run-date', '2025-07-24', '--name', 'env-1', '--state-machine-arn', UNSTAGED_ARN], { AWS_PROFILE: 'ps-noregion', AWS_REGION: 'ap-south-1' });
    expect(viaEnv.code).toBe(0);
    expect(scopes()).toEqual([{ service: 'states', region: 'ap-south-1', accessKeyId: NO_REGION_KEY }]);
    recorded = [];
    const noRegion = await cli(['rerun', '--profile', 'ps-noregion', '--run-date', '2025-07-24', '--name', 'env-2', '--state-machine-arn', UNSTAGED_ARN]);
    expect(noRegion).toEqual({ code: 1, out: '', err: 'producersync rerun: no AWS region: pass --region, set AWS_REGION, or give the profile a region in ~/.aws/config\n' });
    expect(recorded).toEqual([]);
  });

  it('the Secrets Manager client of subscriptions --secret-id and the DynamoDB client of runs', async () => {
    const secret = await cli(['subscriptions', 'list', '--secret-id', 'ps-creds', '--profile', 'ps-eu']);
    expect(secret.code).toBe(1);
    expect(secret.err).toBe('producersync subscriptions list: recorder: no such secretsmanager resource\n');
    const runs = await cli(['runs', '--control-table', 'ps-control', '--profile', 'ps-eu', '--region', 'eu-central-2']);
    expect(runs.code).toBe(1);
    expect(scopes()).toEqual([
      { service: 'secretsmanager', region: 'eu-west-3', accessKeyId: EU_KEY },
      { service: 'dynamodb', region: 'eu-central-2', accessKeyId: EU_KEY },
    ]);
  });
});

describe('--stage selects the deployment', () => {
  it("reads the stage's stack outputs (winning over PRODUCERSYNC_STATE_MACHINE_ARN) and starts its state machine; --wait --output json keeps stdout one document", async () => {
    const result = await cli(['rerun', '--stage', 'dev', '--profile', 'ps-eu', '--run-date', '2025-07-24', '--name', 'dev-1', '--wait', '--output', 'json'], {
      PRODUCERSYNC_STATE_MACHINE_ARN: UNSTAGED_ARN,
    });
    expect(result.code).toBe(0);
    expect(recorded[0]).toMatchObject({ service: 'cloudformation', region: 'eu-west-3', accessKeyId: EU_KEY, action: 'DescribeStacks' });
    expect(new URLSearchParams(recorded[0]!.body).get('StackName')).toBe('ProducerSync-dev-Sync');
    expect(startedOn('dev-1')).toEqual([DEV_ARN]);
    expect(JSON.parse(result.out)).toMatchObject({ name: 'dev-1', status: 'SUCCEEDED', input: { runDate: '2025-07-24' } });
    expect(result.out).not.toContain('\r');
    expect(result.err).toMatch(/SUCCEEDED after \d+s/);
  });

  it('no stage: the variable, else the unstaged stacks; backfill too', async () => {
    expect((await cli(['backfill', '--npns', '15645555', '--name', 'bf-default', '--profile', 'ps-eu'])).code).toBe(0);
    expect(new URLSearchParams(recorded[0]!.body).get('StackName')).toBe('ProducerSyncSync');
    expect(startedOn('bf-default')).toEqual([UNSTAGED_ARN]);
    recorded = [];
    expect((await cli(['backfill', '--npns', '15645555', '--name', 'bf-env', '--profile', 'ps-eu'], { PRODUCERSYNC_STATE_MACHINE_ARN: DEV_ARN })).code).toBe(0);
    expect(recorded.map((r) => r.service)).toEqual(['states']);
    expect(startedOn('bf-env')).toEqual([DEV_ARN]);
  });

  it('a stage that was never deployed: exit 1, one line naming its stack', async () => {
    const result = await cli(['runs', '--stage', 'nope', '--profile', 'ps-eu']);
    expect(result).toEqual({
      code: 1,
      out: '',
      err: 'producersync runs: could not read the outputs of stack ProducerSync-nope-Data (Stack with id ProducerSync-nope-Data does not exist); pass --control-table or set PRODUCERSYNC_CONTROL_TABLE\n',
    });
  });
});
