import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { REPLICA_MODES, type ReplicaMode } from '#protocol/heartbeat';
import type { ApplyResult, ReplicaObserver } from '#replication';

/**
 * A replica's Prometheus metrics (`GET /metrics`, issue 9), named `crdt_...`. The figures
 * come from the core's existing hooks, never from prom-client inside the core:
 * - requests and their latency: timed around `ReplicaCore.handle` by the controller;
 * - events applied: the core's `ReplicaObserver` port (it only watches);
 * - group-commit batches and sync time: timed around the store's `commit` (`timeCommits`);
 * - lag, causal buffer, outbox, op log, mode: read at scrape time from the core's status
 *   and the stream's last sequence (`ReplicaFigures`).
 */

/** What a scrape reads from the running replica. */
export interface ReplicaFigures {
  readonly mode: ReplicaMode;
  /** Last stream sequence processed. */
  readonly streamSeq: number;
  /** The stream's last sequence; undefined when the stream did not answer. */
  readonly streamLastSeq: number | undefined;
  /** Events waiting in the causal buffer for their causal past. */
  readonly causalBufferEvents: number;
  readonly outboxEvents: number;
  readonly opLogRows: number;
  readonly heldWrites: number;
  readonly keys: number;
}

/** Reads the figures (at scrape time). */
export type ReplicaFiguresSource = () => Promise<ReplicaFigures | undefined>;

/** The reply's code label: `OK`, or the error reply's stable code. */
export function replyCode(reply: unknown): string {
  if (typeof reply !== 'object' || reply === null) return 'OK';
  const r = reply as { ok?: unknown; error?: { code?: unknown } };
  if (r.ok === false) return typeof r.error?.code === 'string' ? r.error.code : 'ERROR';
  return 'OK';
}

/** Stream lag: how many stream messages this replica has not processed (0 when unknown or ahead). */
export function streamLag(f: Pick<ReplicaFigures, 'streamSeq' | 'streamLastSeq'>): number | undefined {
  return f.streamLastSeq === undefined ? undefined : Math.max(0, f.streamLastSeq - f.streamSeq);
}

const LATENCY_BUCKETS_S = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const BATCH_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000];
const SYNC_BUCKETS_S = [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

/** One replica process's metrics in their own registry. */
export class ReplicaMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'command' | 'code'>;
  private readonly latency: Histogram<'command'>;
  private readonly applied: Counter;
  private readonly refused: Counter;
  private readonly batchEvents: Histogram;
  private readonly syncSeconds: Histogram;
  private readonly onApplied = (r: ApplyResult): void => (r.ok ? this.applied.inc() : this.refused.inc());

  constructor(figures: ReplicaFiguresSource, labels: Record<string, string> = {}) {
    this.registry.setDefaultLabels(labels);
    const registers = [this.registry];
    this.requests = new Counter({ name: 'crdt_requests_total', help: 'Requests answered, by command and reply code (OK or the error code)', labelNames: ['command', 'code'], registers });
    this.latency = new Histogram({ name: 'crdt_request_duration_seconds', help: 'Time to answer a request, by command', labelNames: ['command'], buckets: LATENCY_BUCKETS_S, registers });
    this.applied = new Counter({ name: 'crdt_events_applied_total', help: 'Events applied to the key space (own and remote)', registers });
    this.refused = new Counter({ name: 'crdt_events_refused_total', help: 'Events the key space refused to apply', registers });
    this.batchEvents = new Histogram({ name: 'crdt_group_commit_events', help: 'Events per group commit', buckets: BATCH_BUCKETS, registers });
    this.syncSeconds = new Histogram({ name: 'crdt_group_commit_seconds', help: 'Time of one group commit (write and sync)', buckets: SYNC_BUCKETS_S, registers });

    // The gauges below are read together, once per scrape.
    let last: Promise<ReplicaFigures | undefined> | undefined;
    const read = (): Promise<ReplicaFigures | undefined> => {
      last ??= figures().finally(() => setImmediate(() => (last = undefined)));
      return last;
    };
    const gauge = (name: string, help: string, pick: (f: ReplicaFigures) => number | undefined) =>
      new Gauge({
        name,
        help,
        registers,
        async collect() {
          const f = await read();
          // Unknown (starting, or the stream did not answer) is NaN: a 0 would read as "no lag".
          this.set((f && pick(f)) ?? Number.NaN);
        },
      });
    gauge('crdt_stream_lag_messages', 'Stream messages not yet processed (NaN when the stream does not answer)', (f) => streamLag(f));
    gauge('crdt_stream_seq', 'Last stream sequence processed', (f) => f.streamSeq);
    gauge('crdt_causal_buffer_events', 'Events waiting in the causal buffer for their causal past', (f) => f.causalBufferEvents);
    gauge('crdt_outbox_events', 'Own events not yet in the stream', (f) => f.outboxEvents);
    gauge('crdt_oplog_rows', 'Events in the op log (since the last snapshot)', (f) => f.opLogRows);
    gauge('crdt_held_writes', 'Client writes held by a compaction round', (f) => f.heldWrites);
    gauge('crdt_keys', 'Keys in the key space', (f) => f.keys);
    new Gauge({
      name: 'crdt_replica_mode',
      help: 'The replica mode: 1 for the current one, 0 for the others',
      labelNames: ['mode'],
      registers,
      async collect() {
        const f = await read();
        for (const m of REPLICA_MODES) this.set({ mode: m }, f?.mode === m ? 1 : 0);
      },
    });
  }

  /** Counts one answered request and its latency. */
  request(command: string, reply: unknown, seconds: number): void {
    this.requests.inc({ command, code: replyCode(reply) });
    this.latency.observe({ command }, seconds);
  }

  /** Counts one group commit. */
  commit(events: number, seconds: number): void {
    this.batchEvents.observe(events);
    this.syncSeconds.observe(seconds);
  }

  /** The observer to bind to the core: counts applied and refused events (no allocation per event). */
  readonly observer: ReplicaObserver = {
    applying: () => this.onApplied,
    cleared: () => undefined,
  };

  /** The Prometheus text exposition. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  /** Its content type. */
  get contentType(): string {
    return this.registry.contentType;
  }
}
