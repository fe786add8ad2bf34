import type { CrdtType, ReplicaId } from '../crdt-type';
import { isJson, isObject, type Json } from '../json';
import { err, ok, type Result } from '../result';
import { INSERT_ELEMENTS_MAX, isElementId, newClock, own, parseIndex, prepareDelete, validateDelete, validatePlacement, type SequenceDeleteOp } from '../sequence/ops';
import type { Run } from '../sequence/run';
import { Sequence, type ContentKind, type ElementId } from '../sequence/sequence';

/** A deep copy of JSON data, so that stored values share nothing with ops or callers. */
function copyJson(v: Json): Json {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(copyJson);
  const out: Record<string, Json> = {};
  for (const k of Object.keys(v)) {
    // A "__proto__" key (JSON.parse makes it an own property) must stay data, not become a prototype.
    if (k === '__proto__') Object.defineProperty(out, k, { value: copyJson(v[k]), enumerable: true, writable: true, configurable: true });
    else out[k] = copyJson(v[k]);
  }
  return out;
}

/**
 * Arrays of values as run content. The engine owns its arrays and appends in place; values
 * are copied on the way in (from ops) and out (encodings), so the state shares nothing
 * with ops, commands or encodings. Slices made by splits share values between the two
 * halves of one state, which is fine: stored values are never mutated.
 */
const listKind: ContentKind<Json[]> = {
  length: (c) => c.length,
  slice: (c, from, to) => c.slice(from, to),
  append(run: Run<Json[]>, more: Json[]): void {
    const a = run.content!;
    for (let i = 0; i < more.length; i++) a.push(copyJson(more[i]));
  },
  own: (c) => c.map(copyJson),
  decode: (v) => (Array.isArray(v) && v.every((x) => isJson(x)) ? v.map((x) => copyJson(x as Json)) : undefined),
  encode: (c) => c.map(copyJson),
};

/** The state of a `list` key. */
export type ListState = Sequence<Json[]>;

/** A list insert op: `values` go after element `after` (null: at the start), the k-th gets id (replica, clock + k). */
export interface ListInsertOp {
  readonly type: 'insert';
  readonly replica: ReplicaId;
  readonly clock: number;
  readonly after: ElementId | null;
  readonly values: Json[];
  readonly [k: string]: Json;
}

/** A list set op: element `target` is deleted and `value` (id (replica, clock)) goes right after it. */
export interface ListSetOp {
  readonly type: 'set';
  readonly replica: ReplicaId;
  readonly clock: number;
  readonly target: ElementId;
  readonly value: Json;
  readonly [k: string]: Json;
}

/** A list op. */
export type ListOp = ListInsertOp | ListSetOp | SequenceDeleteOp;

const INSERT_SHAPE = 'a list insert op is {"type":"insert","replica":string,"clock":positive integer,"after":[replica,clock]|null,"values":[JSON,...]}';
const SET_SHAPE = 'a list set op is {"type":"set","replica":string,"clock":positive integer,"target":[replica,clock],"value":JSON}';

/**
 * `list`: an array of JSON values edited concurrently, by index. The same sequence CRDT
 * as `text` (RGA with runs, see `Sequence`), with JSON values as elements.
 *
 * Merge semantics: as `text`: inserts keep their place relative to the element they
 * followed, concurrent inserts at one place order the same everywhere and do not
 * interleave, deletes remove what they saw. `set` is a delete plus an insert right after
 * the old element, so two concurrent sets of one element keep both new values (in a fixed
 * order), and a set concurrent with a delete of the element keeps the new value.
 *
 * Commands: `{"type":"insert","index":i,"values":[...]}` or `{"type":"insert","index":i,"value":x}`
 * (0 ≤ i ≤ length), `{"type":"delete","index":i,"count"?:n}`, `{"type":"set","index":i,"value":x}`
 * (0 ≤ i < length). Value: the array.
 *
 * Tombstones keep only their ids; `compact` drops them under the same condition as `text`.
 */
