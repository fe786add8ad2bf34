import type { CrdtType, ReplicaId } from '../crdt-type';
import { isNat, isNonEmptyString, isObject, type Json } from '../json';
import { err, ok, type Result } from '../result';
import { decodeNatMap, encodeNatMap, parseAmount } from './counter-support';

/**
 * `g-counter`: a grow-only counter. Each replica owns one entry and only raises it.
 *
 * Merge semantics: the value is the sum of all entries. An op carries the origin's new
 * entry total (not the delta, as in rust-crdt's GCounter), so applying it is `max`:
 * idempotent and commutative by construction.
 *
 * Commands: `{"type":"increment","by"?:n}` with n ≥ 1 (default 1).
 *
 * A key-level delete (`clear`) keeps the entries and records them as `floor`: the value
 * counts only what each replica added above its floor, and later ops, which carry totals,
 * go on raising the entries (encoded as `"floor"` only when there is one).
 */
export interface GCounterState {
  readonly counts: Map<ReplicaId, number>;
  /** Per replica, its entry when the key was last deleted (absent: never deleted). */
  readonly floor?: Map<ReplicaId, number>;
}

/** A g-counter op: the origin's entry becomes at least `total`. */
export interface GCounterOp {
  readonly type: 'increment';
  readonly replica: ReplicaId;
  readonly total: number;
  readonly [k: string]: Json;
}

export const gCounter: CrdtType<GCounterState, GCounterOp, number> = {
  name: 'g-counter',
  parseOptions: (options) => (options === undefined || options === null ? ok(null) : err('INVALID_OPTIONS', 'g-counter takes no options')),
  create: () => ({ counts: new Map() }),
  prepare(state, command, ctx) {
    if (!isObject(command)) return err('BAD_COMMAND', 'a g-counter command is an object like {"type":"increment","by":1}');
    if (command.type !== 'increment') return err('UNKNOWN_COMMAND', `g-counter understands "increment", not ${JSON.stringify(command.type)}`);
    const by = parseAmount(command.by, false);
    if (!by.ok) return by;
    const total = (state.counts.get(ctx.replica) ?? 0) + by.value;
    if (!Number.isSafeInteger(total)) return err('OUT_OF_RANGE', 'the counter would pass 2^53 - 1');
    return ok({ type: 'increment', replica: ctx.replica, total });
  },
  validateOp(op): Result<GCounterOp> {
    if (!isObject(op) || op.type !== 'increment' || !isNonEmptyString(op.replica) || !isNat(op.total)) {
      return err('INVALID_OP', 'a g-counter op is {"type":"increment","replica":string,"total":natural number}');
    }
    return ok({ type: 'increment', replica: op.replica, total: op.total });
  },
  apply(state, op) {
    if (op.total > (state.counts.get(op.replica) ?? 0)) state.counts.set(op.replica, op.total);
  },
  value: (state) => sum(state.counts) - (state.floor ? sum(state.floor) : 0),
  encode: (state): Json => (state.floor && state.floor.size > 0 ? { counts: encodeNatMap(state.counts), floor: encodeNatMap(state.floor) } : { counts: encodeNatMap(state.counts) }),
  decode(encoded) {
    const counts = isObject(encoded) ? decodeNatMap(encoded.counts) : undefined;
    const floor = isObject(encoded) && encoded.floor !== undefined ? decodeNatMap(encoded.floor) : new Map<ReplicaId, number>();
    if (!counts || !floor || !floorBelow(floor, counts)) return err('BAD_ENCODING', 'a g-counter encoding is {"counts":{replica:natural number}} with an optional "floor" of the same shape, each entry at most its count');
    return ok(floor.size > 0 ? { counts, floor } : { counts });
  },
  clone: (state) => (state.floor ? { counts: new Map(state.counts), floor: new Map(state.floor) } : { counts: new Map(state.counts) }),
  compact: () => undefined,
  clear: (state) => ({ counts: new Map(state.counts), floor: new Map([...state.counts].filter(([, v]) => v > 0)) }),
};

/** True when every floor entry is at most its replica's count (a floor records a count). */
export function floorBelow(floor: Map<ReplicaId, number>, counts: Map<ReplicaId, number>): boolean {
  for (const [r, v] of floor) if (v > (counts.get(r) ?? 0)) return false;
  return true;
}

/** Sum of a counter's entries. */
export function sum(counts: Map<ReplicaId, number>): number {
  let s = 0;
  for (const v of counts.values()) s += v;
  return s;
}
