import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Formatting of the cluster benchmark's table and its JSON results file. */

/** `1234567.8` → `1,234,568` (or with `digits` decimals). */
export function num(n: number, digits = 0): string {
  if (!Number.isFinite(n)) return 'n/a';
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** Milliseconds with a precision that suits their size. */
export function ms(n: number): string {
  if (!Number.isFinite(n)) return 'n/a';
  return n < 1 ? `${n.toFixed(3)} ms` : n < 100 ? `${n.toFixed(2)} ms` : `${n.toFixed(0)} ms`;
}

/** `ours / base` as `1.23x`. */
export function times(ours: number, base: number): string {
  return base > 0 && Number.isFinite(ours) ? `${(ours / base).toFixed(2)}x` : 'n/a';
}

/** A target's verdict: `met` or `MISSED` (capitals, so a missed one stands out). */
export function verdict(met: boolean): string {
  return met ? 'met' : 'MISSED';
}

/** Renders rows as a left-aligned text table with a rule under the header. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (c ?? '').padEnd(widths[i])).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** Writes `results` as `<dir>/cluster-<UTC date and time>.json`; returns the path. */
export function writeResults(dir: string, results: unknown, at = new Date()): string {
  mkdirSync(dir, { recursive: true });
  const stamp = at.toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
  const file = join(dir, `cluster-${stamp}.json`);
  writeFileSync(file, JSON.stringify(results, null, 2) + '\n');
  return file;
}
