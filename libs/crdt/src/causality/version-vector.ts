import type { ReplicaId } from '../crdt-type';
import type { Json } from '../json';
import { isNat, isNonEmptyString, isObject } from '../json';
import type { Dot } from './dot';

/**
 * A version vector: for each replica, how many of its events are covered. Replicas not
 * present count as 0. Stored as a plain object so it is JSON on the wire as it is.
 */
export type VersionVector = Record<ReplicaId, number>;

/** How two version vectors relate. */
export type Ordering = 'before' | 'after' | 'equal' | 'concurrent';

/** The counter for `replica` (0 when absent). */
export function vvGet(vv: VersionVector, replica: ReplicaId): number {
  return Object.prototype.hasOwnProperty.call(vv, replica) ? vv[replica] : 0;
}

/** True when `vv` has seen the dot. */
export function vvContains(vv: VersionVector, dot: Dot): boolean {
  return vvGet(vv, dot.replica) >= dot.counter;
}

/** Compares two vectors: `before` means a < b (every entry ≤, one <). */
export function vvCompare(a: VersionVector, b: VersionVector): Ordering {
  let less = false;
  let greater = false;
  for (const r of Object.keys(a)) {
    const x = a[r];
    const y = vvGet(b, r);
    if (x < y) less = true;
    else if (x > y) greater = true;
  }
  for (const r of Object.keys(b)) {
    if (!Object.prototype.hasOwnProperty.call(a, r) && b[r] > 0) less = true;
  }
  if (less && greater) return 'concurrent';
  if (less) return 'before';
  if (greater) return 'after';
  return 'equal';
}

/** True when `a` ≤ `b` entry by entry (a is covered by b). */
export function vvLeq(a: VersionVector, b: VersionVector): boolean {
  for (const r of Object.keys(a)) if (a[r] > vvGet(b, r)) return false;
  return true;
}

/**
 * Sets `vv`'s entry for `replica`, in place. A plain `vv[replica] = n` would call the
 * `__proto__` setter for a replica of that name and silently drop the entry, so entries
 * are defined as own properties, as `JSON.parse` and object spread make them.
 */
export function vvSet(vv: VersionVector, replica: ReplicaId, counter: number): void {
  Object.defineProperty(vv, replica, { value: counter, writable: true, enumerable: true, configurable: true });
}

/** The entry-wise maximum, as a new vector. */
export function vvMerge(a: VersionVector, b: VersionVector): VersionVector {
  const out: VersionVector = { ...a };
  for (const r of Object.keys(b)) if (b[r] > vvGet(out, r)) vvSet(out, r, b[r]);
  return out;
}

/** Raises `vv`'s entry for the dot's replica to the dot's counter, in place. */
export function vvAdd(vv: VersionVector, dot: Dot): void {
  if (dot.counter > vvGet(vv, dot.replica)) vvSet(vv, dot.replica, dot.counter);
}

/** The canonical JSON form: zero entries dropped, keys sorted. */
export function vvEncode(vv: VersionVector): Json {
  const out: Record<string, Json> = {};
  for (const r of Object.keys(vv).sort()) if (vv[r] > 0) vvSet(out as VersionVector, r, vv[r]);
  return out;
}

/** True when `v` is a well-formed version vector. */
export function isVersionVector(v: unknown): v is VersionVector {
  if (!isObject(v)) return false;
  for (const r of Object.keys(v)) if (!isNonEmptyString(r) || !isNat(v[r])) return false;
  return true;
}
