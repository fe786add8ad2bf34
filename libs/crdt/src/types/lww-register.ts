import type { CrdtType, ReplicaId } from '../crdt-type';
import { isTimestamp, type Timestamp } from '../causality/hlc';
import { canonicalJson, compareStrings } from '../encoding/canonical-json';
import { isJson, isNonEmptyString, isObject, type Json } from '../json';
import { err, ok, type Result } from '../result';

/**
 * `lww-register`: a last-writer-wins register (Shapiro et al., "A comprehensive study of
 * Convergent and Commutative Replicated Data Types", 2011, §3.2.1).
 *
 * Merge semantics: the write with the greatest `(time, replica)` wins, times compared
 * first and replica ids (by code unit order) breaking ties. `time` is the origin's hybrid
 * logical clock reading, which is greater than every write the origin had applied, so a
 * write always beats the writes it saw; among concurrent writes the order is arbitrary but
 * the same everywhere. Apply keeps the greater write, so it is idempotent and commutative.
 *
 * Commands: `{"type":"set","value":<json>}`. The value reads null until the first set.
 */
export interface LwwRegisterState {
  /** The winning write so far; null when the register was never set. */
  current: LwwWrite | null;
}

/** One write: its value and the `(time, replica)` that orders it. */
export interface LwwWrite {
  readonly value: Json;
  readonly time: Timestamp;
  readonly replica: ReplicaId;
}

/** An lww-register op: a write. */
export type LwwRegisterOp = { readonly type: 'set'; readonly value: Json; readonly time: Timestamp; readonly replica: ReplicaId };

/** True when write `a` beats write `b`: greater time, or equal time and greater replica id. */
export function lwwBeats(a: { time: Timestamp; replica: ReplicaId }, b: { time: Timestamp; replica: ReplicaId }): boolean {
  return a.time !== b.time ? a.time > b.time : compareStrings(a.replica, b.replica) > 0;
}

/** The last-writer-wins register type. */
export const lwwRegister: CrdtType<LwwRegisterState, LwwRegisterOp, Json> = {
  name: 'lww-register',
  parseOptions: (options) => (options === undefined || options === null ? ok(null) : err('INVALID_OPTIONS', 'lww-register takes no options')),
  create: () => ({ current: null }),
  prepare(_state, command, ctx) {
    if (!isObject(command)) return err('BAD_COMMAND', 'an lww-register command is an object like {"type":"set","value":42}');
    if (command.type !== 'set') return err('UNKNOWN_COMMAND', `lww-register understands "set", not ${JSON.stringify(command.type)}`);
    if (!Object.prototype.hasOwnProperty.call(command, 'value') || !isJson(command.value)) {
      return err('BAD_COMMAND', '"value" must be JSON data (finite numbers, plain objects, at most 32 levels deep)');
    }
    // Copied so that the state never shares objects with the caller's command or the wire.
    return ok({ type: 'set', value: structuredClone(command.value), time: ctx.time, replica: ctx.replica });
  },
  validateOp(op): Result<LwwRegisterOp> {
    if (!isObject(op) || op.type !== 'set' || !isTimestamp(op.time) || !isNonEmptyString(op.replica) || !isJson(op.value)) {
      return err('INVALID_OP', 'an lww-register op is {"type":"set","value":<json>,"time":timestamp,"replica":string}');
    }
    return ok({ type: 'set', value: structuredClone(op.value), time: op.time, replica: op.replica });
  },
  apply(state, op) {
    const c = state.current;
    // (time, replica) is unique per write, so an exact tie is a duplicate; should two
    // different values ever claim one id, the greater canonical JSON wins everywhere.
    const wins =
      c === null ||
      lwwBeats(op, c) ||
      (op.time === c.time && op.replica === c.replica && compareStrings(canonicalJson(op.value), canonicalJson(c.value)) > 0);
    if (wins) state.current = { value: op.value, time: op.time, replica: op.replica };
  },
  value: (state) => (state.current === null ? null : state.current.value),
  encode: (state) => ({
    current: state.current === null ? null : { replica: state.current.replica, time: state.current.time, value: state.current.value },
  }),
  decode(encoded) {
    if (!isObject(encoded)) return err('BAD_ENCODING', 'an lww-register encoding is {"current":null|{"replica","time","value"}}');
    const c = encoded.current;
    if (c === null) return ok({ current: null });
    if (!isObject(c) || !isTimestamp(c.time) || !isNonEmptyString(c.replica) || !isJson(c.value)) {
      return err('BAD_ENCODING', 'an lww-register encoding is {"current":null|{"replica","time","value"}}');
    }
    return ok({ current: { value: structuredClone(c.value), time: c.time, replica: c.replica } });
  },
  // Values are never mutated in place (apply replaces the write), so sharing them is safe.
  clone: (state) => ({ current: state.current }),
  compact: () => undefined,
};
