/**
 * Whether `atMs` lies less than `windowMs` before `nowMs`, both read from the wall clock.
 * A time after `nowMs` is not recent: the clock went back since it was read (a step, or a
 * far skew corrected), and a throttle timed from it would otherwise hold for as long as
 * the step, up to years (seed 801: a replica refused every resend request for 16 minutes
 * of wall-clock time after its clock was set back).
 */
export function recent(nowMs: number, atMs: number, windowMs: number): boolean {
  return atMs <= nowMs && nowMs - atMs < windowMs;
}
