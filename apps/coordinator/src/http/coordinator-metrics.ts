import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RoundResult, StatusReply } from '#coordination';

/**
 * A coordinator's Prometheus metrics (`GET /metrics`, issue 9), named `crdt_...`:
 * - rounds this coordinator ran, committed or aborted by code, with histograms of their
 *   write-hold time (the "freeze time") and total time: fed by the round results the
 *   coordinator emits (`round`), never by prom-client inside libs/coordination;
 * - leadership, epoch and live members: read from `Coordinator.status()` at scrape time.
 *
 * Only the coordinator that ran a round counts it, so summing over coordinators counts
 * each round once.
 */

/** Reads the coordinator's status (at scrape time); undefined before the runtime exists. */
export type CoordinatorStatusSource = () => StatusReply | undefined;

/** The `code` label of a round: `none` for a committed one, else its first failure's code. */
export function roundCode(r: Pick<RoundResult, 'outcome' | 'code'>): string {
  return r.outcome === 'committed' ? 'none' : (r.code ?? 'UNKNOWN');
}

const HOLD_BUCKETS_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** One coordinator process's metrics in their own registry. */
export class CoordinatorMetrics {
  readonly registry = new Registry();
  private readonly rounds: Counter<'outcome' | 'code' | 'trigger'>;
  private readonly held: Histogram<'outcome'>;
  private readonly total: Histogram<'outcome'>;

  constructor(status: CoordinatorStatusSource, labels: Record<string, string> = {}) {
    this.registry.setDefaultLabels(labels);
    const registers = [this.registry];
    this.rounds = new Counter({ name: 'crdt_rounds_total', help: 'Compaction rounds this coordinator ran, by outcome, abort code (none when committed) and trigger', labelNames: ['outcome', 'code', 'trigger'], registers });
    this.held = new Histogram({ name: 'crdt_round_writes_held_seconds', help: 'How long a round held client writes (first freeze to resume), rounds that froze anyone', labelNames: ['outcome'], buckets: HOLD_BUCKETS_S, registers });
    this.total = new Histogram({ name: 'crdt_round_duration_seconds', help: 'Round start to end (resume confirmed, stream purged), rounds that froze anyone', labelNames: ['outcome'], buckets: HOLD_BUCKETS_S, registers });
    const gauge = (name: string, help: string, pick: (s: StatusReply) => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          const s = status();
          // NaN before the runtime exists: a 0 would read as "standby" or "no members".
          this.set(s ? pick(s) : Number.NaN);
        },
      });
    gauge('crdt_coordinator_leader', 'Whether this coordinator holds the leader lease (1) or stands by (0)', (s) => (s.isLeader ? 1 : 0));
    gauge('crdt_coordinator_epoch', 'The leadership epoch this coordinator knows', (s) => s.epoch);
    gauge('crdt_coordinator_members', 'Replicas heard from recently', (s) => s.members.length);
    gauge('crdt_coordinator_round_running', 'Whether a round runs now', (s) => (s.running ? 1 : 0));
  }

  /** Counts one round this coordinator ran (or refused to start). */
  round(r: RoundResult): void {
    this.rounds.inc({ outcome: r.outcome, code: roundCode(r), trigger: r.trigger });
    // A round that never froze anyone held nothing: keep it out of the hold-time histograms.
    if (r.timings.totalMs > 0 || r.outcome === 'committed') {
      this.held.observe({ outcome: r.outcome }, r.timings.writesHeldMs / 1000);
      this.total.observe({ outcome: r.outcome }, r.timings.totalMs / 1000);
    }
  }

  /** The Prometheus text exposition. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
