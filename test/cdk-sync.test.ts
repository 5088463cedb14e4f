import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '#lib/app';
import { syncPagesConcurrency } from '#lib/concurrency';
import { definitionTextOf } from './cdk-definition.ts';
import { logicalIdOf, statementsOfRole, actionsOf, functionProps, type Json } from './support/cdk-template.ts';

describe('ProducerSyncSync stack', () => {
  let template: Template;
  let definition: Json & { States: Record<string, Json> };
  let definitionText: string;

  beforeAll(() => {
    const { syncStack } = buildApp({ context: { 'aws:cdk:bundling-stacks': [], 'producersync:syncConcurrency': '6' } });
    expect(syncStack.stackName).toBe('ProducerSyncSync');
    template = Template.fromStack(syncStack);
    const machine = Object.values(template.findResources('AWS::StepFunctions::StateMachine'))[0] as { Properties: Json };
    definitionText = definitionTextOf(machine);
    definition = JSON.parse(definitionText);
  });

  it('builds the three sync functions on nodejs24.x / arm64, each with its own service name, the token layer on sync-pages only', () => {
    const layerId = logicalIdOf(template, 'AWS::Lambda::LayerVersion', 'TokenLayer');
    template.hasResourceProperties('AWS::Lambda::LayerVersion', { CompatibleRuntimes: ['nodejs24.x'] });
    const services = { PrepareFunction: 'producersync-prepare', SyncPagesFunction: 'producersync-sync-pages', FinalizeFunction: 'producersync-finalize' };
    for (const [prefix, service] of Object.entries(services)) {
      const fn = template.findResources('AWS::Lambda::Function')[logicalIdOf(template, 'AWS::Lambda::Function', prefix)] as { Properties: Json };
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        TracingConfig: { Mode: 'Active' },
        LoggingConfig: { LogGroup: { Ref: expect.stringMatching(new RegExp(`^${prefix}LogGroup`)) } },
      });
      // Prepare and Finalize never fetch a token, so they do not carry the layer (issue 14.9).
      expect(fn.Properties.Layers).toEqual(prefix === 'SyncPagesFunction' ? [{ Ref: layerId }] : undefined);
      const env = (fn.Properties.Environment as { Variables: Json }).Variables;
      expect(env).toMatchObject({ POWERTOOLS_SERVICE_NAME: service, POWERTOOLS_METRICS_NAMESPACE: 'ProducerSync' });
      expect(env.CONTROL_TABLE_NAME).toBeDefined();
    }
  });

  it('gives sync-pages 15 minutes, 1024 MB and the full sync environment', () => {
    const id = logicalIdOf(template, 'AWS::Lambda::Function', 'SyncPagesFunction');
    const fn = template.findResources('AWS::Lambda::Function')[id] as { Properties: Json };
    expect(fn.Properties).toMatchObject({ Timeout: 900, MemorySize: 1024 });
    const env = (fn.Properties.Environment as { Variables: Json }).Variables;
    expect(Object.keys(env)).toEqual(
      expect.arrayContaining([
        'DATA_TABLE_NAME', 'CONTROL_TABLE_NAME', 'PRODUCERSYNC_SECRET_ARN', 'PRODUCERSYNC_API_BASE_URL', 'PRODUCERSYNC_TOKEN_URL',
        'API_REQUESTS_PER_MINUTE', 'TOKEN_REQUESTS_PER_MINUTE', 'PAGE_SIZE', 'SYNC_TIME_BUDGET_MS',
      ]),
    );
    expect(env).toMatchObject({ API_REQUESTS_PER_MINUTE: '300', TOKEN_REQUESTS_PER_MINUTE: '200', PAGE_SIZE: '1000', SYNC_TIME_BUDGET_MS: '600000' });
  });

  it('keeps the credentials secret KMS-encrypted with only placeholders in the template', () => {
    const secrets = template.findResources('AWS::SecretsManager::Secret');
    const [id, secret] = Object.entries(secrets)[0] as [string, { Properties: { GenerateSecretString: { SecretStringTemplate: string; GenerateStringKey: string }; KmsKeyId: unknown; SecretString?: unknown } }];
    expect(id).toMatch(/^ProducerSyncCredentials/);
    expect(secret.Properties.KmsKeyId).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^SyncKey/), 'Arn'] });
    expect(secret.Properties.SecretString).toBeUndefined();
    expect(secret.Properties.GenerateSecretString.GenerateStringKey).toBe('clientSecret');
    // Byte for byte what 0.1.0 deployed by default, so upgrading regenerates nothing; it depends on no
    // setting (test/cdk-deployments.test.ts), and its URLs are ignored: sync-pages has them in its environment.
    expect(secret.Properties.GenerateSecretString.SecretStringTemplate).toBe(
      '{"clientId":"REPLACE_ME","tokenUrl":"https://auth.sandbox.agentsync.io/oauth2/token","apiBaseUrl":"https://api.sandbox.agentsync.io"}',
    );
  });

  it('runs a Standard, JSONPath state machine with logging, tracing and a 24 h timeout', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      StateMachineName: 'ProducerSync-Sync',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: false, Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: Match.anyValue() } }] },
    });
    expect(definition).toMatchObject({ QueryLanguage: 'JSONPath', TimeoutSeconds: 86400, StartAt: 'Prepare' });
  });

  it('prepares with execution context and fails bad input with InvalidInput', () => {
    const prepare = definition.States.Prepare!;
    expect(prepare).toMatchObject({
      Type: 'Task',
      Resource: expect.stringMatching(/:function:PrepareFunction/),
      Parameters: { 'input.$': '$', 'executionName.$': '$$.Execution.Name', 'startTime.$': '$$.Execution.StartTime' },
      Catch: [{ ErrorEquals: ['InvalidInput'], Next: 'InvalidInput' }],
      Next: 'RunSkipped',
    });
    expect(definition.States.InvalidInput).toEqual({ Type: 'Fail', Error: 'InvalidInput', CausePath: '$.Cause' });
    // A run Prepare skipped (another initial load in flight) ends at once.
    expect(definition.States.RunSkipped).toEqual({
      Type: 'Choice',
      Choices: [{ Variable: '$.skipped', IsPresent: true, Next: 'Skipped' }],
      Default: 'SyncEndpoints',
    });
    expect(definition.States.Skipped).toEqual({ Type: 'Succeed' });
  });

  it('maps the endpoint loop over $.endpoints with the configured concurrency, Wait on SecondsPath and a Catch per iteration', () => {
    const map = definition.States.SyncEndpoints as Json & { ItemProcessor: { StartAt: string; States: Record<string, Json> } };
    expect(map).toMatchObject({ Type: 'Map', ItemsPath: '$.endpoints', MaxConcurrency: 6, ResultPath: '$.results', Next: 'RecordRun' });
    const states = map.ItemProcessor.States;
    expect(map.ItemProcessor.StartAt).toBe('SyncPages');
    expect(states.SyncPages).toMatchObject({
      Type: 'Task',
      Resource: expect.stringMatching(/:function:SyncPagesFunction/), // payloadResponseOnly: the Lambda ARN itself
      Next: 'EndpointDone',
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'EndpointFailed' }],
    });
    const retries = states.SyncPages!.Retry as Json[];
    expect(retries.map((r) => r.ErrorEquals).flat()).toEqual(
      expect.arrayContaining(['Lambda.ServiceException', 'Lambda.AWSLambdaException', 'Lambda.SdkClientException', 'Lambda.TooManyRequestsException', 'States.TaskFailed']),
    );
    for (const retry of retries) expect(retry).toMatchObject({ BackoffRate: 2, JitterStrategy: 'FULL', MaxDelaySeconds: expect.any(Number) });
    expect(states.EndpointDone).toEqual({
      Type: 'Choice',
      Choices: [
        { Variable: '$.done', BooleanEquals: true, Next: 'EndpointSynced' },
        { Variable: '$.waitSeconds', NumericGreaterThan: 0, Next: 'WaitForRateBudget' },
      ],
      Default: 'SyncPages',
    });
    expect(states.WaitForRateBudget).toEqual({ Type: 'Wait', SecondsPath: '$.waitSeconds', Next: 'SyncPages' });
    expect(states.EndpointFailed).toEqual({ Type: 'Pass', Parameters: { 'endpoint.$': '$.endpoint', failed: true, 'error.$': '$.error' }, End: true });
  });

  it('records the run, resumes failed endpoints without a Catch, records again and succeeds', () => {
    expect(definition.States.RecordRun).toMatchObject({ Resource: expect.stringMatching(/:function:FinalizeFunction/), ResultPath: '$.run', Next: 'AnyEndpointFailed' });
    expect(definition.States.AnyEndpointFailed).toEqual({
      Type: 'Choice',
      Choices: [{ Variable: '$.run.failedEndpoints[0]', IsPresent: true, Next: 'ResumeFailed' }],
      Default: 'Synced',
    });
    const resume = definition.States.ResumeFailed as Json & { ItemProcessor: { StartAt: string; States: Record<string, Json> } };
    expect(resume).toMatchObject({ Type: 'Map', ItemsPath: '$.run.failedEndpoints', Next: 'RecordRun2' });
    expect(resume.ItemProcessor.StartAt).toBe('ResumeSyncPages');
    expect(resume.ItemProcessor.States.ResumeSyncPages!.Catch).toBeUndefined();
    expect(resume.ItemProcessor.States.ResumeWaitForRateBudget).toEqual({ Type: 'Wait', SecondsPath: '$.waitSeconds', Next: 'ResumeSyncPages' });
    expect(definition.States.RecordRun2).toMatchObject({ Resource: expect.stringMatching(/:function:FinalizeFunction/), Next: 'Synced' });
    expect(definition.States.Synced).toEqual({ Type: 'Succeed' });
  });

  it('retries every Lambda task on throttling, service errors (ClientExecutionTimeoutException included) and task failures; bad input is final', () => {
    const taskStates: Record<string, Json> = {
      Prepare: definition.States.Prepare!,
      RecordRun: definition.States.RecordRun!,
      RecordRun2: definition.States.RecordRun2!,
      SyncPages: (definition.States.SyncEndpoints as { ItemProcessor: { States: Record<string, Json> } }).ItemProcessor.States.SyncPages!,
    };
    for (const [name, state] of Object.entries(taskStates)) {
      const retries = state.Retry as Array<Json & { ErrorEquals: string[] }>;
      const errors = retries.map((r) => r.ErrorEquals).flat();
      expect(errors, name).toEqual(expect.arrayContaining(['Lambda.TooManyRequestsException', 'Lambda.ClientExecutionTimeoutException', 'Lambda.ServiceException', 'States.TaskFailed']));
      // The catch-all comes last, so the specific retriers (and InvalidInput's none) win.
      expect(retries.at(-1)!.ErrorEquals, name).toEqual(['States.TaskFailed']);
    }
    const prepareRetries = taskStates.Prepare!.Retry as Json[];
    expect(prepareRetries[0]).toEqual({ ErrorEquals: ['InvalidInput'], MaxAttempts: 0 });
  });

  it('outlasts a saturated reserved pool: throttled invocations are retried for at least 30 minutes of backoff', () => {
    const syncPages = (definition.States.SyncEndpoints as { ItemProcessor: { States: Record<string, Json> } }).ItemProcessor.States.SyncPages!;
    const throttle = (syncPages.Retry as Array<{ ErrorEquals: string[]; IntervalSeconds: number; MaxAttempts: number; BackoffRate: number; MaxDelaySeconds: number }>).find((r) =>
      r.ErrorEquals.includes('Lambda.TooManyRequestsException'),
    )!;
    expect(throttle.ErrorEquals).toEqual(['Lambda.TooManyRequestsException']);
    let total = 0;
    for (let attempt = 0; attempt < throttle.MaxAttempts; attempt++) total += Math.min(throttle.IntervalSeconds * throttle.BackoffRate ** attempt, throttle.MaxDelaySeconds);
    // Full jitter waits a random share of each delay: half of it on average, so the mean budget is still over 30 minutes.
    expect(total / 2).toBeGreaterThan(30 * 60);
  });

  it('writes the execution log group under /aws/vendedlogs/states/, named after the state machine and the stack id', () => {
    const machine = Object.values(template.findResources('AWS::StepFunctions::StateMachine'))[0] as { Properties: { LoggingConfiguration: { Destinations: Array<{ CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': [string, string] } } }> } } };
    const logGroupId = machine.Properties.LoggingConfiguration.Destinations[0]!.CloudWatchLogsLogGroup.LogGroupArn['Fn::GetAtt'][0];
    const logGroup = template.findResources('AWS::Logs::LogGroup')[logGroupId] as { Properties: { LogGroupName: unknown }; DeletionPolicy: string };
    expect(JSON.stringify(logGroup.Properties.LogGroupName)).toMatch(/^\{"Fn::Join":\["",\["\/aws\/vendedlogs\/states\/ProducerSync-Sync-",\{"Fn::Select":\[2,\{"Fn::Split":\["\/",\{"Ref":"AWS::StackId"\}\]\}\]\}\]\]\}$/);
    expect(logGroup.DeletionPolicy).toBe('Retain');
  });

  it('reserves SyncPages concurrency sized to the rate budget: 20 at 300 requests/min, more for a bigger budget, or as configured', () => {
    expect(functionProps(template, 'SyncPagesFunction').ReservedConcurrentExecutions).toBe(20);
    for (const prefix of ['PrepareFunction', 'FinalizeFunction']) expect(functionProps(template, prefix).ReservedConcurrentExecutions).toBeUndefined();
    expect(syncPagesConcurrency(600, 4)).toBe(40);
    expect(syncPagesConcurrency(60, 4)).toBe(8); // never below two executions' Map concurrency
    const configured = Template.fromStack(buildApp({ context: { 'aws:cdk:bundling-stacks': [], 'producersync:syncPagesConcurrency': '7' } }).syncStack);
    expect(functionProps(configured, 'SyncPagesFunction').ReservedConcurrentExecutions).toBe(7);
  });

  it('bounds every Lambda task by the Lambda maximum of 900 s (local interpreters default to 60 s)', () => {
    const tasks = [...definitionText.matchAll(/"Type":"Task"/g)].length;
    expect(tasks).toBe(5); // Prepare, SyncPages, RecordRun, ResumeSyncPages, RecordRun2
    expect([...definitionText.matchAll(/"TimeoutSeconds":900/g)].length).toBe(tasks);
  });

  it('never uses negative IsNull/IsPresent conditions (the local interpreter gets them wrong)', () => {
    expect(definitionText).not.toMatch(/"Is(Null|Present)":\s*false/);
  });

  it('grants prepare, sync-pages and finalize exactly the DynamoDB actions their code calls, the table key only through DynamoDB', () => {
    const expected: Record<string, { data?: string[]; control: string[] }> = {
      PrepareFunctionRole: { control: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'] },
      SyncPagesFunctionRole: {
        data: ['dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
        control: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'],
      },
      FinalizeFunctionRole: { control: ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:UpdateItem'] },
    };
    // Only finalize deletes, and only its run's lease; sync-pages queries the change index (the sweep), prepare it and
    // byKind (a full pull's partitions: the NPN status items and the previous complete full run), nothing else does.
    const indexQueries = statementsOfRole(template, 'SyncPagesFunctionRole').filter((s) => JSON.stringify(s.Resource).includes('/index/'));
    expect(actionsOf(indexQueries)).toEqual(['dynamodb:Query']);
    expect(JSON.stringify(indexQueries.map((s) => s.Resource))).toContain('/index/byTypeChangedAt');
    const prepareQueries = statementsOfRole(template, 'PrepareFunctionRole').filter((s) => JSON.stringify(s.Resource).includes('/index/'));
    expect(actionsOf(prepareQueries)).toEqual(['dynamodb:Query']);
    expect(JSON.stringify(prepareQueries.map((s) => s.Resource)).match(/\/index\/[A-Za-z*]+/g)?.sort()).toEqual(['/index/byKind', '/index/byTypeChangedAt']);
    for (const [role, tables] of Object.entries(expected)) {
      const statements = statementsOfRole(template, role);
      const onTable = (name: string) =>
        actionsOf(statements.filter((s) => JSON.stringify(s.Resource).includes(name) && !JSON.stringify(s.Resource).includes('Key') && !JSON.stringify(s.Resource).includes('/index/'))).sort();
      expect(onTable('DataTable'), role).toEqual(tables.data ?? []);
      expect(onTable('ControlTable'), role).toEqual(tables.control);
      expect(actionsOf(statements).filter((a) => /Scan|BatchWriteItem|DescribeTable/.test(a) || (a === 'dynamodb:DeleteItem' && role !== 'FinalizeFunctionRole')), role).toEqual([]);
      expect(JSON.stringify(statements.map((s) => s.Resource)), role).not.toMatch(role === 'FinalizeFunctionRole' ? /index\// : /index\/\*/);
      const keyStatements = statements.filter((s) => actionsOf([s]).some((a) => a.startsWith('kms:')));
      expect(keyStatements.length, role).toBeGreaterThan(0);
      for (const statement of keyStatements) {
        expect(JSON.stringify(statement.Condition), role).toMatch(/"kms:ViaService":\{"Fn::Join":\["",\["(dynamodb|secretsmanager)\./);
        expect(actionsOf([statement]).filter((a) => a.includes('*')), role).toEqual([]);
      }
    }
    expect(actionsOf(statementsOfRole(template, 'PrepareFunctionRole')).filter((a) => a.startsWith('secretsmanager:'))).toEqual([]);
    expect(actionsOf(statementsOfRole(template, 'FinalizeFunctionRole')).filter((a) => a.startsWith('secretsmanager:'))).toEqual([]);
  });

  it('lets sync-pages read the credentials secret and decrypt it through Secrets Manager only, and nothing with a bare "*" resource except X-Ray', () => {
    const statements = statementsOfRole(template, 'SyncPagesFunctionRole');
    const secretRead = statements.find((s) => actionsOf([s]).includes('secretsmanager:GetSecretValue'));
    expect(actionsOf([secretRead!])).toEqual(['secretsmanager:GetSecretValue']);
    expect(secretRead?.Resource).toEqual({ Ref: expect.stringMatching(/^ProducerSyncCredentials/) });
    const decryptViaSecrets = statements.find((s) => JSON.stringify(s.Condition ?? {}).includes('secretsmanager.'));
    expect(actionsOf([decryptViaSecrets!])).toEqual(['kms:Decrypt']);
    expect(decryptViaSecrets?.Resource).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^SyncKey/), 'Arn'] });
    for (const s of statements.filter((x) => x.Resource === '*')) {
      expect(actionsOf([s]).every((a) => a.startsWith('xray:'))).toBe(true);
    }
  });
});
