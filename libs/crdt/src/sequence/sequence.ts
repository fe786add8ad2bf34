import type { Json } from '../json';
import { isNat, isNonEmptyString, isObject } from '../json';
import { compareStrings } from '../encoding/canonical-json';
import { err, ok, type Result } from '../result';
import { ReplicaRuns } from './id-index';
import { PositionTree } from './position-tree';
import { outranks, Run, type Content } from './run';

/** An element's id on the wire: the inserting replica and the element's clock. */
export type ElementId = [replica: string, clock: number];

/** Consecutive element ids of one replica on the wire: `count` clocks from `clock`. */
export type IdSpan = [replica: string, clock: number, count: number];

/** How the engine handles one kind of content (strings for text, value arrays for lists). */
export interface ContentKind<C extends Content> {
  /** Number of elements. */
  length(c: C): number;
  /** Elements `from` (inclusive) to `to` (exclusive, default: the end), as new content. */
  slice(c: C, from: number, to?: number): C;
  /** Appends `more` to the content of `run` (in place when the content is mutable). */
  append(run: Run<C>, more: C): void;
  /** A copy the engine may own and mutate. */
  own(c: C): C;
  /** Checks one run's content in an encoding; undefined when malformed. */
  decode(v: unknown): C | undefined;
  /** The content as it appears in an encoding. */
  encode(c: C): Json;
}

/** One encoded run: replica (index into `replicas`), first clock, content or tombstone length. */
export type EncodedRun = [replica: number, clock: number, content: Json];

/**
 * The sequence engine shared by `text` and `list`: RGA (Roh et al., "Replicated abstract
 * data types", JPDC 2011) over runs of elements.
 *
 * - Every element has a unique id `(replica, clock)`; an insert of k elements takes k
 *   consecutive clocks. The first clock of an op is one above every clock the state has
 *   seen (`nextClock`): a Lamport clock (Lamport, 1978), as RGA requires, so an element's
 *   clock is above its left origin's and above everything inserted before it causally.
 *   The clock is not the op's HLC reading on purpose: HLC readings jump between two
 *   keystrokes (4,096 per millisecond), while Lamport clocks of consecutive typing are
 *   consecutive, which is what lets runs merge (as Yjs's per-client clocks do). Ids stay
 *   unique because a replica's state holds every op it published itself (replica-core
 *   applies its own event and makes it durable before publishing it), the assumption
 *   or-set's dot counters make too.
 * - An insert names the element it goes after (`after`, or null for the start). To
 *   integrate it, skip the elements right after `after` that outrank it (greater
 *   `(clock, replica)`: inserted concurrently at the same place, or after such an element),
 *   and place it before the first one that does not. The elements that follow an element
 *   form its subtree in RGA's tree, every descendant outranking its ancestor, so the scan
 *   stops at the first element with a smaller key. Concurrent inserts at one place
 *   therefore end up in descending key order on every replica, and text typed forwards at
 *   one place (in one op or key by key) is never interleaved with text typed concurrently
 *   at the same place. (RGA can interleave text typed backwards, cursor moved left after
 *   each key: Kleppmann et al., "Interleaving anomalies in collaborative text editors",
 *   PaPoC 2019.)
 * - A delete names element ids; deleted elements stay as tombstone runs (length only) so
 *   that concurrent inserts can still find them as `after`.
 * - When the new op's clock is above every clock in the state (always, for local edits),
 *   nothing can outrank it, so no scan is needed: a local edit costs one splay-tree lookup.
 *
 * Indexes: a splay tree over runs in document order with visible counts (by index) and, per
 * replica, runs by clock (by id). A lookup hint remembers the run touched last, so the op
 * that `prepare` just built is applied without any search. Lookups made by `prepare`
 * reshape the splay tree and set the hint; neither shows in values or encodings, so
 * `prepare` still leaves the state (what it is, not how it is stored) untouched.
 */
export class Sequence<C extends Content> {
  private readonly tree = new PositionTree<C>();
  /** Per replica: its runs by clock. */
  private readonly ids = new Map<string, ReplicaRuns<C>>();
  /** Per replica: the last clock applied (its ops arrive in causal order, so clocks grow). */
  private readonly applied = new Map<string, number>();
  /** The greatest clock applied from any replica; 0 when none (clocks start at 1). */
  private maxClock = 0;
  /** The run touched last: a cache, never part of the value or the encoding. */
  private hint: Run<C> | null = null;

  constructor(readonly kind: ContentKind<C>) {}

  /** Number of visible elements. */
  get length(): number {
    return this.tree.length;
  }

  /** The last clock applied from `replica`, or 0. */
  appliedClock(replica: string): number {
    const c = this.applied.get(replica);
    return c === undefined ? 0 : c;
  }

