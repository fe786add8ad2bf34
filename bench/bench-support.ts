import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { gunzipSync } from 'node:zlib';

/**
 * Helpers of the benchmarks: the editing trace, garbage collection on demand, and
 * measuring time and heap around a run.
 */

/** Attribution of the editing trace, printed with every figure measured on it (CC BY 4.0). */
export const TRACE_ATTRIBUTION =
  'Editing trace: the LaTeX source of "A Conflict-Free Replicated JSON Datatype" typed keystroke by keystroke, ' +
  'by Martin Kleppmann and the Automerge contributors, CC BY 4.0 (automerge/automerge-perf, edit-history/paper.json.gz).';

/** One edit: delete `del` characters at `pos`, then insert `text` there. */
export type Edit = [pos: number, del: number, text: string];

/** The editing trace and the text it must produce. */
export interface Trace {
  readonly edits: Edit[];
  readonly finalText: string;
  readonly path: string;
}

/**
 * Reads the editing trace: `$CRDT_EDITING_TRACE`, else `shared/data/editing-trace.json.gz`
 * next to the repository (from `dist/bench` or from the working directory).
 */
export function loadTrace(): Trace {
  const candidates = [
    process.env.CRDT_EDITING_TRACE,
    resolve(__dirname, '../../../shared/data/editing-trace.json.gz'),
    resolve(process.cwd(), '../shared/data/editing-trace.json.gz'),
  ].filter((p): p is string => p !== undefined);
  const path = candidates.find((p) => existsSync(p));
  if (path === undefined) throw new Error(`editing trace not found (tried ${candidates.join(', ')}); set CRDT_EDITING_TRACE to its path`);
  const data = JSON.parse(gunzipSync(readFileSync(path)).toString('utf8')) as { edits: Edit[]; finalText: string };
  return { edits: data.edits, finalText: data.finalText, path };
}

// `--expose-gc` can be switched on at run time; the function then lives in a new context.
let collect: (() => void) | undefined;
try {
  setFlagsFromString('--expose-gc');
  collect = runInNewContext('gc') as () => void;
} catch {
  collect = (globalThis as { gc?: () => void }).gc;
}

/** True when a full garbage collection can be forced (so heap figures are live data only). */
export const canCollect = collect !== undefined;

/** Forces full garbage collections (a no-op when not available). */
export function fullGc(): void {
  if (collect) for (let i = 0; i < 3; i++) collect();
}

/** Heap in use now: JavaScript heap, or JavaScript heap plus memory outside it (WebAssembly). */
export function heapNow(withExternal = false): number {
  const m = process.memoryUsage();
  return m.heapUsed + (withExternal ? m.external : 0);
}

/** What `measure` found. */
export interface Measured<I> {
  /** What `inspect` returned about the result. */
  readonly info: I;
  readonly ms: number;
  /**
   * Heap the result keeps alive: heap in use (after full collections) with the result,
   * minus heap in use once it is dropped. JIT code and other one-off costs of the run do
   * not count, whichever library runs first.
   */
  readonly retainedBytes: number;
  /** Growth of heap in use from before the run to after it, result alive (one-off costs included). */
  readonly growthBytes: number;
  /** Highest heap in use sampled during the run (garbage included), above the start. */
  readonly peakBytes: number;
}

/**
 * Runs `work` once, timing it, and measures the heap. `work` gets a `sample` callback to
 * call now and then, which tracks the peak heap during the run; `inspect` looks at the
 * result (checks it, sizes its encoding) before it is dropped.
 */
export function measure<T, I>(work: (sample: () => void) => T, inspect: (result: T) => I, withExternal = false): Measured<I> {
  fullGc();
  const before = heapNow(withExternal);
  let peak = before;
  const sample = () => {
    const h = heapNow(withExternal);
    if (h > peak) peak = h;
  };
  const t0 = performance.now();
  let result: T | undefined = work(sample);
  const ms = performance.now() - t0;
  sample();
  fullGc();
  const alive = heapNow(withExternal);
  const info = inspect(result);
  result = undefined;
  fullGc();
  const dropped = heapNow(withExternal);
  // WebAssembly memory never shrinks, so dropping a document frees nothing measurable:
  // there, the growth over the run is the best figure for what the result holds.
  const retainedBytes = withExternal ? alive - before : alive - dropped;
  return { info, ms, retainedBytes, growthBytes: alive - before, peakBytes: peak - before };
}

/** `1234567` → `1,234,567`. */
export function num(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** Bytes as MB with two decimals. */
export function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(2)} MB`;
}

/** A ratio ours / theirs, as `0.05x`. */
export function ratio(ours: number, theirs: number): string {
  return theirs > 0 ? `${(ours / theirs).toFixed(3)}x` : 'n/a';
}
