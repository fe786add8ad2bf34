import type { CrdtType, ReplicaId } from '../crdt-type';
import { isNat, isNonEmptyString, isObject, type Json } from '../json';
import { err, ok, type Result } from '../result';
import { decodeNatMap, encodeNatMap, parseAmount } from './counter-support';
import { floorBelow, sum } from './g-counter';

/**
 * `pn-counter`: a counter that goes up and down, as two grow-only counters (P for
 * increments, N for decrements); the value is ΣP − ΣN.
 *
 * Merge semantics: every increment and decrement counts exactly once, whatever the
 * order. Ops carry the origin's new P or N total, so apply is `max` (idempotent).
 *
 * Commands: `{"type":"increment","by"?:n}` and `{"type":"decrement","by"?:n}`; a negative
 * `by` on increment decrements (and the reverse), `by` 0 is a no-op op.
 *
 * A key-level delete (`clear`) records P and N as floors, as `g-counter` does: the value
 * counts only what was added above them (encoded as `"floorP"`/`"floorN"` when present).
 */
export interface PnCounterState {
  readonly p: Map<ReplicaId, number>;
  readonly n: Map<ReplicaId, number>;
  /** P and N when the key was last deleted (absent: never deleted). */
  readonly floor?: { readonly p: Map<ReplicaId, number>; readonly n: Map<ReplicaId, number> };
}

/** A pn-counter op: the origin's P (`increment`) or N (`decrement`) total becomes at least `total`. */
export interface PnCounterOp {
  readonly type: 'increment' | 'decrement';
  readonly replica: ReplicaId;
  readonly total: number;
  readonly [k: string]: Json;
}

export const pnCounter: CrdtType<PnCounterState, PnCounterOp, number> = {
  name: 'pn-counter',
  parseOptions: (options) => (options === undefined || options === null ? ok(null) : err('INVALID_OPTIONS', 'pn-counter takes no options')),
  create: () => ({ p: new Map(), n: new Map() }),
  prepare(state, command, ctx) {
    if (!isObject(command)) return err('BAD_COMMAND', 'a pn-counter command is an object like {"type":"increment","by":1}');
    if (command.type !== 'increment' && command.type !== 'decrement') {
      return err('UNKNOWN_COMMAND', `pn-counter understands "increment" and "decrement", not ${JSON.stringify(command.type)}`);
    }
    const by = parseAmount(command.by, true);
    if (!by.ok) return by;
    const signed = command.type === 'increment' ? by.value : -by.value;
    const type = signed >= 0 ? 'increment' : 'decrement';
    const side = type === 'increment' ? state.p : state.n;
    const total = (side.get(ctx.replica) ?? 0) + Math.abs(signed);
    if (!Number.isSafeInteger(total)) return err('OUT_OF_RANGE', 'the counter would pass 2^53 - 1');
    return ok({ type, replica: ctx.replica, total });
  },
  validateOp(op): Result<PnCounterOp> {
    if (!isObject(op) || (op.type !== 'increment' && op.type !== 'decrement') || !isNonEmptyString(op.replica) || !isNat(op.total)) {
      return err('INVALID_OP', 'a pn-counter op is {"type":"increment"|"decrement","replica":string,"total":natural number}');
    }
    return ok({ type: op.type, replica: op.replica, total: op.total });
  },
  apply(state, op) {
    const side = op.type === 'increment' ? state.p : state.n;
    if (op.total > (side.get(op.replica) ?? 0)) side.set(op.replica, op.total);
  },
  value: (state) => sum(state.p) - sum(state.n) - (state.floor ? sum(state.floor.p) - sum(state.floor.n) : 0),
  encode: (state): Json =>
    state.floor && (state.floor.p.size > 0 || state.floor.n.size > 0)
      ? { floorN: encodeNatMap(state.floor.n), floorP: encodeNatMap(state.floor.p), n: encodeNatMap(state.n), p: encodeNatMap(state.p) }
      : { n: encodeNatMap(state.n), p: encodeNatMap(state.p) },
  decode(encoded) {
    const p = isObject(encoded) ? decodeNatMap(encoded.p) : undefined;
    const n = isObject(encoded) ? decodeNatMap(encoded.n) : undefined;
    const fp = isObject(encoded) && encoded.floorP !== undefined ? decodeNatMap(encoded.floorP) : new Map<ReplicaId, number>();
    const fn = isObject(encoded) && encoded.floorN !== undefined ? decodeNatMap(encoded.floorN) : new Map<ReplicaId, number>();
    if (!p || !n || !fp || !fn || !floorBelow(fp, p) || !floorBelow(fn, n)) return err('BAD_ENCODING', 'a pn-counter encoding is {"p":{...},"n":{...}} with optional "floorP"/"floorN" of the same shape, each entry at most its total');
    return ok(fp.size > 0 || fn.size > 0 ? { p, n, floor: { p: fp, n: fn } } : { p, n });
  },
  clone: (state) => ({ p: new Map(state.p), n: new Map(state.n), ...(state.floor ? { floor: { p: new Map(state.floor.p), n: new Map(state.floor.n) } } : {}) }),
  compact: () => undefined,
  clear: (state) => ({ p: new Map(state.p), n: new Map(state.n), floor: { p: nonZero(state.p), n: nonZero(state.n) } }),
};

function nonZero(m: Map<ReplicaId, number>): Map<ReplicaId, number> {
  return new Map([...m].filter(([, v]) => v > 0));
}
