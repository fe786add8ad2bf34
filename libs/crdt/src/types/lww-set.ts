import type { CrdtType, ReplicaId } from '../crdt-type';
import { isTimestamp, type Timestamp } from '../causality/hlc';
import { canonicalJson, compareStrings } from '../encoding/canonical-json';
import { isNonEmptyString, isObject, type Json } from '../json';
import { err, ok, type Result } from '../result';
import { parseSetOpElements, parseSetCommand, SET_BATCH_MAX, setElementOf } from './g-set';

/**
 * `lww-set`: a last-writer-wins element set of JSON values. Each element keeps the stamp
 * of its latest add and of its latest remove, a stamp being the op's HLC `time` with the
 * origin replica as tie-breaker, so stamps are unique and totally ordered.
 *
 * Merge semantics: an element is in the set when its latest add is at least as late as
 * its latest remove by `time` alone: on equal times the add wins, whichever replica made
 * the remove. Apply keeps the maximum stamp of each kind, so it is idempotent and
 * commutative.
 *
 * Commands: `{"type":"add","value":v}` / `{"type":"remove","value":v}`, or the batch forms
 * with `"values":[...]`. Removing an element that is not in the set is allowed: it records
 * the remove's time, so adds older than it (still in flight) lose, as LWW semantics say.
 */
export interface LwwSetState {
  /** Canonical JSON → the element and its latest stamps. Entries are replaced, never mutated. */
  readonly entries: Map<string, LwwSetEntry>;
}

/** When and where an add or remove happened. */
export interface LwwStamp {
  readonly time: Timestamp;
  readonly replica: ReplicaId;
}

/** One element of an lww-set with the latest add and remove stamps seen for it. */
export interface LwwSetEntry {
  readonly value: Json;
  readonly add?: LwwStamp;
  readonly remove?: LwwStamp;
}

/** An lww-set op: add or remove `values` at `time` (from the origin's HLC) by `replica`. */
export interface LwwSetOp {
  readonly type: 'add' | 'remove';
  readonly time: Timestamp;
  readonly replica: ReplicaId;
  readonly values: Json[];
  readonly [k: string]: Json;
}

/** The `lww-set` type: a set where the latest add or remove of each element wins, adds winning ties. */
export const lwwSet: CrdtType<LwwSetState, LwwSetOp, Json[]> = {
  name: 'lww-set',
  parseOptions: (options) => (options === undefined || options === null ? ok(null) : err('INVALID_OPTIONS', 'lww-set takes no options')),
  create: () => ({ entries: new Map() }),
  prepare(_state, command, ctx) {
    const parsed = parseSetCommand('lww-set', command, ['add', 'remove']);
    if (!parsed.ok) return parsed;
    // Every element goes into the op, present or not: a repeated add or remove still moves
    // the element's stamp forward, which is what a later writer means.
    return ok({ type: parsed.value.verb, time: ctx.time, replica: ctx.replica, values: parsed.value.elements.map((e) => e.value) });
  },
  validateOp(op): Result<LwwSetOp> {
    const elements =
      isObject(op) && (op.type === 'add' || op.type === 'remove') && isTimestamp(op.time) && isNonEmptyString(op.replica) ? parseSetOpElements(op.values) : undefined;
    if (!elements) {
      return err('INVALID_OP', `an lww-set op is {"type":"add"|"remove","time":timestamp,"replica":string,"values":[json, ...]} with at most ${SET_BATCH_MAX} values`);
    }
    const o = op as { type: 'add' | 'remove'; time: number; replica: string };
    return ok({ type: o.type, time: o.time, replica: o.replica, values: elements.map((e) => e.value) });
  },
  apply(state, op) {
    const stamp: LwwStamp = { time: op.time, replica: op.replica };
    for (const v of op.values) {
      const key = canonicalJson(v);
      const entry = state.entries.get(key);
      if (op.type === 'add') {
        if (!entry) state.entries.set(key, { value: v, add: stamp });
        else if (!entry.add || compareStamps(stamp, entry.add) > 0) state.entries.set(key, { ...entry, add: stamp });
      } else {
        if (!entry) state.entries.set(key, { value: v, remove: stamp });
        else if (!entry.remove || compareStamps(stamp, entry.remove) > 0) state.entries.set(key, { ...entry, remove: stamp });
      }
    }
  },
  value(state) {
    const out: Json[] = [];
    for (const key of [...state.entries.keys()].sort()) {
      const e = state.entries.get(key)!;
      if (isPresent(e)) out.push(e.value);
    }
    return out;
  },
  encode(state) {
    const entries: Json[] = [];
    for (const key of [...state.entries.keys()].sort()) {
      const e = state.entries.get(key)!;
      const out: { [k: string]: Json } = { value: e.value };
      if (e.add) out.add = { replica: e.add.replica, time: e.add.time };
      if (e.remove) out.remove = { replica: e.remove.replica, time: e.remove.time };
      entries.push(out);
    }
    return { entries };
  },
  decode(encoded) {
    const bad = err('BAD_ENCODING', 'an lww-set encoding is {"entries":[{"value":json,"add"?:{"time":t,"replica":r},"remove"?:{...}}, ...]} without duplicates');
    if (!isObject(encoded) || !Array.isArray(encoded.entries)) return bad;
    const entries = new Map<string, LwwSetEntry>();
    for (const x of encoded.entries) {
      if (!isObject(x)) return bad;
      const e = setElementOf(x.value, 'BAD_ENCODING');
      const add = x.add === undefined ? undefined : decodeStamp(x.add);
      const remove = x.remove === undefined ? undefined : decodeStamp(x.remove);
      if (!e.ok || add === null || remove === null || (!add && !remove) || entries.has(e.value.key)) return bad;
      entries.set(e.value.key, { value: e.value.value, ...(add && { add }), ...(remove && { remove }) });
    }
    return ok({ entries });
  },
  clone: (state) => ({ entries: new Map(state.entries) }),
  /**
   * Drops removed elements and the remove stamps of present ones. Sound because every op
   * after the cut comes from a replica that has applied the cut, whose HLC then issues a
   * time later than every stamp in it: such an op wins against any stamp dropped here.
   */
  compact(state) {
    for (const [key, e] of state.entries) {
      if (!isPresent(e)) state.entries.delete(key);
      else if (e.remove) state.entries.set(key, { value: e.value, add: e.add });
    }
  },
};

/** True when the element is in the set: added, and not removed later (equal times: add wins). */
function isPresent(e: LwwSetEntry): boolean {
  return e.add !== undefined && (e.remove === undefined || e.add.time >= e.remove.time);
}

/** Orders stamps by time, then replica: a total order, since (time, replica) is unique. */
function compareStamps(a: LwwStamp, b: LwwStamp): number {
  return a.time !== b.time ? a.time - b.time : compareStrings(a.replica, b.replica);
}

/** A stamp from an encoding; null when malformed. */
function decodeStamp(v: unknown): LwwStamp | null {
  return isObject(v) && isTimestamp(v.time) && isNonEmptyString(v.replica) ? { time: v.time, replica: v.replica } : null;
}
