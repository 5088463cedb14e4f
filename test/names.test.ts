import { describe, expect, it } from 'vitest';
import { deploymentNames } from '#lib/names';

describe('deploymentNames', () => {
  it('keeps the original names when no stage is given', () => {
    for (const stage of [undefined, '']) {
      expect(deploymentNames(stage)).toEqual({
        stage: undefined,
        prefix: 'ProducerSync',
        stacks: { data: 'ProducerSyncData', sync: 'ProducerSyncSync', ingest: 'ProducerSyncIngest', feed: 'ProducerSyncFeed' },
        stateMachine: 'ProducerSync-Sync',
        dashboard: 'ProducerSync',
        webhookApi: 'WebhookApi',
      });
    }
  });

  it('derives every name from the stage, so two stages share none', () => {
    const flat = (stage: string): string[] => {
      const names = deploymentNames(stage);
      return [names.prefix, ...Object.values(names.stacks), names.stateMachine, names.dashboard, names.webhookApi];
    };
    const sandbox = flat('sandbox');
    const prod = flat('prod');
    expect(sandbox.filter((name) => prod.includes(name))).toEqual([]);
    expect(sandbox.every((name) => name.includes('sandbox'))).toBe(true);
    expect(flat('')).not.toContain(deploymentNames('sandbox').stateMachine);
  });

  it('applies a platform team\'s own names over the stage names', () => {
    const names = deploymentNames('prod', { stacks: { data: 'team-prod-producersync-data' }, dashboard: 'team-producersync' });
    expect(names.stacks).toEqual({ data: 'team-prod-producersync-data', sync: 'ProducerSync-prod-Sync', ingest: 'ProducerSync-prod-Ingest', feed: 'ProducerSync-prod-Feed' });
    expect(names.dashboard).toBe('team-producersync');
    expect(names.stateMachine).toBe('ProducerSync-prod-SyncRun');
    expect(deploymentNames(undefined, { stateMachine: '' }).stateMachine).toBe('ProducerSync-Sync');
  });

  it('rejects a stage that would make an invalid name', () => {
    for (const bad of ['1prod', 'prod_1', 'a'.repeat(25), 'pr od', '-x']) expect(() => deploymentNames(bad)).toThrow(/stage must be/);
  });
});
