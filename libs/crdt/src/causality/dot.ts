import type { ReplicaId } from '../crdt-type';
import { isNonEmptyString, isNat, isObject } from '../json';

/** One event of one replica: the replica's id and its event counter (from 1). */
export interface Dot {
  readonly replica: ReplicaId;
  readonly counter: number;
}

/** A compact string form, `counter@replica`, usable as a map key. */
export function dotKey(d: Dot): string {
  return `${d.counter}@${d.replica}`;
}

/** True when `v` is a well-formed dot. */
export function isDot(v: unknown): v is Dot {
  return isObject(v) && isNonEmptyString(v.replica) && isNat(v.counter) && v.counter > 0;
}

/** Orders dots by replica then counter: the canonical order in encodings. */
export function compareDots(a: Dot, b: Dot): number {
  if (a.replica !== b.replica) return a.replica < b.replica ? -1 : 1;
  return a.counter - b.counter;
}
