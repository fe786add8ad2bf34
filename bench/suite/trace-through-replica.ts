import type { Trace } from '../bench-support';
import type { BenchCluster, Reply } from '../cluster/bench-cluster';

/**
 * The editing trace through the store: the edits go to one replica as `update`s of a
 * `text` key in batches (each edit one delete and/or one insert command, in order), a
 * window of batches in flight on one connection (the replica prepares them in arrival
 * order, so positions stay right). Timed from the first send until every replica reports
 * it has applied everything, then each replica's text must equal the trace's final text.
 */

/** Options of `measureTraceThroughReplica`. */
export interface TraceRunOptions {
  readonly origin: string;
  readonly ids: readonly string[];
  readonly key: string;
  readonly editsPerBatch: number;
  readonly inFlightMax: number;
  readonly convergeTimeoutMs: number;
  /** Edits of the trace used (all when undefined); the expected text is then that prefix's result. */
  readonly editsMax?: number;
}

/** What the trace run found. */
export interface TraceRunResult {
  readonly edits: number;
  readonly batches: number;
  readonly ackSeconds: number;
  readonly totalSeconds: number;
  /** Edits over the time until all replicas applied them. */
  readonly editsPerSec: number;
  readonly ackedEditsPerSec: number;
  readonly errors: number;
  readonly firstError?: unknown;
  readonly textsEqual: boolean;
  readonly problem?: string;
}

/** Sends the trace and checks the result at every replica. */
export async function measureTraceThroughReplica(cluster: BenchCluster, trace: Trace, expected: string, o: TraceRunOptions): Promise<TraceRunResult> {
  const edits = trace.edits.slice(0, o.editsMax ?? trace.edits.length);
  const batches: unknown[][] = [];
  for (let i = 0; i < edits.length; i += o.editsPerBatch) {
    const ops: unknown[] = [];
    for (const [pos, del, ins] of edits.slice(i, i + o.editsPerBatch)) {
      if (del > 0) ops.push({ type: 'delete', index: pos, count: del });
      if (ins.length > 0) ops.push({ type: 'insert', index: pos, text: ins });
    }
    batches.push(ops);
  }
  let errors = 0;
  let firstError: unknown;
  let next = 0;
  const t0 = performance.now();
  // A window of `inFlightMax` loops, each taking the next batch when its last one is answered.
  // Requests leave in the order `next` hands them out, on one connection, so they arrive in order.
  await Promise.all(
    Array.from({ length: o.inFlightMax }, async () => {
      while (next < batches.length) {
        const ops = batches[next++];
        const r: Reply = await cluster.request(o.origin, 'update', { key: o.key, type: 'text', ops }, 30_000).catch((e: unknown) => ({ ok: false, error: { code: 'NO_REPLY', message: String(e) } }));
        if (!r.ok) {
          errors++;
          firstError ??= r.error;
        }
      }
    }),
  );
  const acked = performance.now();
  await cluster.converged(o.convergeTimeoutMs, 5);
  const done = performance.now();
  const texts = await Promise.all(o.ids.map((id) => cluster.request(id, 'get', { key: o.key }, 30_000).then((r) => r.value)));
  const wrong = o.ids.filter((_, i) => texts[i] !== expected);
  const totalSeconds = (done - t0) / 1000;
  return {
    edits: edits.length,
    batches: batches.length,
    ackSeconds: (acked - t0) / 1000,
    totalSeconds,
    editsPerSec: edits.length / totalSeconds,
    ackedEditsPerSec: edits.length / ((acked - t0) / 1000),
    errors,
    firstError,
    textsEqual: wrong.length === 0,
    problem: wrong.length > 0 ? `text differs from the expected at ${wrong.join(', ')} (lengths ${texts.map((t) => (typeof t === 'string' ? t.length : 'n/a')).join(', ')}, expected ${expected.length})` : undefined,
  };
}
