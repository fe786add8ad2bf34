import type { NatsConnection } from '@nats-io/transport-node';
import { summarize, type LatencySummary } from '../cluster/stats';

/**
 * Closed-loop request load: `concurrency` clients on one connection, each sending its next
 * request as soon as the previous one is answered, for a fixed time after a warm-up. Each
 * request is timed from the call to the parsed reply (JSON both ways, as any client), so
 * every subject measured this way pays the same client-side costs.
 */

/** Options of `measureConcurrent`. */
export interface ConcurrentOptions {
  readonly subject: string;
  /** The body of client c's i-th request. */
  readonly body: (client: number, i: number) => unknown;
  readonly concurrency: number;
  readonly durationMs: number;
  readonly warmupMs: number;
  /** A reply not accepted (e.g. `ok: false`) counts as an error and is not timed. */
  readonly accept?: (reply: Record<string, unknown>) => boolean;
  readonly timeoutMs?: number;
}

/** What a closed-loop run found. */
export interface ConcurrentResult {
  readonly concurrency: number;
  readonly latency: LatencySummary;
  /** Accepted replies per second over the measured window. */
  readonly perSec: number;
  readonly errors: number;
  readonly firstError?: unknown;
  /** Every reply accepted from the first request to the last, warm-up and the tail included (what a CPU meter around the run saw served). */
  readonly answeredAll: number;
}

/** Runs the load; only requests sent after the warm-up and answered before the end are counted. */
export async function measureConcurrent(nc: NatsConnection, o: ConcurrentOptions): Promise<ConcurrentResult> {
  const timeoutMs = o.timeoutMs ?? 10_000;
  const samples: number[] = [];
  let errors = 0;
  let answeredAll = 0;
  let firstError: unknown;
  const t0 = performance.now();
  const measureFrom = t0 + o.warmupMs;
  const end = measureFrom + o.durationMs;
  const client = async (c: number): Promise<void> => {
    for (let i = 0; ; i++) {
      const sent = performance.now();
      if (sent >= end) return;
      let reply: Record<string, unknown>;
      try {
        const msg = await nc.request(o.subject, JSON.stringify(o.body(c, i)), { timeout: timeoutMs });
        reply = JSON.parse(msg.string()) as Record<string, unknown>;
      } catch (e) {
        reply = { ok: false, error: { code: 'NO_REPLY', message: String(e) } };
      }
      const done = performance.now();
      if (o.accept && !o.accept(reply)) {
        errors++;
        firstError ??= reply;
        continue;
      }
      answeredAll++;
      if (sent >= measureFrom && done <= end) samples.push(done - sent);
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, (_, c) => client(c)));
  return { concurrency: o.concurrency, latency: summarize(samples), perSec: samples.length / (o.durationMs / 1000), errors, firstError, answeredAll };
}
