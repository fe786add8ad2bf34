import type { BenchCluster } from '../cluster/bench-cluster';

/**
 * One pn-counter with one writer per replica: each writer sends `increment` updates (ack
 * local) to its own replica for a fixed time, with `inFlight` requests out at once (1: the
 * next increment only when the last was answered, as a compare-and-set loop must). The
 * CRDT's answer to the compare-and-set loop: no writer ever retries, and since an increment
 * needs no read of the current value, a writer may have several out at once, which a
 * compare-and-set writer cannot. Afterwards every replica must read the number of
 * acknowledged increments.
 */

/** What the contended counter run found. */
export interface CounterResult {
  readonly writers: number;
  /** Requests each writer had out at once. */
  readonly inFlight: number;
  readonly increments: number;
  readonly incrementsPerSec: number;
  readonly errors: number;
  readonly valuesChecked: boolean;
  readonly problem?: string;
}

/** Runs the writers, waits for convergence and checks every replica's value. */
export async function measureContendedCounter(cluster: BenchCluster, ids: readonly string[], key: string, ms: number, convergeTimeoutMs: number, inFlight = 1): Promise<CounterResult> {
  const body = { key, type: 'pn-counter', op: { type: 'increment' } };
  let increments = 0;
  let errors = 0;
  const end = performance.now() + ms;
  const t0 = performance.now();
  await Promise.all(
    ids.flatMap((id) =>
      Array.from({ length: inFlight }, async () => {
        while (performance.now() < end) {
          const r = await cluster.request(id, 'update', body).catch(() => ({ ok: false }));
          if (r.ok) increments++;
          else errors++;
        }
      }),
    ),
  );
  const seconds = (performance.now() - t0) / 1000;
  await cluster.converged(convergeTimeoutMs);
  const values = await Promise.all(ids.map((id) => cluster.request(id, 'get', { key }).then((r) => r.value)));
  const bad = values.some((v) => v !== increments);
  return {
    writers: ids.length,
    inFlight,
    increments,
    incrementsPerSec: increments / seconds,
    errors,
    valuesChecked: !bad,
    problem: bad ? `counter ${key}: ${ids.map((id, i) => `${id}=${String(values[i])}`).join(', ')}, ${increments} acknowledged` : undefined,
  };
}