  /** The first clock of a new op: one above every clock applied here (a Lamport clock). */
  nextClock(): number {
    return this.maxClock + 1;
  }

  /** The id of visible element `index` (0 ≤ index < length). */
  idAt(index: number): ElementId {
    const run = this.tree.find(index);
    this.hint = run;
    return [run.replica, run.clock + this.tree.offset];
  }

  /** The ids of visible elements `index` to `index + count - 1`, as spans in document order. */
  spansAt(index: number, count: number): IdSpan[] {
    const spans: IdSpan[] = [];
    let run: Run<C> = this.tree.find(index);
    this.hint = run;
    let off = this.tree.offset;
    let left = count;
    for (;;) {
      const take = Math.min(run.len - off, left);
      const clock = run.clock + off;
      const last = spans.length > 0 ? spans[spans.length - 1] : undefined;
      if (last !== undefined && last[0] === run.replica && last[1] + last[2] === clock) last[2] += take;
      else spans.push([run.replica, clock, take]);
      left -= take;
      if (left === 0) return spans;
      do run = this.tree.next(run)!;
      while (run.content === null);
      off = 0;
    }
  }

  /** True when element `(replica, clock)` is in the state (visible or tombstone). */
  has(replica: string, clock: number): boolean {
    return this.locate(replica, clock) !== null;
  }

  /**
   * Integrates an insert of `content` with first id `(replica, clock)` after element
   * `after` (null: at the start). A duplicate (a clock this replica's ops already reached)
   * changes nothing. `after` must be in the state (validateOp checks it).
   */
  insert(replica: string, clock: number, after: ElementId | null, content: C): void {
    if (clock <= this.appliedClock(replica)) return;
    const count = this.kind.length(content);
    let prev: Run<C> | null = null;
    let scan = clock <= this.maxClock; // otherwise nothing can outrank the new elements
    if (after !== null) {
      prev = this.locate(after[0], after[1]);
      if (prev === null) return;
      const off = after[1] - prev.clock;
      if (off < prev.len - 1) {
        // The next element is inside prev's run; its clock is above `after`'s, and so is
        // every later one in the run, so they all outrank the new elements or none does.
        if (!scan || !outranks(prev.clock + off + 1, prev.replica, clock, replica)) {
          this.split(prev, off + 1);
          scan = false;
        }
      }
    }
    if (scan) {
      let next = prev === null ? this.tree.first() : this.tree.next(prev);
      while (next !== null && outranks(next.clock, next.replica, clock, replica)) {
        prev = next;
        next = this.tree.next(next);
      }
    }
    if (prev !== null && prev.content !== null && prev.replica === replica && prev.clock + prev.len === clock) {
      // Consecutive typing: the new elements extend the run they follow.
      this.kind.append(prev, content);
      prev.len += count;
      this.tree.splay(prev);
      this.hint = prev;
    } else {
      const index = this.replicaRuns(replica);
      const run = new Run<C>(index.replica, clock, count, this.kind.own(content));
      this.tree.insertAfter(prev, run);
      index.append(run);
      this.hint = run;
    }
    const last = clock + count - 1;
    this.applied.set(replica, last);
    if (last > this.maxClock) this.maxClock = last;
  }

  /** Deletes the elements of one span; ids already deleted, or dropped by compaction, are skipped. */
  delete(replica: string, clock: number, count: number): void {
    const index = this.ids.get(replica);
    if (index === undefined) return;
    const end = clock + count;
    let c = clock;
    while (c < end) {
      let run = this.locate(replica, c);
      if (run === null) {
        run = index.ceiling(c);
        if (run === null || run.clock >= end) return;
        c = run.clock;
      }
      const stop = Math.min(end, run.clock + run.len);
      if (run.content !== null) this.hide(run, c - run.clock, stop - run.clock);
      c = stop;
    }
  }

  /** Turns every visible element into a tombstone (a key-level delete: later inserts may still name them as `after`). */
  hideAll(): void {
    if (this.length === 0) return;
    for (const [replica, clock, count] of this.spansAt(0, this.length)) this.delete(replica, clock, count);
    this.hint = null;
  }

  /** Calls `f` on the content of every visible run, in document order. */
  forEachVisible(f: (content: C) => void): void {
    for (let x = this.tree.first(); x !== null; x = this.tree.next(x)) if (x.content !== null) f(x.content);
  }

