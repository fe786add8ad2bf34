import type { Json } from '../json';

/** What a run holds: a slice of a text, or a slice of a list's values. */
export type Content = string | Json[];

/**
 * A run: consecutive elements inserted by one replica with consecutive clocks, lying next
 * to each other in the sequence, all visible or all deleted. Element `k` of the run has
 * the id `(replica, clock + k)`. Typing a word one key at a time makes one run, not one
 * object per character (the "splittable items" of Yjs and diamond-types): a run is split
 * when something is inserted inside it or part of it is deleted, and neighbours are joined
 * again when they can be.
 *
 * A run is also a node of the position tree (a splay tree in document order): `left`,
 * `right`, `parent` and `sum` belong to it, which saves one object per run.
 */
export class Run<C extends Content> {
  left: Run<C> | null = null;
  right: Run<C> | null = null;
  parent: Run<C> | null = null;
  /** Visible elements in this run's subtree of the position tree. */
  sum: number;
  /** The replica that inserted the elements (the interned string of its id index). */
  readonly replica: string;
  /** The clock of the first element. */
  clock: number;
  /** Number of elements; 0 once the run has been joined into a neighbour and left every index. */
  len: number;
  /** The elements' content, or null for a tombstone run (deleted content is not kept). */
  content: C | null;

  constructor(replica: string, clock: number, len: number, content: C | null) {
    this.replica = replica;
    this.clock = clock;
    this.len = len;
    this.content = content;
    this.sum = content === null ? 0 : len;
  }
}

/** Number of visible elements of one run (0 for a tombstone run). */
export function visibleLength<C extends Content>(run: Run<C>): number {
  return run.content === null ? 0 : run.len;
}

/**
 * RGA's order between siblings: true when element `(clockA, replicaA)` outranks
 * `(clockB, replicaB)`, i.e. it has the greater (clock, replica) key and so stays before
 * the other when both were inserted at the same place.
 */
export function outranks(clockA: number, replicaA: string, clockB: number, replicaB: string): boolean {
  return clockA > clockB || (clockA === clockB && replicaA > replicaB);
}
