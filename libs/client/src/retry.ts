/**
 * Jittered exponential back-off, bounded in attempts and in the longest single pause
 * ("full jitter": a pause is uniform in [0, min(max, base·2^attempt)]). Pure: randomness
 * comes in as a function, so tests pin it.
 */

/** How a request is retried (units last). */
export interface RetryPolicy {
  /** Most attempts in all, the first included (1 = no retry). */
  readonly attemptsMax: number;
  /** Pause bound before the second attempt, ms; doubles each attempt. */
  readonly backoffMsBase: number;
  /** Longest single pause, ms. */
  readonly backoffMsMax: number;
}

/** Defaults: up to 5 attempts, pauses of at most 50, 100, 200, 400 ms (under 1 s of pauses in all). */
export const RETRY_DEFAULTS: RetryPolicy = { attemptsMax: 5, backoffMsBase: 50, backoffMsMax: 2_000 };

/** Largest `attemptsMax` accepted. */
export const RETRY_ATTEMPTS_MAX = 20;

/** The pause before attempt `attempt + 1` (attempt counts from 1), ms. */
export function backoffMs(policy: RetryPolicy, attempt: number, random: () => number): number {
  const cap = Math.min(policy.backoffMsMax, policy.backoffMsBase * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * cap);
}

/** Checks a policy: whole numbers, attempts 1..RETRY_ATTEMPTS_MAX. */
export function checkRetryPolicy(p: RetryPolicy): RetryPolicy {
  if (!Number.isInteger(p.attemptsMax) || p.attemptsMax < 1 || p.attemptsMax > RETRY_ATTEMPTS_MAX) {
    throw new RangeError(`retry.attemptsMax must be a whole number from 1 to ${RETRY_ATTEMPTS_MAX}`);
  }
  if (!(p.backoffMsBase >= 0) || !(p.backoffMsMax >= 0)) throw new RangeError('retry back-off bounds must be non-negative');
  return p;
}
