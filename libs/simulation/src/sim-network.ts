import type { Prng } from './prng';
import type { Scheduler } from './scheduler';

/** How messages fare on the network right now (the fault schedule changes these). */
export interface NetworkConditions {
  /** One-way latency, milliseconds. */
  delayMsMin: number;
  delayMsMax: number;
  /** Probability that a fire-and-forget notice is lost. */
  noticeDropP: number;
  /** Probability that a notice arrives twice (each copy with its own delay, so they reorder). */
  noticeDupP: number;
  /** Probability that a request or its reply is lost. */
  requestDropP: number;
}

/** What kind of traffic a message is: notices may be lost or duplicated; broker traffic only delayed or cut off. */
export type TrafficKind = 'notice' | 'request' | 'broker';

/** The name of the JetStream server on the network. */
export const BROKER = 'broker';

/**
 * The network between processes (replicas, coordinators, clients and the broker): it
 * delays, reorders (independent random delays), duplicates and drops messages, and
 * partitions the processes into groups that cannot reach each other. A message is
 * checked against the partition both when sent and when it would arrive.
 */
export class SimNetwork {
  readonly conditions: NetworkConditions = { delayMsMin: 1, delayMsMax: 8, noticeDropP: 0, noticeDupP: 0, requestDropP: 0 };
  /** Partition group of each process; processes not listed are in group 0. */
  private group = new Map<string, number>();
  /** Pairs cut one by one (`a|b`, sorted), on top of the groups. */
  private cuts = new Set<string>();
  sent = 0;
  dropped = 0;
  duplicated = 0;

  constructor(
    private readonly scheduler: Scheduler,
    private readonly prng: Prng,
  ) {}

  /** True when `a` and `b` can talk now. */
  reachable(a: string, b: string): boolean {
    if ((this.group.get(a) ?? 0) !== (this.group.get(b) ?? 0)) return false;
    return !this.cuts.has(pairKey(a, b));
  }

  /** Splits processes into groups; everyone not named stays in group 0. */
  partition(groups: readonly (readonly string[])[]): void {
    this.group = new Map();
    groups.forEach((g, i) => {
      for (const p of g) this.group.set(p, i + 1);
    });
  }

  /** Cuts the link between `a` and `b` (both directions). */
  cut(a: string, b: string): void {
    this.cuts.add(pairKey(a, b));
  }

  /** Restores the link between `a` and `b`. */
  restore(a: string, b: string): void {
    this.cuts.delete(pairKey(a, b));
  }

  /** Heals every partition and cut. */
  healAll(): void {
    this.group = new Map();
    this.cuts = new Set();
  }

  /** A description of the partition, for the trace. */
  describe(): string {
    const groups = new Map<number, string[]>();
    for (const [p, g] of this.group) groups.set(g, [...(groups.get(g) ?? []), p]);
    const parts = [...groups.entries()].sort((a, b) => a[0] - b[0]).map(([, ps]) => `{${ps.sort().join(',')}}`);
    return `${parts.join(' ') || '{}'} cuts=[${[...this.cuts].sort().join(' ')}]`;
  }

  /** One-way latency of one message. */
  delay(): number {
    return this.prng.int(this.conditions.delayMsMin, this.conditions.delayMsMax);
  }

  /** Sends one message; `deliver` runs at the destination if and when it arrives. */
  send(kind: TrafficKind, from: string, to: string, label: string, deliver: () => void): void {
    this.sent++;
    if (!this.reachable(from, to)) {
      this.dropped++;
      return;
    }
    const c = this.conditions;
    const dropP = kind === 'notice' ? c.noticeDropP : kind === 'request' ? c.requestDropP : 0;
    if (this.prng.chance(dropP)) {
      this.dropped++;
      return;
    }
    const copies = kind === 'notice' && this.prng.chance(c.noticeDupP) ? 2 : 1;
    if (copies === 2) this.duplicated++;
    for (let i = 0; i < copies; i++) {
      this.scheduler.after(this.delay(), `net ${label} ${from}>${to}`, () => {
        if (!this.reachable(from, to)) {
          this.dropped++;
          return;
        }
        deliver();
      });
    }
  }
}

/**
 * Sends one notice to many processes (a heartbeat on a subject everyone subscribes to):
 * each recipient may lose or duplicate its copy, but the copies share one delay, so a
 * broadcast costs one delivery step rather than one per recipient.
 */
export function broadcast(net: SimNetwork, scheduler: Scheduler, prng: Prng, from: string, to: readonly string[], label: string, deliver: (to: string) => void): void {
  const c = net.conditions;
  const now: string[] = [];
  const again: string[] = [];
  for (const t of to) {
    net.sent++;
    if (!net.reachable(from, t) || prng.chance(c.noticeDropP)) {
      net.dropped++;
      continue;
    }
    now.push(t);
    if (prng.chance(c.noticeDupP)) {
      net.duplicated++;
      again.push(t);
    }
  }
  const arrive = (targets: string[]) => () => {
    for (const t of targets) {
      if (net.reachable(from, t)) deliver(t);
      else net.dropped++;
    }
  };
  if (now.length > 0) scheduler.after(net.delay(), `net ${label} ${from}>*`, arrive(now));
  if (again.length > 0) scheduler.after(net.delay(), `net ${label} ${from}>*`, arrive(again));
}

function pairKey(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}
