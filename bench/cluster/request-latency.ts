import type { NatsConnection } from '@nats-io/transport-node';
import { summarize, type LatencySummary } from './stats';

/**
 * Sequential request/reply latency: one request in flight at a time, each timed from the
 * call to the parsed reply (JSON encode and decode included, the same for every subject
 * measured, so the figures compare). A warm-up runs first and is not counted.
 */

/** Options of `measureSequential`. */
export interface SequentialOptions {
  readonly subject: string;
  /** The body of the i-th request (JSON-encoded by the caller's side, like any client). */
  readonly body: (i: number) => unknown;
  readonly requests: number;
  readonly warmupRequests: number;
  /** A reply the caller does not accept (e.g. `ok: false`) is counted as an error, not timed. */
  readonly accept?: (reply: Record<string, unknown>) => boolean;
  readonly timeoutMs?: number;
}

/** What a sequential run found. */
export interface SequentialResult extends LatencySummary {
  readonly errors: number;
  /** The first refused reply, for the report. */
  readonly firstError?: unknown;
}

/** Runs the requests one after another and summarises their latencies. */
export async function measureSequential(nc: NatsConnection, o: SequentialOptions): Promise<SequentialResult> {
  const timeoutMs = o.timeoutMs ?? 10_000;
  const samples: number[] = [];
  let errors = 0;
  let firstError: unknown;
  for (let i = -o.warmupRequests; i < o.requests; i++) {
    const payload = JSON.stringify(o.body(i));
    const t0 = performance.now();
    const msg = await nc.request(o.subject, payload, { timeout: timeoutMs });
    const reply = JSON.parse(msg.string()) as Record<string, unknown>;
    const ms = performance.now() - t0;
    if (o.accept && !o.accept(reply)) {
      errors++;
      firstError ??= reply;
      continue;
    }
    if (i >= 0) samples.push(ms);
  }
  return { ...summarize(samples), errors, firstError };
}
