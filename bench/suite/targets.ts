/**
 * The targets of issue 11, each a ratio (or a figure) measured in one run: what was
 * measured, what it is compared with, and whether the target is met.
 */

/** One target's row in the report. */
export interface TargetRow {
  readonly target: string;
  /** The figure measured, as shown. */
  readonly figure: string;
  /** What it is compared with, as shown ('' for an absolute target). */
  readonly baseline: string;
  /** figure / baseline (or the figure itself for an absolute target). */
  readonly ratio: number;
  /** How the ratio is judged, e.g. `<= 1.5x` or `>= 60,000/s`. */
  readonly goal: string;
  /** undefined when not measured in this run. */
  readonly met: boolean | undefined;
  /** The 1-minute load average when the figure was measured. */
  readonly load: number;
}

/** A ratio target: `ratio` compared with `bound`. */
export function ratioTarget(target: string, figure: string, baseline: string, value: number, base: number, op: '<=' | '>=', bound: number, load: number): TargetRow {
  const ratio = value / base;
  const met = Number.isFinite(ratio) ? (op === '<=' ? ratio <= bound : ratio >= bound) : undefined;
  return { target, figure, baseline, ratio, goal: `${op} ${bound}x`, met, load };
}

/** An absolute target: `value` compared with `bound` (unit in `unit`). */
export function absoluteTarget(target: string, figure: string, value: number, op: '<' | '<=' | '>=', bound: number, unit: string, load: number): TargetRow {
  const met = Number.isFinite(value) ? (op === '<' ? value < bound : op === '<=' ? value <= bound : value >= bound) : undefined;
  return { target, figure, baseline: '', ratio: value, goal: `${op} ${bound.toLocaleString('en-US')} ${unit}`, met, load };
}

/** A target this run does not measure, with the reason. */
export function notMeasured(target: string, why: string): TargetRow {
  return { target, figure: why, baseline: '', ratio: Number.NaN, goal: '', met: undefined, load: Number.NaN };
}
