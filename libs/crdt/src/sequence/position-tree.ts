import { visibleLength, type Content, type Run } from './run';

function sumOf<C extends Content>(x: Run<C> | null): number {
  return x === null ? 0 : x.sum;
}

/**
 * The runs of a sequence in document order, as a splay tree (Sleator and Tarjan, 1985)
 * whose nodes carry the number of visible elements of their subtree. Finding the run at a
 * visible index, inserting a run after another and removing one take amortised O(log n).
 * A splay tree suits editing: the run touched last sits at the root, and real edits come
 * in bursts at one place, so most lookups end after a step or two. Everything is iterative,
 * so a badly shaped tree cannot overflow the stack.
 *
 * Lookups reshape the tree (that is how a splay tree pays for itself) but never change the
 * order of the runs, so they are invisible to values and encodings.
 */
export class PositionTree<C extends Content> {
  root: Run<C> | null = null;
  /** The offset inside the run that the last `find` returned. */
  offset = 0;

  /** Number of visible elements. */
  get length(): number {
    return sumOf(this.root);
  }

  /** The run holding visible element `index` (0 ≤ index < length); its offset is left in `offset`. */
  find(index: number): Run<C> {
    const root = this.root;
    if (root === null || index < 0 || index >= root.sum) throw new Error(`position tree: index ${index} outside 0..${sumOf(root) - 1}`);
    let x: Run<C> = root;
    for (;;) {
      const l: Run<C> | null = x.left;
      const ls = l === null ? 0 : l.sum;
      if (index < ls) {
        x = l!;
        continue;
      }
      index -= ls;
      const v = x.content === null ? 0 : x.len;
      if (index < v) break;
      index -= v;
      x = x.right!;
    }
    this.offset = index;
    this.splay(x);
    return x;
  }

  /** The first run in document order, or null when empty. */
  first(): Run<C> | null {
    let x = this.root;
    if (x === null) return null;
    while (x.left !== null) x = x.left;
    return x;
  }

  /** The run after `x` in document order. */
  next(x: Run<C>): Run<C> | null {
    if (x.right !== null) {
      x = x.right;
      while (x.left !== null) x = x.left;
      return x;
    }
    let p = x.parent;
    while (p !== null && p.right === x) {
      x = p;
      p = p.parent;
    }
    return p;
  }

  /** The run before `x` in document order. */
  prev(x: Run<C>): Run<C> | null {
    if (x.left !== null) {
      x = x.left;
      while (x.right !== null) x = x.right;
      return x;
    }
    let p = x.parent;
    while (p !== null && p.left === x) {
      x = p;
      p = p.parent;
    }
    return p;
  }

  /** Links the detached run `y` right after `x`, or at the very start when `x` is null. */
  insertAfter(x: Run<C> | null, y: Run<C>): void {
    y.left = null;
    y.parent = null;
    if (x === null) {
      const r = this.root;
      y.right = r;
      if (r !== null) r.parent = y;
      y.sum = visibleLength(y) + sumOf(r);
      this.root = y;
      return;
    }
    this.splay(x);
    const r = x.right;
    y.right = r;
    if (r !== null) r.parent = y;
    y.parent = x;
    x.right = y;
    y.sum = visibleLength(y) + sumOf(r);
    x.sum = visibleLength(x) + sumOf(x.left) + y.sum;
  }

  /** Unlinks run `x` from the tree. */
  remove(x: Run<C>): void {
    this.splay(x);
    const l = x.left;
    const r = x.right;
    x.left = x.right = x.parent = null;
    if (l === null) {
      this.root = r;
      if (r !== null) r.parent = null;
      return;
    }
    l.parent = null;
    let m = l;
    while (m.right !== null) m = m.right;
    this.splay(m); // m becomes the root of what was the left subtree; it has no right child
    m.right = r;
    if (r !== null) r.parent = m;
    m.sum = visibleLength(m) + sumOf(m.left) + sumOf(r);
  }

  /**
   * Moves `x` to the root. Also the way to repair counts after `x`'s own visible length
   * changed: every stale count lies on the path from `x` to the root, and each node on it
   * is recomputed as it is rotated below `x`.
   */
  splay(x: Run<C>): void {
    for (;;) {
      const p = x.parent;
      if (p === null) break;
      const g = p.parent;
      if (g === null) {
        this.rotate(x);
        break;
      }
      if ((g.left === p) === (p.left === x)) {
        this.rotate(p);
        this.rotate(x);
      } else {
        this.rotate(x);
        this.rotate(x);
      }
    }
    x.sum = visibleLength(x) + sumOf(x.left) + sumOf(x.right);
    this.root = x;
  }

  /** Replaces the whole tree with `runs` (in document order), perfectly balanced. */
  build(runs: readonly Run<C>[]): void {
    this.root = buildRange(runs, 0, runs.length, null);
  }

  /** Calls `f` on every run in document order. */
  forEach(f: (run: Run<C>) => void): void {
    for (let x = this.first(); x !== null; x = this.next(x)) f(x);
  }

  // Rotates x above its parent p. p's count is recomputed from its new children; x's is
  // left for `splay` to recompute once, at the end.
  private rotate(x: Run<C>): void {
    const p = x.parent!;
    const g = p.parent;
    if (p.left === x) {
      const b = x.right;
      p.left = b;
      if (b !== null) b.parent = p;
      x.right = p;
    } else {
      const b = x.left;
      p.right = b;
      if (b !== null) b.parent = p;
      x.left = p;
    }
    p.parent = x;
    x.parent = g;
    if (g !== null) {
      if (g.left === p) g.left = x;
      else g.right = x;
    }
    p.sum = visibleLength(p) + sumOf(p.left) + sumOf(p.right);
  }
}

function buildRange<C extends Content>(runs: readonly Run<C>[], lo: number, hi: number, parent: Run<C> | null): Run<C> | null {
  if (lo >= hi) return null;
  const mid = (lo + hi) >>> 1;
  const x = runs[mid];
  x.parent = parent;
  x.left = buildRange(runs, lo, mid, x);
  x.right = buildRange(runs, mid + 1, hi, x);
  x.sum = visibleLength(x) + sumOf(x.left) + sumOf(x.right);
  return x;
}
