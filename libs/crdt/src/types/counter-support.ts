import type { ReplicaId } from '../crdt-type';
import { isInt, isNat, isObject, type Json } from '../json';
import { err, ok, type Result } from '../result';

/** Reads a command's `by`: a safe integer, 1 when absent; signed when `signed`. */
export function parseAmount(by: unknown, signed: boolean): Result<number> {
  if (by === undefined) return ok(1);
  if (!isInt(by)) return err('BAD_COMMAND', '"by" must be a safe integer');
  if (!signed && by < 1) return err('BAD_COMMAND', '"by" must be at least 1 for a grow-only counter');
  return ok(by);
}

/** Encodes per-replica totals with sorted keys (zero entries left out). */
export function encodeNatMap(m: Map<ReplicaId, number>): Json {
  // fromEntries defines own properties, so a replica named "__proto__" is kept like any other.
  return Object.fromEntries([...m.keys()].sort().filter((k) => m.get(k)! > 0).map((k) => [k, m.get(k)!]));
}

/** Decodes per-replica totals; undefined when malformed. */
export function decodeNatMap(v: unknown): Map<ReplicaId, number> | undefined {
  if (!isObject(v)) return undefined;
  const m = new Map<ReplicaId, number>();
  for (const k of Object.keys(v)) {
    if (!isNat(v[k]) || k.length === 0) return undefined;
    m.set(k, v[k] as number);
  }
  return m;
}
