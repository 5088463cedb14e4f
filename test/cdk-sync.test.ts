import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '#lib/app';
import { logicalIdOf, statementsOfRole, actionsOf, type Json } from './support/cdk-template.ts';

/** Flattens the CloudFormation intrinsics of a state machine definition into plain ASL. */
function resolveDefinition(value: unknown): string {
  if (typeof value === 'string') return value;
  const v = value as Json;
  if (v['Fn::Join']) {
    const [sep, parts] = v['Fn::Join'] as [string, unknown[]];
    return parts.map(resolveDefinition).join(sep);
  }
  if (v.Ref) return `<${String(v.Ref)}>`;
  if (v['Fn::GetAtt']) return `<${(v['Fn::GetAtt'] as string[])[0]}>`;
  throw new Error(`unexpected intrinsic ${JSON.stringify(v)}`);
}

describe('ProducerSyncSync stack', () => {
  let template: Template;
  let definition: Json & { States: Record<string, Json> };
  let definitionText: string;

  beforeAll(() => {
    const { syncStack } = buildApp({ context: { 'aws:cdk:bundling-stacks': [], 'producersync:syncConcurrency': '6' } });
    expect(syncStack.stackName).toBe('ProducerSyncSync');
    template = Template.fromStack(syncStack);
    const machine = Object.values(template.findResources('AWS::StepFunctions::StateMachine'))[0] as { Properties: Json };
    definitionText = resolveDefinition(machine.Properties.DefinitionString);
    definition = JSON.parse(definitionText);
  });

  it('builds the three sync functions on nodejs24.x / arm64 with the token layer attached', () => {
    const layerId = logicalIdOf(template, 'AWS::Lambda::LayerVersion', 'TokenLayer');
    template.hasResourceProperties('AWS::Lambda::LayerVersion', { CompatibleRuntimes: ['nodejs24.x'] });
    for (const prefix of ['PrepareFunction', 'SyncPagesFunction', 'FinalizeFunction']) {
      const fn = template.findResources('AWS::Lambda::Function')[logicalIdOf(template, 'AWS::Lambda::Function', prefix)] as { Properties: Json };
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        Layers: [{ Ref: layerId }],
        TracingConfig: { Mode: 'Active' },
        LoggingConfig: { LogGroup: { Ref: expect.stringMatching(new RegExp(`^${prefix}LogGroup`)) } },
      });
      const env = (fn.Properties.Environment as { Variables: Json }).Variables;
      expect(env).toMatchObject({ POWERTOOLS_SERVICE_NAME: 'producersync-aws', POWERTOOLS_METRICS_NAMESPACE: 'ProducerSync' });
      expect(env.CONTROL_TABLE_NAME).toBeDefined();
    }
  });

  it('gives sync-pages 15 minutes, 1024 MB and the full sync environment', () => {
    const id = logicalIdOf(template, 'AWS::Lambda::Function', 'SyncPagesFunction');
    const fn = template.findResources('AWS::Lambda::Function')[id] as { Properties: Json };
    expect(fn.Properties).toMatchObject({ Timeout: 900, MemorySize: 1024 });
    const env = (fn.Properties.Environment as { Variables: Json }).Variables;
    expect(Object.keys(env)).toEqual(
      expect.arrayContaining(['DATA_TABLE_NAME', 'CONTROL_TABLE_NAME', 'PRODUCERSYNC_SECRET_ARN', 'API_REQUESTS_PER_MINUTE', 'TOKEN_REQUESTS_PER_MINUTE', 'PAGE_SIZE', 'SYNC_TIME_BUDGET_MS']),
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
    expect(JSON.parse(secret.Properties.GenerateSecretString.SecretStringTemplate)).toEqual({
      clientId: 'REPLACE_ME',
      tokenUrl: 'https://auth.sandbox.agentsync.io/oauth2/token',
      apiBaseUrl: 'https://api.sandbox.agentsync.io',
    });
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
      Resource: expect.stringMatching(/^<PrepareFunction/),
      Parameters: { 'input.$': '$', 'executionName.$': '$$.Execution.Name', 'startTime.$': '$$.Execution.StartTime' },
      Catch: [{ ErrorEquals: ['InvalidInput'], Next: 'InvalidInput' }],
      Next: 'SyncEndpoints',
    });
    expect(definition.States.InvalidInput).toEqual({ Type: 'Fail', Error: 'InvalidInput', CausePath: '$.Cause' });
  });

  it('maps the endpoint loop over $.endpoints with the configured concurrency, Wait on SecondsPath and a Catch per iteration', () => {
    const map = definition.States.SyncEndpoints as Json & { ItemProcessor: { StartAt: string; States: Record<string, Json> } };
    expect(map).toMatchObject({ Type: 'Map', ItemsPath: '$.endpoints', MaxConcurrency: 6, ResultPath: '$.results', Next: 'RecordRun' });
    const states = map.ItemProcessor.States;
    expect(map.ItemProcessor.StartAt).toBe('SyncPages');
    expect(states.SyncPages).toMatchObject({
      Type: 'Task',
      Resource: expect.stringMatching(/^<SyncPagesFunction/), // payloadResponseOnly: the Lambda ARN itself
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
    expect(definition.States.RecordRun).toMatchObject({ Resource: expect.stringMatching(/^<FinalizeFunction/), ResultPath: '$.run', Next: 'AnyEndpointFailed' });
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
    expect(definition.States.RecordRun2).toMatchObject({ Resource: expect.stringMatching(/^<FinalizeFunction/), Next: 'Synced' });
    expect(definition.States.Synced).toEqual({ Type: 'Succeed' });
  });

  it('bounds every Lambda task by the Lambda maximum of 900 s (local interpreters default to 60 s)', () => {
    const tasks = [...definitionText.matchAll(/"Type":"Task"/g)].length;
    expect(tasks).toBe(5); // Prepare, SyncPages, RecordRun, ResumeSyncPages, RecordRun2
    expect([...definitionText.matchAll(/"TimeoutSeconds":900/g)].length).toBe(tasks);
  });

  it('never uses negative IsNull/IsPresent conditions (the local interpreter gets them wrong)', () => {
    expect(definitionText).not.toMatch(/"Is(Null|Present)":\s*false/);
  });

  it('grants prepare and finalize the control table only', () => {
    for (const prefix of ['PrepareFunctionRole', 'FinalizeFunctionRole']) {
      const statements = statementsOfRole(template, prefix);
      const resources = JSON.stringify(statements.map((s) => s.Resource));
      expect(resources).toContain('ControlTable');
      expect(resources).not.toContain('DataTable');
      expect(resources).not.toContain('ProducerSyncCredentials');
      expect(actionsOf(statements)).not.toContain('secretsmanager:GetSecretValue');
      expect(actionsOf(statements)).toEqual(expect.arrayContaining(['dynamodb:PutItem', 'dynamodb:Query', 'kms:Decrypt']));
    }
  });

  it('grants sync-pages both tables, the credentials secret and KMS decrypt, and nothing with a bare "*" resource except X-Ray', () => {
    const statements = statementsOfRole(template, 'SyncPagesFunctionRole');
    const resources = JSON.stringify(statements.map((s) => s.Resource));
    expect(resources).toContain('DataTable');
    expect(resources).toContain('ControlTable');
    expect(resources).not.toMatch(/index\/\*/);
    const secretRead = statements.find((s) => actionsOf([s]).includes('secretsmanager:GetSecretValue'));
    expect(secretRead?.Resource).toEqual({ Ref: expect.stringMatching(/^ProducerSyncCredentials/) });
    const decryptViaSecrets = statements.find((s) => JSON.stringify(s.Condition ?? {}).includes('kms:ViaService'));
    expect(actionsOf([decryptViaSecrets!])).toEqual(['kms:Decrypt']);
    for (const s of statements.filter((x) => x.Resource === '*')) {
      expect(actionsOf([s]).every((a) => a.startsWith('xray:'))).toBe(true);
    }
  });
});
