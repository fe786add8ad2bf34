/**
 * Summaries of latency samples: sorted once, read by nearest-rank percentiles (the value
 * below which p% of the samples fall, no interpolation, so every figure is one that was
 * really measured).
 */

/** What a set of latency samples (milliseconds) comes to. */
export interface LatencySummary {
  readonly count: number;
  readonly minMs: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly meanMs: number;
}

/** Nearest-rank percentile of samples sorted ascending; NaN when there are none. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** Summarises latency samples in milliseconds (the input is not modified). */
export function summarize(samplesMs: readonly number[]): LatencySummary {
  const sorted = Float64Array.from(samplesMs).sort();
  const arr = Array.from(sorted);
  let sum = 0;
  for (const s of arr) sum += s;
  return {
    count: arr.length,
    minMs: arr.length ? arr[0] : Number.NaN,
    p50Ms: percentile(arr, 50),
    p90Ms: percentile(arr, 90),
    p99Ms: percentile(arr, 99),
    maxMs: arr.length ? arr[arr.length - 1] : Number.NaN,
    meanMs: arr.length ? sum / arr.length : Number.NaN,
  };
}
