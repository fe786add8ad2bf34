import type { VersionVector } from '#crdt';
import type { StatusReply } from '#coordination';

/** One member as the dashboard shows it. */
export interface DashboardMember {
  readonly replica: string;
  readonly mode: string;
  /** Stream messages behind the most advanced member (the coordinator reads no stream itself). */
  readonly lag: number;
  readonly streamSeq: number;
  readonly opLogRows: number;
  readonly outbox: number;
  readonly keys: number;
  /** Age of its latest heartbeat. */
  readonly ageMs: number;
}

/** One round on the timeline. */
export interface DashboardRound {
  readonly id: string;
  readonly outcome: string;
  readonly trigger: string;
  readonly code: string | null;
  readonly writesHeldMs: number;
  readonly totalMs: number;
  readonly startedAtMs: number;
  readonly members: readonly string[];
}

/** What one Server-Sent Event (and `/api/state`) carries. */
export interface DashboardState {
  readonly atMs: number;
  readonly coordinator: string;
  readonly role: 'leader' | 'standby';
  readonly leader: string | null;
  readonly epoch: number;
  readonly members: readonly DashboardMember[];
  /** Oldest first, for a timeline. */
  readonly rounds: readonly DashboardRound[];
  readonly running: string | null;
  /** Events written cluster-wide (the sum over origins of the highest seq any member applied). */
  readonly eventsTotal: number;
  /** Over the last interval; null on the first sample. */
  readonly writesPerSecond: number | null;
  readonly freeze: StatusReply['freeze'];
}

/** Events written cluster-wide, as far as the members have applied them. */
export function eventsWritten(applied: readonly VersionVector[]): number {
  const top = new Map<string, number>();
  for (const vv of applied) for (const [origin, seq] of Object.entries(vv)) top.set(origin, Math.max(top.get(origin) ?? 0, seq));
  let sum = 0;
  for (const seq of top.values()) sum += seq;
  return sum;
}

/**
 * Writes per second between two samples. A member that left takes its applied events
 * out of the sum; a drop is then reported as 0, not as a negative rate.
 */
export class WriteRate {
  private last: { total: number; atMs: number } | undefined;
  private rate: number | null = null;

  /** Samples closer than `intervalMsMin` to the previous one keep the previous rate (a page load must not skew it). */
  constructor(private readonly intervalMsMin = 500) {}

  /** Takes a sample; the rate since the previous one (null until there are two). */
  sample(total: number, atMs: number): number | null {
    const prev = this.last;
    if (prev && atMs - prev.atMs < this.intervalMsMin) return this.rate;
    this.last = { total, atMs };
    this.rate = prev ? Math.max(0, ((total - prev.total) * 1000) / (atMs - prev.atMs)) : null;
    return this.rate;
  }
}

/** Maps the coordinator's status to what the dashboard draws. */
export function dashboardState(s: StatusReply, atMs: number, rate: WriteRate): DashboardState {
  const head = Math.max(0, ...s.members.map((m) => m.streamSeq));
  const total = eventsWritten(s.members.map((m) => m.applied));
  return {
    atMs,
    coordinator: s.coordinator,
    role: s.isLeader ? 'leader' : 'standby',
    leader: s.leader,
    epoch: s.epoch,
    members: s.members
      .map((m) => ({ replica: m.replica, mode: m.mode, lag: head - m.streamSeq, streamSeq: m.streamSeq, opLogRows: m.opLogLength, outbox: m.outboxDepth, keys: m.keys, ageMs: m.ageMs }))
      .sort((a, b) => (a.replica < b.replica ? -1 : a.replica > b.replica ? 1 : 0)),
    rounds: [...s.lastRounds].reverse().map((r) => ({
      id: `${r.epoch}/${r.round}`,
      outcome: r.outcome,
      trigger: r.trigger,
      code: r.code ?? null,
      writesHeldMs: r.timings.writesHeldMs,
      totalMs: r.timings.totalMs,
      startedAtMs: r.startedAtMs,
      members: r.members,
    })),
    running: s.running ? `${s.running.epoch}/${s.running.round}` : null,
    eventsTotal: total,
    writesPerSecond: rate.sample(total, atMs),
    freeze: s.freeze,
  };
}
