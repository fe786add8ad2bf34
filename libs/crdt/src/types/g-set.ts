import type { CrdtType } from '../crdt-type';
import { canonicalJson } from '../encoding/canonical-json';
import { isJson, isObject, type Json } from '../json';
import { err, ok, type CrdtErrorCode, type Result } from '../result';

/**
 * `g-set`: a grow-only set of JSON values. Elements are identified by their canonical JSON,
 * so `{"a":1,"b":2}` and `{"b":2,"a":1}` are one element.
 *
 * Merge semantics: union. An op carries the values it adds, so apply is set insertion,
 * idempotent and commutative by construction.
 *
 * Commands: `{"type":"add","value":v}` or `{"type":"add","values":[v, ...]}`. There is no
 * remove: use `2p-set`, `lww-set` or `or-set` for sets that shrink.
 *
 * This file also holds the element and command helpers the other set types share.
 */
export interface GSetState {
  /** Canonical JSON of each element → the element (a private canonical copy). */
  readonly elements: Map<string, Json>;
}

/** A g-set op: the values to add (possibly none, when all were present at the origin). */
export interface GSetOp {
  readonly type: 'add';
  readonly values: Json[];
  readonly [k: string]: Json;
}

/** The `g-set` type: a grow-only set of JSON values. */
export const gSet: CrdtType<GSetState, GSetOp, Json[]> = {
  name: 'g-set',
  parseOptions: (options) => (options === undefined || options === null ? ok(null) : err('INVALID_OPTIONS', 'g-set takes no options')),
  create: () => ({ elements: new Map() }),
  prepare(state, command) {
    if (isObject(command) && command.type === 'remove') {
      return err('UNKNOWN_COMMAND', 'g-set is grow-only and cannot remove; use a 2p-set, lww-set or or-set for a set that shrinks');
    }
    const parsed = parseSetCommand('g-set', command, ['add']);
    if (!parsed.ok) return parsed;
    // Values already present are left out: adding them again would change nothing.
    const values = parsed.value.elements.filter((e) => !state.elements.has(e.key)).map((e) => e.value);
    return ok({ type: 'add', values });
  },
  validateOp(op): Result<GSetOp> {
    const elements = isObject(op) && op.type === 'add' ? parseSetOpElements(op.values) : undefined;
    if (!elements) return err('INVALID_OP', `a g-set op is {"type":"add","values":[json, ...]} with at most ${SET_BATCH_MAX} values of at most ${SET_ELEMENT_CHARS_MAX} characters each`);
    return ok({ type: 'add', values: elements.map((e) => e.value) });
  },
  apply(state, op) {
    // Op values are already checked canonical copies (prepare and validateOp make them).
    for (const v of op.values) {
      const key = canonicalJson(v);
      if (!state.elements.has(key)) state.elements.set(key, v);
    }
  },
  value: (state) => sortedSetValues(state.elements),
  encode: (state) => ({ elements: sortedSetValues(state.elements) }),
  decode(encoded) {
    const elements = isObject(encoded) ? decodeSetElements(encoded.elements) : undefined;
    return elements ? ok({ elements }) : err('BAD_ENCODING', 'a g-set encoding is {"elements":[json, ...]} without duplicates');
  },
  clone: (state) => ({ elements: new Map(state.elements) }),
  compact: () => undefined,
};

// ---------------------------------------------------------------------------------------
// Shared by the set types (g-set, 2p-set, lww-set, or-set).
// ---------------------------------------------------------------------------------------

/** Longest canonical JSON of one set element, in UTF-16 code units. */
export const SET_ELEMENT_CHARS_MAX = 65_536;
/** Most elements that one set command or op may carry. */
export const SET_BATCH_MAX = 1_000;
/** Deepest nesting of a set element. */
export const SET_ELEMENT_DEPTH_MAX = 32;

/** A set element and its identity, the canonical JSON of its value. */
export interface SetElement {
  readonly key: string;
  readonly value: Json;
}

/**
 * Checks that `value` can be a set element (JSON within the limits) and returns it with its
 * key. Objects and arrays come back as a fresh copy in canonical key order, so a set never
 * shares memory with a caller's command and every replica holds the same bytes.
 */
