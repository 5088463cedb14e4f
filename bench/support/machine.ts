import { cpus, freemem, loadavg, platform, release, totalmem } from 'node:os';

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  ramGiB: number;
  node: string;
  os: string;
  /** 1-minute load average when the run started: another job on the machine shows here. */
  loadAverageAtStart: number;
  freeRamGiBAtStart: number;
}

export function machineInfo(): MachineInfo {
  const gib = (bytes: number) => Math.round((bytes / 2 ** 30) * 10) / 10;
  return {
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    cores: cpus().length,
    ramGiB: gib(totalmem()),
    node: process.version,
    os: `${platform()} ${release()}`,
    loadAverageAtStart: Math.round((loadavg()[0] ?? 0) * 100) / 100,
    freeRamGiBAtStart: gib(freemem()),
  };
}

/** The 1-minute load average sampled while the benchmarks run: other work on the machine skews timings. */
export function watchLoad(intervalMs = 5_000): { stop(): { mean: number; max: number } } {
  const samples: number[] = [loadavg()[0] ?? 0];
  const timer = setInterval(() => samples.push(loadavg()[0] ?? 0), intervalMs);
  timer.unref();
  const round = (value: number) => Math.round(value * 100) / 100;
  return {
    stop() {
      clearInterval(timer);
      return { mean: round(samples.reduce((a, b) => a + b, 0) / samples.length), max: round(Math.max(...samples)) };
    },
  };
}

export const describeMachine = (m: MachineInfo): string =>
  `${m.cpuModel}, ${m.cores} cores, ${m.ramGiB} GiB RAM, Node ${m.node}, ${m.os} (load ${m.loadAverageAtStart} at start)`;