  /**
   * Drops every tombstone and joins the runs that become neighbours. Safe only at a cut
   * that every replica has applied, with no op in flight that names a dropped tombstone
   * as `after` (see the types' docs). Clocks of later ops stay above every clock ever
   * applied (`applied` is kept), which is what makes the remaining elements behave as a
   * chain of older siblings for RGA: everything inserted later outranks them.
   */
  compact(): void {
    const runs: Run<C>[] = [];
    let last: Run<C> | null = null;
    for (let x = this.tree.first(); x !== null; x = this.tree.next(x)) {
      if (x.content === null) continue;
      if (last !== null && last.replica === x.replica && last.clock + last.len === x.clock) {
        this.kind.append(last, x.content); // the old runs are dropped, so appending in place is safe
        last.len += x.len;
        continue;
      }
      last = new Run<C>(x.replica, x.clock, x.len, x.content);
      runs.push(last);
    }
    this.rebuild(runs);
  }

  /** A deep copy. */
  clone(): Sequence<C> {
    const copy = new Sequence<C>(this.kind);
    const runs: Run<C>[] = [];
    for (let x = this.tree.first(); x !== null; x = this.tree.next(x)) {
      runs.push(new Run<C>(x.replica, x.clock, x.len, x.content === null ? null : this.kind.own(x.content)));
    }
    for (const [r, c] of this.applied) copy.applied.set(r, c);
    copy.maxClock = this.maxClock;
    copy.rebuild(runs);
    return copy;
  }

  /**
   * The canonical encoding: replicas sorted, each with its last applied clock, and the
   * runs in document order, joined as far as possible (so how the runs happen to be split
   * on one replica does not show). A visible run carries its content, a tombstone run its
   * length. For a text where "a" typed "hello", deleted "l" and "b" typed "!" at the end:
   * `{"replicas":["a","b"],"clocks":[5,6],"runs":[[0,1,"hel"],[0,4,1],[0,5,"o"],[1,6,"!"]]}`.
   */
  encode(): { replicas: string[]; clocks: number[]; runs: EncodedRun[] } {
    const replicas = [...this.applied.keys()].sort(compareStrings);
    const slot = new Map<string, number>();
    replicas.forEach((r, i) => slot.set(r, i));
    const runs: EncodedRun[] = [];
    let cur: Run<C> | null = null;
    let parts: C[] = [];
    let len = 0;
    const flush = () => {
      if (cur === null) return;
      let content: Json;
      if (cur.content === null) content = len;
      else {
        let joined = parts[0];
        if (parts.length > 1) {
          const tmp = new Run<C>(cur.replica, 0, 0, this.kind.own(parts[0]));
          for (let i = 1; i < parts.length; i++) this.kind.append(tmp, parts[i]);
          joined = tmp.content!;
        }
        content = this.kind.encode(joined);
      }
      runs.push([slot.get(cur.replica)!, cur.clock, content]);
    };
    for (let x = this.tree.first(); x !== null; x = this.tree.next(x)) {
      if (cur !== null && cur.replica === x.replica && cur.clock + len === x.clock && (cur.content === null) === (x.content === null)) {
        len += x.len;
        if (x.content !== null) parts.push(x.content);
        continue;
      }
      flush();
      cur = x;
      len = x.len;
      parts = x.content === null ? [] : [x.content];
    }
    flush();
    return { replicas, clocks: replicas.map((r) => this.applied.get(r)!), runs };
  }

