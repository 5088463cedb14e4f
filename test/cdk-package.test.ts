import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '#lib/paths';

// The package as a platform team gets it: `npm pack`, installed into a throw-away CDK app outside the
// checkout (from the npm cache where possible), type-checked against the shipped declarations, then
// synthesized with non-default props. One install, several checks.
const require = createRequire(import.meta.url);
const versionOf = (name: string): string => (require(`${name}/package.json`) as { version: string }).version;

function run(command: string, args: string[], cwd: string, env: Record<string, string> = {}): SpawnSyncReturns<string> {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 300_000 });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.status}\n${result.stdout}\n${result.stderr}`.slice(0, 4_000));
  return result;
}

const CONSUMER_APP = `import { App, PermissionsBoundary } from 'aws-cdk-lib';
import { ProducerSyncPipeline, type ProducerSyncPipelineProps } from 'producersync-aws';
import { producerView, sellingAuthority } from 'producersync-aws/read';

const props: ProducerSyncPipelineProps = {
  stage: 'qa',
  names: { dashboard: 'platform-producersync-qa' },
  environment: 'production',
  alarmEmail: 'oncall@example.com',
  tags: { team: 'platform' },
  stackProps: { permissionsBoundary: PermissionsBoundary.fromName('platform-boundary') },
};
const app = new App();
const pipeline = new ProducerSyncPipeline(app, 'Mirror', props);
const topicArn: string = pipeline.alarmTopic.topicArn;
void topicArn;
pipeline.addChangeFeed('claims', { recordTypes: ['licenses'], states: ['TX'] });
// The read subpath loads and answers (nothing in the copy: no).
if (sellingAuthority('1', producerView('1', []), { state: 'TX', line: 'Property' }).allowed) throw new Error('an empty copy granted authority');
app.synth();
`;

describe('the npm package in a throw-away CDK app', () => {
  let work: string;
  let appDir: string;
  let outDir: string;
  type Template = { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }> };
  const templates: Record<string, Template> = {};

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'producersync-package-'));
    appDir = join(work, 'app');
    outDir = join(work, 'cdk.out');
    run('npm', ['pack', '--silent', '--pack-destination', work], PACKAGE_ROOT);
    const tarball = readdirSync(work).find((name) => name.endsWith('.tgz'));
    expect(tarball).toBeDefined();
    run('mkdir', ['-p', appDir], work);
    writeFileSync(join(appDir, 'package.json'), JSON.stringify({ name: 'platform-app', private: true, type: 'module' }));
    writeFileSync(join(appDir, 'app.ts'), CONSUMER_APP);
    writeFileSync(
      join(appDir, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true, types: [] }, files: ['app.ts'] }),
    );
    // Install scripts are not needed (esbuild's binary comes as a package) and stay off.
    run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', join(work, tarball!), `aws-cdk-lib@${versionOf('aws-cdk-lib')}`, `constructs@${versionOf('constructs')}`], appDir);
  }, 600_000);
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('ships built JavaScript, declarations and the Lambda sources, and no TypeScript entry point', () => {
    const installed = join(appDir, 'node_modules/producersync-aws');
    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { exports: Record<string, { types: string; default: string }> };
    expect(existsSync(join(installed, manifest.exports['.']!.default))).toBe(true);
    expect(existsSync(join(installed, manifest.exports['.']!.types))).toBe(true);
    expect(existsSync(join(installed, manifest.exports['./read']!.default))).toBe(true);
    expect(existsSync(join(installed, manifest.exports['./read']!.types))).toBe(true);
    expect(existsSync(join(installed, 'lambdas/sync/sync-pages.ts'))).toBe(true);
    expect(existsSync(join(installed, 'lib'))).toBe(false);
    expect(existsSync(join(installed, 'scripts'))).toBe(false);
    expect(existsSync(join(appDir, 'node_modules/tsx'))).toBe(false);
  });

  it('type-checks a consumer app against the declarations', () => {
    run(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.json'], appDir);
  });

  it('synthesizes the construct with a stage, own names, production, alarm e-mail, tags and a permissions boundary', () => {
    // Node 24 runs the TypeScript app as it is (type stripping).
    run(process.execPath, ['app.ts'], appDir, { CDK_OUTDIR: outDir });
    for (const file of readdirSync(outDir).filter((name) => name.endsWith('.template.json'))) {
      const template = JSON.parse(readFileSync(join(outDir, file), 'utf8')) as Template;
      const manifest = JSON.parse(readFileSync(join(outDir, 'manifest.json'), 'utf8')) as { artifacts: Record<string, { properties?: { stackName?: string; templateFile?: string } }> };
      const artifact = Object.values(manifest.artifacts).find((a) => a.properties?.templateFile === file);
      templates[artifact!.properties!.stackName!] = template;
    }
    expect(Object.keys(templates).sort()).toEqual(['ProducerSync-qa-Data', 'ProducerSync-qa-Feed', 'ProducerSync-qa-Ingest', 'ProducerSync-qa-Sync']);
    const all = Object.values(templates).flatMap((t) => Object.values(t.Resources));
    const ofType = (type: string) => all.filter((r) => r.Type === type).map((r) => r.Properties ?? {});

    expect(ofType('AWS::StepFunctions::StateMachine')[0]).toMatchObject({ StateMachineName: 'ProducerSync-qa-SyncRun' });
    expect(ofType('AWS::CloudWatch::Dashboard')[0]).toMatchObject({ DashboardName: 'platform-producersync-qa' });
    expect(ofType('AWS::SNS::Subscription')).toHaveLength(2);
    expect(ofType('AWS::SNS::Subscription')).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Protocol: 'email', Endpoint: 'oncall@example.com' }),
        expect.objectContaining({ Protocol: 'sqs', FilterPolicy: expect.objectContaining({ recordType: ['licenses'] }) }),
      ]),
    );
    const syncPages = ofType('AWS::Lambda::Function').find((p) => JSON.stringify(p).includes('producersync-sync-pages'));
    expect(syncPages).toMatchObject({ Environment: { Variables: expect.objectContaining({ PRODUCERSYNC_API_BASE_URL: 'https://api.agentsync.io' }) } });
    const roles = ofType('AWS::IAM::Role');
    expect(roles.length).toBeGreaterThan(5);
    for (const role of roles) {
      expect(role.PermissionsBoundary).toEqual({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':policy/platform-boundary']] });
      expect(role.Tags).toEqual(expect.arrayContaining([{ Key: 'team', Value: 'platform' }]));
    }
  });

  it('bundles every function and the token layer from the installed package, never from the checkout', () => {
    const assetDirs = readdirSync(outDir).filter((name) => name.startsWith('asset.')).map((name) => join(outDir, name));
    const maps = assetDirs.flatMap((dir) => readdirSync(dir, { recursive: true }).map(String).filter((f) => f.endsWith('.mjs.map')).map((f) => join(dir, f)));
    expect(maps.length).toBe(7); // five functions, the feed publisher and the layer
    for (const map of maps) {
      const { sources, sourcesContent } = JSON.parse(readFileSync(map, 'utf8')) as { sources: string[]; sourcesContent?: unknown };
      expect(sources.some((source) => source.includes('node_modules/producersync-aws/lambdas/')), map).toBe(true);
      expect(sourcesContent, map).toBeUndefined();
    }
    const assembly = readdirSync(outDir).filter((name) => name.endsWith('.json')).map((name) => readFileSync(join(outDir, name), 'utf8')).join('\n');
    expect(assembly).not.toContain(PACKAGE_ROOT);
  });

  it('runs the installed producersync CLI without tsx or any other devDependency', () => {
    const help = run(process.execPath, ['node_modules/producersync-aws/bin/producersync.mjs', '--help'], appDir);
    expect(help.stdout).toMatch(/^usage: producersync <command>/);
    const runsHelp = spawnSync(process.execPath, ['node_modules/producersync-aws/bin/producersync.mjs', 'rerun', '--help'], { cwd: appDir, encoding: 'utf8' });
    expect(runsHelp.stderr).not.toMatch(/Cannot find (package|module)/);
  });
});