export function setElementOf(value: unknown, code: CrdtErrorCode = 'BAD_COMMAND'): Result<SetElement> {
  if (!isJson(value, SET_ELEMENT_DEPTH_MAX)) {
    return err(code, `a set element must be JSON (finite numbers, plain objects, arrays, strings, booleans, null) nested at most ${SET_ELEMENT_DEPTH_MAX} deep`);
  }
  const key = canonicalJson(value);
  if (key.length > SET_ELEMENT_CHARS_MAX) return err(code, `a set element is at most ${SET_ELEMENT_CHARS_MAX} characters of JSON, this one has ${key.length}`);
  return ok({ key, value: typeof value === 'object' && value !== null ? (JSON.parse(key) as Json) : value });
}

/** The verbs of set commands. */
export type SetVerb = 'add' | 'remove';

/** A parsed set command: its verb and its distinct elements, in command order. */
export interface SetCommand {
  readonly verb: SetVerb;
  readonly elements: SetElement[];
}

/**
 * Parses `{"type":verb,"value":v}` or `{"type":verb,"values":[...]}` for a set type that
 * understands `verbs`. Duplicate elements in a batch collapse to one.
 */
export function parseSetCommand(typeName: string, command: unknown, verbs: readonly SetVerb[]): Result<SetCommand> {
  const example = `{"type":"${verbs[0]}","value":json} or {"type":"${verbs[0]}","values":[json, ...]}`;
  if (!isObject(command)) return err('BAD_COMMAND', `a ${typeName} command is an object like ${example}`);
  const verb = command.type;
  if (typeof verb !== 'string' || !(verbs as readonly string[]).includes(verb)) {
    return err('UNKNOWN_COMMAND', `${typeName} understands ${verbs.map((v) => `"${v}"`).join(' and ')}, not ${JSON.stringify(command.type) ?? 'a missing type'}`);
  }
  const hasValue = Object.prototype.hasOwnProperty.call(command, 'value');
  const hasValues = Object.prototype.hasOwnProperty.call(command, 'values');
  if (hasValue === hasValues) return err('BAD_COMMAND', `a ${typeName} "${verb}" command has exactly one of "value" (one element) and "values" (an array of elements)`);
  let raw: unknown[];
  if (hasValues) {
    if (!Array.isArray(command.values) || command.values.length === 0 || command.values.length > SET_BATCH_MAX) {
      return err('BAD_COMMAND', `"values" must be an array of 1 to ${SET_BATCH_MAX} elements`);
    }
    raw = command.values;
  } else {
    raw = [command.value];
  }
  const seen = new Set<string>();
  const elements: SetElement[] = [];
  for (const v of raw) {
    const e = setElementOf(v, 'BAD_COMMAND');
    if (!e.ok) return e;
    if (!seen.has(e.value.key)) {
      seen.add(e.value.key);
      elements.push(e.value);
    }
  }
  return ok({ verb: verb as SetVerb, elements });
}

/** Checks an op's `values`: an array of at most `SET_BATCH_MAX` elements; undefined when malformed. */
export function parseSetOpElements(values: unknown): SetElement[] | undefined {
  if (!Array.isArray(values) || values.length > SET_BATCH_MAX) return undefined;
  const out: SetElement[] = [];
  for (const v of values) {
    const e = setElementOf(v, 'INVALID_OP');
    if (!e.ok) return undefined;
    out.push(e.value);
  }
  return out;
}

/** The values of a key → value map, ordered by key (the canonical order of set values). */
export function sortedSetValues(m: ReadonlyMap<string, Json>): Json[] {
  const keys = [...m.keys()].sort();
  const out: Json[] = new Array(keys.length);
  for (let i = 0; i < keys.length; i++) out[i] = m.get(keys[i])!;
  return out;
}

/** Decodes an encoded list of distinct elements; undefined when malformed or duplicated. */
export function decodeSetElements(v: unknown): Map<string, Json> | undefined {
  if (!Array.isArray(v)) return undefined;
  const m = new Map<string, Json>();
  for (const x of v) {
    const e = setElementOf(x, 'BAD_ENCODING');
    if (!e.ok || m.has(e.value.key)) return undefined;
    m.set(e.value.key, e.value.value);
  }
  return m;
}