  /** Rebuilds a sequence from `encode`'s output, treating it as hostile input. */
  static decode<C extends Content>(kind: ContentKind<C>, encoded: unknown, what: string): Result<Sequence<C>> {
    const bad = (why: string) => err('BAD_ENCODING', `a ${what} encoding is {"replicas":[sorted ids],"clocks":[last clock per replica],"runs":[[replica index,clock,content or tombstone length],...]}: ${why}`);
    if (!isObject(encoded)) return bad('not an object');
    const { replicas, clocks, runs } = encoded;
    if (!Array.isArray(replicas) || !Array.isArray(clocks) || !Array.isArray(runs)) return bad('missing arrays');
    if (clocks.length !== replicas.length) return bad('"clocks" and "replicas" differ in length');
    const seq = new Sequence<C>(kind);
    for (let i = 0; i < replicas.length; i++) {
      const r: unknown = replicas[i];
      if (!isNonEmptyString(r)) return bad(`replica ${i} is not a non-empty string`);
      if (i > 0 && !(replicas[i - 1] < r)) return bad('replicas are not sorted and unique');
      if (!isNat(clocks[i]) || (clocks[i] as number) < 1) return bad(`clock ${i} is not a positive integer`);
      seq.applied.set(r, clocks[i] as number);
      if ((clocks[i] as number) > seq.maxClock) seq.maxClock = clocks[i] as number;
    }
    const list: Run<C>[] = [];
    for (let i = 0; i < runs.length; i++) {
      const e: unknown = runs[i];
      if (!Array.isArray(e) || e.length !== 3) return bad(`run ${i} is not a triple`);
      const [ri, clock, body] = e as unknown[];
      if (!isNat(ri) || ri >= replicas.length) return bad(`run ${i} names no replica`);
      if (!isNat(clock) || clock < 1) return bad(`run ${i} has a bad clock`);
      let content: C | null = null;
      let len: number;
      if (typeof body === 'number') {
        if (!isNat(body) || body < 1) return bad(`run ${i} has a bad tombstone length`);
        len = body;
      } else {
        const c = kind.decode(body);
        if (c === undefined || kind.length(c) < 1) return bad(`run ${i} has bad content`);
        content = c;
        len = kind.length(c);
      }
      const replica = replicas[ri] as string;
      if (clock > (clocks[ri] as number) || len - 1 > (clocks[ri] as number) - clock) return bad(`run ${i} has clocks above its replica's last applied clock`);
      const prev = list.length > 0 ? list[list.length - 1] : undefined;
      if (prev !== undefined && prev.replica === replica && prev.clock + prev.len === clock && (prev.content === null) === (content === null)) {
        if (content !== null) kind.append(prev, content);
        prev.len += len;
      } else {
        list.push(new Run<C>(replica, clock, len, content));
      }
    }
    const overlap = seq.rebuild(list);
    if (overlap !== undefined) return bad(overlap);
    return ok(seq);
  }

  // Replaces the tree and the id indexes with `runs` (document order); returns a message
  // when two runs share an element id.
  private rebuild(runs: Run<C>[]): string | undefined {
    this.hint = null;
    this.tree.build(runs);
    this.ids.clear();
    const byReplica = new Map<string, Run<C>[]>();
    for (const run of runs) {
      let l = byReplica.get(run.replica);
      if (l === undefined) byReplica.set(run.replica, (l = []));
      l.push(run);
    }
    for (const [replica, list] of byReplica) {
      list.sort((a, b) => a.clock - b.clock);
      for (let i = 1; i < list.length; i++) {
        if (list[i - 1].clock + list[i - 1].len > list[i].clock) return `element ${list[i].clock}@${replica} appears twice`;
      }
      const index = new ReplicaRuns<C>(replica);
      index.build(list);
      this.ids.set(index.replica, index);
    }
    return undefined;
  }

  private replicaRuns(replica: string): ReplicaRuns<C> {
    let index = this.ids.get(replica);
    if (index === undefined) this.ids.set(replica, (index = new ReplicaRuns<C>(replica)));
    return index;
  }

  // The run holding element (replica, clock), trying the hint first.
  private locate(replica: string, clock: number): Run<C> | null {
    const h = this.hint;
    if (h !== null && clock >= h.clock && clock < h.clock + h.len && h.replica === replica) return h;
    const index = this.ids.get(replica);
    if (index === undefined) return null;
    const run = index.find(clock);
    if (run !== null) this.hint = run;
    return run;
  }

  // Splits `run` before its element `at` (0 < at < len); returns the new right part.
  private split(run: Run<C>, at: number): Run<C> {
    const right = new Run<C>(run.replica, run.clock + at, run.len - at, run.content === null ? null : this.kind.slice(run.content, at));
    if (run.content !== null) run.content = this.kind.slice(run.content, 0, at);
    run.len = at;
    this.tree.insertAfter(run, right); // splays `run` first, which repairs the counts
    this.ids.get(run.replica)!.insertAfter(run, right);
    return right;
  }

  // Turns elements from..to-1 of a visible run into a tombstone run, then joins it with
  // tombstone neighbours that continue its clocks (backspacing over a word gives one run).
  private hide(run: Run<C>, from: number, to: number): void {
    if (to < run.len) this.split(run, to);
    let dead = from > 0 ? this.split(run, from) : run;
    dead.content = null;
    this.tree.splay(dead);
    const before = this.tree.prev(dead);
    if (before !== null && before.content === null && before.replica === dead.replica && before.clock + before.len === dead.clock) {
      this.join(before, dead);
      dead = before;
    }
    const after = this.tree.next(dead);
    if (after !== null && after.content === null && after.replica === dead.replica && dead.clock + dead.len === after.clock) {
      this.join(dead, after);
    }
    this.hint = dead;
  }

  // Joins tombstone run `b` into its left neighbour `a`.
  private join(a: Run<C>, b: Run<C>): void {
    this.tree.remove(b);
    this.ids.get(b.replica)!.remove(b);
    a.len += b.len;
    b.len = 0; // marks b as gone, so a stale hint to it never matches
  }
}
