import type { Content, Run } from './run';

/** Runs per chunk, at most; a full chunk splits in two halves. */
const CHUNK_RUNS_MAX = 128;

/**
 * The runs of one replica ordered by clock, to find the run holding an element id in
 * O(log n). Runs of one replica never overlap, and their clocks only grow, so new runs are
 * appended; a split adds the right half just after the left one. The runs sit in sorted
 * chunks of at most `CHUNK_RUNS_MAX` (a B-tree of height two, like Yjs's per-client struct
 * arrays but without splicing one huge array): a lookup is two binary searches, an insert
 * touches one chunk, and the chunk list itself changes only once per `CHUNK_RUNS_MAX / 2`
 * inserts.
 */
export class ReplicaRuns<C extends Content> {
  private readonly chunks: Run<C>[][] = [];
  /** `firsts[i]` is the clock of `chunks[i][0]`. */
  private readonly firsts: number[] = [];

  /** @param replica the replica's id; runs reference this string, so it is stored once. */
  constructor(readonly replica: string) {}

  /** Number of runs. */
  get size(): number {
    let n = 0;
    for (const c of this.chunks) n += c.length;
    return n;
  }

  /** The run holding element `clock`, or null. */
  find(clock: number): Run<C> | null {
    const ci = this.chunkOf(clock);
    if (ci < 0) return null;
    const chunk = this.chunks[ci];
    const run = chunk[lastAtOrBefore(chunk, clock)];
    return clock < run.clock + run.len ? run : null;
  }

  /** The first run holding an element with a clock at or above `clock`, or null. */
  ceiling(clock: number): Run<C> | null {
    let ci = this.chunkOf(clock);
    if (ci < 0) return this.chunks.length > 0 ? this.chunks[0][0] : null;
    const chunk = this.chunks[ci];
    let i = lastAtOrBefore(chunk, clock);
    if (clock < chunk[i].clock + chunk[i].len) return chunk[i];
    i++;
    if (i < chunk.length) return chunk[i];
    ci++;
    return ci < this.chunks.length ? this.chunks[ci][0] : null;
  }

  /** Adds a run whose clock is above every run here. */
  append(run: Run<C>): void {
    const n = this.chunks.length;
    if (n === 0 || this.chunks[n - 1].length >= CHUNK_RUNS_MAX) {
      this.chunks.push([run]);
      this.firsts.push(run.clock);
    } else {
      this.chunks[n - 1].push(run);
    }
  }

  /** Adds `run` right after `left` in clock order (the right half of a split). */
  insertAfter(left: Run<C>, run: Run<C>): void {
    const ci = this.chunkOf(left.clock);
    const chunk = this.chunks[ci];
    chunk.splice(lastAtOrBefore(chunk, left.clock) + 1, 0, run);
    if (chunk.length > CHUNK_RUNS_MAX) {
      const upper = chunk.splice(chunk.length >>> 1);
      this.chunks.splice(ci + 1, 0, upper);
      this.firsts.splice(ci + 1, 0, upper[0].clock);
    }
  }

  /** Removes a run (it was joined into a neighbour). */
  remove(run: Run<C>): void {
    const ci = this.chunkOf(run.clock);
    const chunk = this.chunks[ci];
    const i = lastAtOrBefore(chunk, run.clock);
    if (chunk[i] !== run) throw new Error(`id index: run ${run.clock}@${this.replica} is not indexed`);
    chunk.splice(i, 1);
    if (chunk.length === 0) {
      this.chunks.splice(ci, 1);
      this.firsts.splice(ci, 1);
    } else if (i === 0) {
      this.firsts[ci] = chunk[0].clock;
    }
  }

  /** Replaces the contents with `runs`, which must be sorted by clock. */
  build(runs: readonly Run<C>[]): void {
    this.chunks.length = 0;
    this.firsts.length = 0;
    const half = CHUNK_RUNS_MAX >>> 1;
    for (let i = 0; i < runs.length; i += half) {
      const chunk = runs.slice(i, i + half);
      this.chunks.push(chunk);
      this.firsts.push(chunk[0].clock);
    }
  }

  /** Calls `f` on every run in clock order. */
  forEach(f: (run: Run<C>) => void): void {
    for (const chunk of this.chunks) for (const run of chunk) f(run);
  }

  // Index of the last chunk whose first clock is at or below `clock`; -1 when none.
  private chunkOf(clock: number): number {
    const firsts = this.firsts;
    let lo = 0;
    let hi = firsts.length - 1;
    if (hi < 0 || clock < firsts[0]) return -1;
    // The newest chunk answers most lookups: typing touches recent runs.
    if (clock >= firsts[hi]) return hi;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (firsts[mid] <= clock) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}

// Index of the last run of a non-empty chunk whose clock is at or below `clock` (0 when none).
function lastAtOrBefore<C extends Content>(chunk: readonly Run<C>[], clock: number): number {
  let lo = 0;
  let hi = chunk.length - 1;
  if (clock >= chunk[hi].clock) return hi;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (chunk[mid].clock <= clock) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