export const list: CrdtType<ListState, ListOp, Json[]> = {
  name: 'list',
  parseOptions: (options) => (options === undefined || options === null ? ok(null) : err('INVALID_OPTIONS', 'list takes no options')),
  create: () => new Sequence(listKind),
  prepare(state, command, ctx): Result<ListOp> {
    if (!isObject(command)) return err('BAD_COMMAND', 'a list command is an object like {"type":"insert","index":0,"values":[1,2]}');
    const type = own(command, 'type');
    if (type === 'insert') {
      const values = commandValues(command);
      if (!values.ok) return values;
      const index = parseIndex(own(command, 'index'), state.length, true);
      if (!index.ok) return index;
      const clock = newClock(state, values.value.length);
      if (!clock.ok) return clock;
      return ok({ type: 'insert', replica: ctx.replica, clock: clock.value, after: index.value === 0 ? null : state.idAt(index.value - 1), values: values.value });
    }
    if (type === 'set') {
      const value = own(command, 'value');
      if (value === undefined || !isJson(value)) return err('BAD_COMMAND', '"value" must be JSON data (finite numbers, plain objects, arrays, strings, booleans, null)');
      const index = parseIndex(own(command, 'index'), state.length, false);
      if (!index.ok) return index;
      const clock = newClock(state, 1);
      if (!clock.ok) return clock;
      return ok({ type: 'set', replica: ctx.replica, clock: clock.value, target: state.idAt(index.value), value: copyJson(value) });
    }
    if (type === 'delete') return prepareDelete(state, command);
    return err('UNKNOWN_COMMAND', `list understands "insert", "delete" and "set", not ${JSON.stringify(type)}`);
  },
  validateOp(op, state): Result<ListOp> {
    if (!isObject(op)) return err('INVALID_OP', 'a list op is an object with "type" "insert", "set" or "delete"');
    const type = own(op, 'type');
    if (type === 'delete') return validateDelete(op, state);
    if (type === 'insert') {
      const values = own(op, 'values');
      if (!Array.isArray(values) || values.length === 0 || !values.every((v) => isJson(v))) return err('INVALID_OP', INSERT_SHAPE);
      const placed = validatePlacement(state, own(op, 'replica'), own(op, 'clock'), own(op, 'after'), values.length, INSERT_SHAPE);
      if (!placed.ok) return placed;
      return ok({ type: 'insert', ...placed.value, values: values as Json[] });
    }
    if (type === 'set') {
      const target = own(op, 'target');
      const value = own(op, 'value');
      if (!isElementId(target) || value === undefined || !isJson(value)) return err('INVALID_OP', SET_SHAPE);
      const placed = validatePlacement(state, own(op, 'replica'), own(op, 'clock'), target, 1, SET_SHAPE);
      if (!placed.ok) return placed;
      return ok({ type: 'set', replica: placed.value.replica, clock: placed.value.clock, target: placed.value.after!, value });
    }
    return err('INVALID_OP', `a list op has type "insert", "set" or "delete", not ${JSON.stringify(type)}`);
  },
  apply(state, op) {
    if (op.type === 'insert') state.insert(op.replica, op.clock, op.after, op.values);
    else if (op.type === 'set') {
      if (op.clock <= state.appliedClock(op.replica)) return; // a duplicate: its delete is done too
      state.delete(op.target[0], op.target[1], 1);
      state.insert(op.replica, op.clock, op.target, [op.value]);
    } else for (const [replica, clock, count] of op.spans) state.delete(replica, clock, count);
  },
  value(state) {
    const out: Json[] = [];
    state.forEachVisible((c) => {
      for (let i = 0; i < c.length; i++) out.push(c[i]);
    });
    return out;
  },
  encode: (state) => state.encode(),
  decode: (encoded) => Sequence.decode(listKind, encoded, 'list'),
  clone: (state) => state.clone(),
  compact: (state) => state.compact(),
  clear(state) {
    const cleared = state.clone();
    cleared.hideAll();
    return cleared;
  },
};

// A command's `values` (or single `value`), checked and copied.
function commandValues(command: Record<string, unknown>): Result<Json[]> {
  const values = own(command, 'values');
  const value = own(command, 'value');
  if (values !== undefined && value !== undefined) return err('BAD_COMMAND', 'give "values" or "value", not both');
  if (values === undefined && value === undefined) return err('BAD_COMMAND', 'an insert needs "values":[...] or "value":x');
  const vs = values !== undefined ? values : [value];
  if (!Array.isArray(vs) || vs.length === 0) return err('BAD_COMMAND', '"values" must be a non-empty array');
  if (vs.length > INSERT_ELEMENTS_MAX) return err('BAD_COMMAND', `"values" has more than ${INSERT_ELEMENTS_MAX} elements; split the insert`);
  if (!vs.every((v) => isJson(v))) return err('BAD_COMMAND', 'every value must be JSON data (finite numbers, plain objects, arrays, strings, booleans, null)');
  return ok(vs.map((v) => copyJson(v as Json)));
}
