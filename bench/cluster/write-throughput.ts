import type { BenchCluster, Reply } from './bench-cluster';
import { summarize, type LatencySummary } from './stats';

/**
 * Cluster write throughput: clients send batched `update`s (one request = one atomic batch
 * of `opsPerRequest` ops on one key) to every replica at once, with a bounded number of
 * requests in flight per replica, for a fixed time. Requests alternate between pn-counter
 * increments and or-set adds of fresh elements, over keys shared by all replicas (so
 * replicas apply each other's events on the same keys). Ops are counted, not requests,
 * and only when acknowledged. Afterwards the run waits until the replicas have converged,
 * and checks every key's value at every replica against what was acknowledged.
 */

/** Options of `measureWriteThroughput`. */
export interface ThroughputOptions {
  readonly ids: readonly string[];
  readonly durationMs: number;
  readonly opsPerRequest: number;
  readonly inFlightPerReplica: number;
  /** Keys of each type; every replica writes all of them. */
  readonly keysPerType: number;
  readonly convergeTimeoutMs: number;
  readonly requestTimeoutMs: number;
}

/** What the throughput run found. */
export interface ThroughputResult {
  readonly opsAcked: number;
  readonly requestsAcked: number;
  readonly errors: number;
  readonly firstError?: unknown;
  /** From the first request to the last acknowledgement. */
  readonly loadSeconds: number;
  readonly opsPerSec: number;
  /** From the last acknowledgement until every replica had applied everything. */
  readonly drainSeconds: number;
  /** From the first request until converged. */
  readonly totalSeconds: number;
  /** Ops over the time to convergence: the rate the whole cluster absorbed them at. */
  readonly convergedOpsPerSec: number;
  readonly requestLatency: LatencySummary;
  readonly perReplicaOps: Record<string, number>;
  /** Values at every replica equal each other and what was acknowledged. */
  readonly valuesChecked: boolean;
  readonly valueProblems: string[];
  readonly streamMessages: number;
}

/** Runs the load, waits for convergence and checks the values. */
export async function measureWriteThroughput(cluster: BenchCluster, o: ThroughputOptions): Promise<ThroughputResult> {
  const expectedCounter = new Map<string, number>();
  const expectedSetSize = new Map<string, number>();
  const perReplicaOps: Record<string, number> = {};
  const latencies: number[] = [];
  let opsAcked = 0;
  let requestsAcked = 0;
  let errors = 0;
  let firstError: unknown;
  let lastAckMs = 0;
  const increments = Array.from({ length: o.opsPerRequest }, () => ({ type: 'increment' }));

  const t0 = performance.now();
  const endMs = t0 + o.durationMs;
  const worker = async (id: string, w: number): Promise<void> => {
    for (let n = 0; performance.now() < endMs; n++) {
      // Worker w of replica id sends its n-th request; keys cycle so every key gets writes from everyone.
      const slot = n * o.inFlightPerReplica + w;
      const isCounter = slot % 2 === 0;
      const key = `${isCounter ? 'tp.counter' : 'tp.set'}.${(slot >> 1) % o.keysPerType}`;
      const body = isCounter
        ? { key, type: 'pn-counter', ops: increments }
        : { key, type: 'or-set', ops: Array.from({ length: o.opsPerRequest }, (_, j) => ({ type: 'add', value: `${id}-${slot}-${j}` })) };
      const s = performance.now();
      let reply: Reply;
      try {
        reply = await cluster.request(id, 'update', body, o.requestTimeoutMs);
      } catch (e) {
        reply = { ok: false, error: { code: 'NO_REPLY', message: String(e) } };
      }
      const now = performance.now();
      if (!reply.ok) {
        errors++;
        firstError ??= reply.error;
        continue;
      }
      latencies.push(now - s);
      lastAckMs = Math.max(lastAckMs, now);
      opsAcked += o.opsPerRequest;
      requestsAcked++;
      perReplicaOps[id] = (perReplicaOps[id] ?? 0) + o.opsPerRequest;
      if (isCounter) expectedCounter.set(key, (expectedCounter.get(key) ?? 0) + o.opsPerRequest);
      else expectedSetSize.set(key, (expectedSetSize.get(key) ?? 0) + o.opsPerRequest);
    }
  };
  await Promise.all(o.ids.flatMap((id) => Array.from({ length: o.inFlightPerReplica }, (_, w) => worker(id, w))));
  const { atMs: convergedMs, statuses } = await cluster.converged(o.convergeTimeoutMs);

  const loadSeconds = (lastAckMs - t0) / 1000;
  const totalSeconds = (convergedMs - t0) / 1000;
  const valueProblems = await checkValues(cluster, o.ids, expectedCounter, expectedSetSize, errors === 0);
  return {
    opsAcked,
    requestsAcked,
    errors,
    firstError,
    loadSeconds,
    opsPerSec: opsAcked / loadSeconds,
    drainSeconds: Math.max(0, (convergedMs - lastAckMs) / 1000),
    totalSeconds,
    convergedOpsPerSec: opsAcked / totalSeconds,
    requestLatency: summarize(latencies),
    perReplicaOps,
    valuesChecked: valueProblems.length === 0,
    valueProblems,
    streamMessages: Math.max(...statuses.map((s) => s.streamSeq)),
  };
}

/**
 * Reads every key at every replica: all must agree, and (when no request failed, so that
 * what was acknowledged is exactly what was applied) equal the acknowledged totals.
 */
async function checkValues(
  cluster: BenchCluster,
  ids: readonly string[],
  expectedCounter: ReadonlyMap<string, number>,
  expectedSetSize: ReadonlyMap<string, number>,
  exact: boolean,
): Promise<string[]> {
  const problems: string[] = [];
  const check = async (key: string, expected: number, measure: (value: unknown) => number) => {
    const replies = await Promise.all(ids.map((id) => cluster.request(id, 'get', { key }, 30_000)));
    const seen = replies.map((r) => (r.ok ? measure(r.value) : Number.NaN));
    if (seen.some((v) => v !== seen[0])) problems.push(`${key}: replicas disagree (${ids.map((id, i) => `${id}=${seen[i]}`).join(', ')})`);
    else if (exact && seen[0] !== expected) problems.push(`${key}: ${seen[0]} at every replica, but ${expected} were acknowledged`);
  };
  for (const [key, n] of expectedCounter) await check(key, n, (v) => (typeof v === 'number' ? v : Number.NaN));
  for (const [key, n] of expectedSetSize) await check(key, n, (v) => (Array.isArray(v) ? v.length : Number.NaN));
  return problems;
}
