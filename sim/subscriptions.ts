import { randomUUID } from 'node:crypto';
import { isNpn } from '#producersync/npn';

export type SubscriptionOperation = 'append' | 'replace' | 'remove';
export type NpnResultStatus = 'PENDING' | 'SUCCESS' | 'INVALID_NPN' | 'NOT_SUBSCRIBED';

export interface SubscriptionJob {
  readonly id: string;
  readonly operation: SubscriptionOperation;
  readonly npns: readonly string[];
  readonly createdAt: string;
  updatedAt: string;
  status: 'IN_PROGRESS' | 'COMPLETED';
  results: { npn: string; status: NpnResultStatus }[];
}

/** What the job runner needs from the simulator's account state. */
export interface SubscriptionAccount {
  today(): string;
  subscribedNpns(): string[];
  subscribe(npn: string): boolean;
  unsubscribe(npn: string): boolean;
  /** Called once per completed job that changed the list (drives npn.activated / npn.deactivated). */
  listChanged(activated: string[], deactivated: string[]): void;
}


/**
 * NPN management jobs: accepted at once, applied after a short delay, the way AgentSync's
 * asynchronous subscription endpoints behave (`Job is in progress`, then status/details).
 */
export class SubscriptionJobs {
  private readonly jobs = new Map<string, SubscriptionJob>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly account: SubscriptionAccount,
    private readonly delayMs: number,
  ) {}

  submit(operation: SubscriptionOperation, npns: readonly string[]): SubscriptionJob {
    const today = this.account.today();
    const job: SubscriptionJob = {
      id: randomUUID(),
      operation,
      npns,
      createdAt: today,
      updatedAt: today,
      status: 'IN_PROGRESS',
      results: npns.map((npn) => ({ npn, status: 'PENDING' })),
    };
    this.jobs.set(job.id, job);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.complete(job);
    }, this.delayMs);
    this.timers.add(timer);
    return job;
  }

  get(id: string): SubscriptionJob | undefined {
    return this.jobs.get(id);
  }

  private complete(job: SubscriptionJob): void {
    const activated: string[] = [];
    const deactivated: string[] = [];
    const valid = new Set(job.npns.filter((npn) => isNpn(npn)));
    if (job.operation === 'replace') {
      for (const npn of this.account.subscribedNpns()) if (!valid.has(npn) && this.account.unsubscribe(npn)) deactivated.push(npn);
    }
    job.results = job.npns.map((npn) => {
      if (!isNpn(npn)) return { npn, status: 'INVALID_NPN' };
      if (job.operation === 'remove') {
        if (!this.account.unsubscribe(npn)) return { npn, status: 'NOT_SUBSCRIBED' };
        deactivated.push(npn);
        return { npn, status: 'SUCCESS' };
      }
      if (this.account.subscribe(npn)) activated.push(npn);
      return { npn, status: 'SUCCESS' };
    });
    job.status = 'COMPLETED';
    job.updatedAt = this.account.today();
    if (activated.length > 0 || deactivated.length > 0) this.account.listChanged(activated, deactivated);
  }

  close(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }
}

export const countResults = (job: SubscriptionJob) => ({
  total: job.results.length,
  succeeded: job.results.filter((r) => r.status === 'SUCCESS').length,
  failed: job.results.filter((r) => r.status !== 'SUCCESS' && r.status !== 'PENDING').length,
});
