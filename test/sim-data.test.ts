import { afterEach, describe, expect, it } from 'vitest';
import { ENDPOINT_NAMES, type EndpointName } from '#producersync/endpoints';
import { startSimulator, type RecordRef, type Simulator, type SimulatorOptions } from '#sim/server';
import { fetchAllPages, fetchToken } from '#sim/testing';

const started: Simulator[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((sim) => sim.close()));
});

async function start(opts: SimulatorOptions = {}): Promise<Simulator> {
  const sim = await startSimulator({ npns: 60, seed: 21, ...opts });
  started.push(sim);
  return sim;
}

type Snapshot = Record<EndpointName, Map<number, Record<string, unknown>>>;
const snapshot = (sim: Simulator): Snapshot =>
  Object.fromEntries(ENDPOINT_NAMES.map((name) => [name, new Map(sim.groundTruth(name).map((r) => [r.id as number, r]))])) as Snapshot;

/** Records whose content differs between two snapshots, as refs. */
function differences(before: Snapshot, after: Snapshot): RecordRef[] {
  const out: RecordRef[] = [];
  for (const endpoint of ENDPOINT_NAMES) {
    for (const [id, record] of after[endpoint]) if (JSON.stringify(record) !== JSON.stringify(before[endpoint].get(id))) out.push({ endpoint, id });
  }
  return out;
}
const sorted = (refs: RecordRef[]) => refs.map((r) => `${r.endpoint}#${r.id}`).sort();

describe('changes without an updatedAt bump', () => {
  it('changes content on noBumpFraction of the records, keeps updatedAt, and only a full read sees them', async () => {
    const sim = await start();
    const before = snapshot(sim);
    const day = await sim.advanceDay({ changeFraction: 0, noBumpFraction: 0.01 });
    expect(day.changedWithoutBump).toBeGreaterThan(5);
    expect(day.changedWithoutBump).toBe(day.withoutBump.length);
    expect(day).toMatchObject({ changed: 0, deleted: 0 });
    const after = snapshot(sim);
    expect(sorted(differences(before, after))).toEqual(sorted(day.withoutBump));
    for (const { endpoint, id } of day.withoutBump) expect(after[endpoint].get(id)!.updatedAt).toBe(before[endpoint].get(id)!.updatedAt);

    const token = await fetchToken(sim);
    for (const endpoint of new Set(day.withoutBump.map((r) => r.endpoint))) {
      const changedIds = new Set(day.withoutBump.filter((r) => r.endpoint === endpoint).map((r) => r.id));
      const incremental = await fetchAllPages(`${sim.url}/v2/${endpoint}?updatedSince=${day.runDate}&size=1000`, token, endpoint);
      expect(incremental.records.filter((r) => changedIds.has(r.id as number))).toEqual([]);
      const full = await fetchAllPages(`${sim.url}/v2/${endpoint}?size=1000`, token, endpoint);
      expect(full.records).toEqual([...after[endpoint].values()]);
    }
  });

  it('mixes with the ordinary changes, takes its default from SimulatorOptions, and is seeded', async () => {
    const run = async () => {
      const sim = await start({ noBumpFraction: 0.005 });
      const before = snapshot(sim);
      const day = await sim.advanceDay();
      const bumped = differences(before, snapshot(sim)).filter((r) => !day.withoutBump.some((w) => w.endpoint === r.endpoint && w.id === r.id));
      expect(day.changed).toBeGreaterThan(0);
      expect(day.changedWithoutBump).toBeGreaterThan(0);
      // Everything else that changed carries the day's date.
      for (const { endpoint, id } of bumped) expect(sim.groundTruth(endpoint).find((r) => r.id === id)!.updatedAt).toBe(day.runDate);
      return day.withoutBump;
    };
    expect(await run()).toEqual(await run());
  });

  it('changes named records on request: an LOA and the license that embeds it', async () => {
    const sim = await start();
    const before = snapshot(sim);
    const loa = sim.groundTruth('licenseLoas').find((r) => r.niprDeleted === false)!;
    const changed = sim.changeWithoutBump('licenseLoas', [loa.id as number]);
    expect(sorted(changed)).toEqual(sorted([{ endpoint: 'licenseLoas', id: loa.id as number }, { endpoint: 'licenses', id: loa.licenseId as number }]));
    expect(sorted(differences(before, snapshot(sim)))).toEqual(sorted(changed));
    expect(sim.groundTruth('licenses').find((r) => r.id === loa.licenseId)!.updatedAt).toBe(before.licenses.get(loa.licenseId as number)!.updatedAt);
    expect(() => sim.changeWithoutBump('addresses', [1])).toThrow(/no addresses record 1/);
  });

  it('makes none by default', async () => {
    const sim = await start();
    expect(await sim.advanceDay()).toMatchObject({ changedWithoutBump: 0, withoutBump: [] });
  });
});
