import type { CrdtType, OpContext, ReplicaId, TypeName } from '../crdt-type';
import { canonicalJson, compareStrings } from '../encoding/canonical-json';
import { isNonEmptyString, isObject, type Json } from '../json';
import { typeByName, type AnyCrdtType } from '../field-types';
import { err, ok, type Result } from '../result';
import { DOTS_MAX, parseDot, type DotJson } from './dot-store';
import { decodeDotClock, decodeReplicaDots, encodeDotClock } from './or-set';

/**
 * `or-map`: an observed-remove map from field names to nested CRDTs of any catalogue type
 * (counters, sets, registers, text, lists, other maps), like a JSON document (after
 * Riak's maps and Akka's `ORMap`).
 *
 * Every update of a field makes a new dot for it (origin replica, that replica's next
 * counter in this map) and carries the nested type's prepared op; a remove carries the
 * field's dots its origin observed and removes only those. A field without dots is hidden
 * from the value, but its nested state stays as a tombstone: an update concurrent with
 * the remove brings the field back with the nested state merged from both sides, so
 * update beats remove in every delivery order. `compact` drops hidden fields. Note that an
 * update made after a remove (not concurrent) also revives the tombstone's state until
 * the next compaction.
 *
 * A field's type is fixed while it is visible: an update naming another type (or other
 * options) is `BAD_COMMAND` at the origin. Replicas that concurrently create one field
 * with different types each keep their own variant of it; the value shows the visible
 * variant whose type name, then canonical options, sort first, so every replica shows
 * the same one, and updates go to that variant until a remove clears the field.
 *
 * Commands: `{"type":"update","field":f,"fieldType":t,"fieldOptions"?:o,"op":nestedCommand}`
 * and `{"type":"remove","field":f}` (removing an absent field makes an op that removes
 * nothing). Maps nest at most `OR_MAP_DEPTH_MAX` deep.
 */
export interface OrMapState {
  /** Per replica, the counter of its latest update applied here; all earlier ones are applied too. */
  readonly clock: Map<ReplicaId, number>;
  /** Field name → its variants by type key (see `variantKey`); hidden fields included. */
  readonly fields: Map<string, Map<string, OrMapVariant>>;
}

/** One field's nested CRDT of one type, with the dots of the updates that keep it visible. */
export interface OrMapVariant {
  readonly type: TypeName;
  /** The nested type's normalised options. */
  readonly options: Json;
  /** Replica → counter of its latest update of this variant (an earlier one is implied by causality). */
  readonly dots: Map<ReplicaId, number>;
  readonly state: unknown;
}

/** An or-map op: update a field's nested CRDT under a new dot, or remove a field's observed dots. */
export type OrMapOp =
  | {
      readonly type: 'update';
      readonly field: string;
      readonly fieldType: TypeName;
      readonly fieldOptions: Json;
      readonly dot: DotJson;
      /** The nested type's op (null in a duplicate, which apply skips whole). */
      readonly op: Json;
    }
  | { readonly type: 'remove'; readonly field: string; readonly dots: DotJson[] };

/** The value of an or-map: visible fields in sorted order, each with its nested type's value. */
export type OrMapValue = { [field: string]: Json };

/** How deep maps nest: a map inside a map inside ... at most this many levels, the outer one included. */
export const OR_MAP_DEPTH_MAX = 8;
/** Longest field name, in UTF-16 code units. */
export const OR_MAP_FIELD_CHARS_MAX = 1_024;

const COMMAND_SHAPE = '{"type":"update","field":"name","fieldType":"pn-counter","op":{"type":"increment"}} or {"type":"remove","field":"name"}';

/** The `or-map` type: fields of nested CRDTs, where a concurrent update beats a remove. */
export const orMap: CrdtType<OrMapState, OrMapOp, OrMapValue> = {
  name: 'or-map',
  parseOptions: (options) => (options === undefined || options === null ? ok(null) : err('INVALID_OPTIONS', 'or-map takes no options')),
  create: () => ({ clock: new Map(), fields: new Map() }),
  prepare: (state, command, ctx) => prepareAt(state, command, ctx, 1),
  validateOp: (op, state) => validateAt(op, state, 1),
  apply(state, op) {
    if (op.type === 'remove') {
      const variants = state.fields.get(op.field);
      if (!variants) return;
      for (const v of variants.values()) {
        for (const d of op.dots) if ((v.dots.get(d.replica) ?? Infinity) <= d.counter) v.dots.delete(d.replica);
      }
      return;
    }
    const { replica, counter } = op.dot;
    if (counter <= (state.clock.get(replica) ?? 0)) return; // a duplicate: already applied
    const t = fieldTypeOf(op.fieldType);
    if (!t.ok) throw new Error(`or-map: apply got an unvalidated op for type ${op.fieldType}`);
    state.clock.set(replica, counter);
    let variants = state.fields.get(op.field);
    if (!variants) state.fields.set(op.field, (variants = new Map()));
    const key = variantKey(op.fieldType, op.fieldOptions);
    let v = variants.get(key);
    if (!v) variants.set(key, (v = { type: op.fieldType, options: op.fieldOptions, dots: new Map(), state: t.value.create(op.fieldOptions) }));
    v.dots.set(replica, counter);
    t.value.apply(v.state, op.op);
  },
  value(state) {
    const out: OrMapValue = {};
    for (const field of [...state.fields.keys()].sort(compareStrings)) {
      const shown = shownVariant(state.fields.get(field)!);
      if (shown) defineField(out, field, typeOf(shown.type).value(shown.state) as Json);
    }
    return out;
  },
  encode(state) {
    const fields: Json[] = [];
    for (const field of [...state.fields.keys()].sort(compareStrings)) {
      const variants = state.fields.get(field)!;
      const encoded: Json[] = [];
      for (const key of [...variants.keys()].sort(compareStrings)) {
        const v = variants.get(key)!;
        const dots = [...v.dots.keys()].sort(compareStrings).map((replica): Json => ({ counter: v.dots.get(replica)!, replica }));
        encoded.push({ dots, options: v.options, state: typeOf(v.type).encode(v.state) as Json, type: v.type });
      }
      fields.push({ field, variants: encoded });
    }
    return { clock: encodeDotClock(state.clock), fields };
  },
  decode: (encoded) => decodeAt(encoded, 1),
  clone(state) {
    const fields = new Map<string, Map<string, OrMapVariant>>();
    for (const [field, variants] of state.fields) {
      const copy = new Map<string, OrMapVariant>();
      for (const [key, v] of variants) copy.set(key, { type: v.type, options: v.options, dots: new Map(v.dots), state: typeOf(v.type).clone(v.state) });
      fields.set(field, copy);
    }
    return { clock: new Map(state.clock), fields };
  },
  /**
   * Drops hidden variants and fields (the tombstones kept for concurrent updates) and
   * compacts the nested states. Sound only at a cut every replica has applied and before
   * any op prepared against the uncompacted state arrives: such an op could revive a
   * tombstone that is gone here. A hidden variant that reads empty but holds what its
   * type's ops name (a key-level delete's cleared counter: its totals under a floor) is
   * kept: a nested op prepared against it before the round, applied after, would
   * otherwise count again what the delete removed (see `clearedKept`).
   */
  compact(state) {
    for (const [field, variants] of state.fields) {
      for (const [key, v] of variants) {
        if (v.dots.size === 0 && !clearedKept(v)) variants.delete(key);
        else typeOf(v.type).compact(v.state);
      }
      if (variants.size === 0) state.fields.delete(field);
    }
  },
  /** Every field hidden (no dots), each nested state cleared in turn: a later update of a field starts from what its ops may name, and nothing else. */
  clear(state) {
    const fields = new Map<string, Map<string, OrMapVariant>>();
    for (const [field, variants] of state.fields) {
      const copy = new Map<string, OrMapVariant>();
      for (const [key, v] of variants) {
        const t = typeOf(v.type);
        copy.set(key, { type: v.type, options: v.options, dots: new Map(), state: t.clear ? t.clear(v.state) : t.create(v.options) });
      }
      fields.set(field, copy);
    }
    return { clock: new Map(state.clock), fields };
  },
};

/**
 * True for a hidden variant that compaction keeps: its type has `clear`, its value is a new
 * state's (as `clear` leaves it, so keeping it changes no value) and its state is not (it
 * holds totals or clocks that ops made before the round may name). A field removed with a
 * value still goes, as documented: a re-created field starts empty after the round.
 */
function clearedKept(v: OrMapVariant): boolean {
  const t = typeOf(v.type);
  if (!t.clear) return false;
  const fresh = t.create(v.options);
  return canonicalJson(t.value(v.state) as Json) === canonicalJson(t.value(fresh) as Json) && canonicalJson(t.encode(v.state) as Json) !== canonicalJson(t.encode(fresh) as Json);
}

/** `prepare` for a map `depth` levels deep (the outer map is level 1). */
function prepareAt(state: OrMapState, command: unknown, ctx: OpContext, depth: number): Result<OrMapOp> {
  if (!isObject(command)) return err('BAD_COMMAND', `an or-map command is an object like ${COMMAND_SHAPE}`);
  if (command.type !== 'update' && command.type !== 'remove') {
    return err('UNKNOWN_COMMAND', `or-map understands "update" and "remove", not ${JSON.stringify(command.type) ?? 'a missing type'}`);
  }
  const field = command.field;
  if (!isFieldName(field)) return err('BAD_COMMAND', `"field" must be a non-empty string of at most ${OR_MAP_FIELD_CHARS_MAX} characters`);
  const variants = state.fields.get(field);

  if (command.type === 'remove') {
    // Every dot on the field, across its variants: the latest per replica covers the rest.
    const latest = new Map<ReplicaId, number>();
    for (const v of variants?.values() ?? []) for (const [r, c] of v.dots) if (c > (latest.get(r) ?? 0)) latest.set(r, c);
    const dots = [...latest.keys()].sort(compareStrings).map((replica) => ({ replica, counter: latest.get(replica)! }));
    return ok({ type: 'remove', field, dots });
  }

  const t = fieldTypeOf(command.fieldType);
  if (!t.ok) return err('BAD_COMMAND', `field ${JSON.stringify(field)}: "fieldType" ${t.error.message}`);
  const fieldType = t.value.name;
  if (fieldType === 'or-map' && depth >= OR_MAP_DEPTH_MAX) return err('BAD_COMMAND', `field ${JSON.stringify(field)}: maps nest at most ${OR_MAP_DEPTH_MAX} deep`);
  const shown = variants ? shownVariant(variants) : undefined;
  let options: Json;
  if (command.fieldOptions === undefined && shown?.type === fieldType) {
    options = shown.options;
  } else {
    const parsed = t.value.parseOptions(command.fieldOptions);
    if (!parsed.ok) return err('BAD_COMMAND', `field ${JSON.stringify(field)}: ${parsed.error.message}`);
    options = parsed.value;
  }
  const key = variantKey(fieldType, options);
  if (shown && variantKey(shown.type, shown.options) !== key) {
    return err(
      'BAD_COMMAND',
      `field ${JSON.stringify(field)} holds a ${shown.type} with options ${canonicalJson(shown.options)}, not a ${fieldType} with options ${canonicalJson(options)}; remove the field before giving it another type`,
    );
  }
  const nestedState = variants?.get(key)?.state ?? t.value.create(options);
  const nested = fieldType === 'or-map' ? prepareAt(nestedState as OrMapState, command.op, ctx, depth + 1) : (t.value.prepare(nestedState, command.op, ctx) as Result<Json>);
  if (!nested.ok) return err(nested.error.code, `field ${JSON.stringify(field)}: ${nested.error.message}`);
  const counter = (state.clock.get(ctx.replica) ?? 0) + 1;
  if (!Number.isSafeInteger(counter)) return err('OUT_OF_RANGE', `replica ${ctx.replica} has used up its dots in this or-map`);
  return ok({ type: 'update', field, fieldType, fieldOptions: options, dot: { replica: ctx.replica, counter }, op: nested.value as Json });
}

/** `validateOp` for a map `depth` levels deep. */
function validateAt(op: unknown, state: OrMapState, depth: number): Result<OrMapOp> {
  if (!isObject(op) || (op.type !== 'update' && op.type !== 'remove') || !isFieldName(op.field)) {
    return err('INVALID_OP', `an or-map op is {"type":"update","field":f,"fieldType":t,"fieldOptions":o,"dot":dot,"op":nestedOp} or {"type":"remove","field":f,"dots":[dot, ...]}, with field names of 1 to ${OR_MAP_FIELD_CHARS_MAX} characters`);
  }
  const field = op.field;
  if (op.type === 'remove') {
    const dots = decodeReplicaDots(op.dots);
    if (!dots) return err('INVALID_OP', `an or-map remove carries "dots", at most ${DOTS_MAX} dots with distinct replicas`);
    // Observed dots were applied at the origin before the remove, so causal delivery
    // applies them here first; a dot from the future would act in some orders only.
    for (const d of dots) {
      if (d.counter > (state.clock.get(d.replica) ?? 0)) return err('INVALID_OP', `or-map remove of ${JSON.stringify(field)} names ${d.counter}@${d.replica}, an update not applied here yet: ops must be applied in causal order`);
    }
    return ok({ type: 'remove', field, dots });
  }
  const t = fieldTypeOf(op.fieldType);
  const dot = parseDot(op.dot);
  if (!t.ok || !dot) return err('INVALID_OP', `or-map update of ${JSON.stringify(field)} needs a known "fieldType" and a "dot" {"replica":string,"counter":n>0}`);
  const fieldType = t.value.name;
  if (fieldType === 'or-map' && depth >= OR_MAP_DEPTH_MAX) return err('INVALID_OP', `or-map update of ${JSON.stringify(field)} nests maps deeper than ${OR_MAP_DEPTH_MAX}`);
  const options = t.value.parseOptions(op.fieldOptions);
  if (!options.ok) return err('INVALID_OP', `or-map update of ${JSON.stringify(field)}: ${options.error.message}`);
  const seen = state.clock.get(dot.replica) ?? 0;
  // A duplicate is recognised by its dot and skipped whole by apply, so its nested op is
  // never read: it is not checked and not kept.
  if (dot.counter <= seen) return ok({ type: 'update', field, fieldType, fieldOptions: options.value, dot, op: null });
  if (dot.counter > seen + 1) return err('INVALID_OP', `or-map update ${dot.counter}@${dot.replica} arrived before ${seen + 1}@${dot.replica}: ops must be validated and applied one by one in causal order`);
  const nestedState = state.fields.get(field)?.get(variantKey(fieldType, options.value))?.state ?? t.value.create(options.value);
  const nested = fieldType === 'or-map' ? validateAt(op.op, nestedState as OrMapState, depth + 1) : (t.value.validateOp(op.op, nestedState) as Result<Json>);
  if (!nested.ok) return err('INVALID_OP', `field ${JSON.stringify(field)}: ${nested.error.message}`);
  return ok({ type: 'update', field, fieldType, fieldOptions: options.value, dot, op: nested.value as Json });
}

/** `decode` for a map `depth` levels deep. */
function decodeAt(encoded: unknown, depth: number): Result<OrMapState> {
  const bad = (why: string) => err('BAD_ENCODING', `an or-map encoding is {"clock":{replica:counter},"fields":[{"field":f,"variants":[{"type","options","dots","state"}, ...]}, ...]}: ${why}`);
  if (!isObject(encoded) || !Array.isArray(encoded.fields)) return bad('not an object with a fields array');
  const clock = decodeDotClock(encoded.clock);
  if (!clock) return bad('the clock is not an object of positive counters');
  const fields = new Map<string, Map<string, OrMapVariant>>();
  for (const f of encoded.fields) {
    if (!isObject(f) || !isFieldName(f.field) || !Array.isArray(f.variants) || f.variants.length === 0) return bad('a field is not {"field":name,"variants":[...]} with at least one variant');
    const field = f.field;
    if (fields.has(field)) return bad(`field ${JSON.stringify(field)} appears twice`);
    const variants = new Map<string, OrMapVariant>();
    for (const x of f.variants) {
      if (!isObject(x)) return bad(`a variant of ${JSON.stringify(field)} is not an object`);
      const t = fieldTypeOf(x.type);
      if (!t.ok) return bad(`field ${JSON.stringify(field)}: ${t.error.message}`);
      const type = t.value.name;
      if (type === 'or-map' && depth >= OR_MAP_DEPTH_MAX) return bad(`field ${JSON.stringify(field)} nests maps deeper than ${OR_MAP_DEPTH_MAX}`);
      const options = t.value.parseOptions(x.options);
      if (!options.ok) return bad(`field ${JSON.stringify(field)}: ${options.error.message}`);
      const key = variantKey(type, options.value);
      if (variants.has(key)) return bad(`field ${JSON.stringify(field)} has two ${type} variants with equal options`);
      const dots = decodeReplicaDots(x.dots);
      if (!dots) return bad(`field ${JSON.stringify(field)} has malformed dots`);
      if (dots.some((d) => d.counter > (clock.get(d.replica) ?? 0))) return bad(`field ${JSON.stringify(field)} has a dot beyond the clock`);
      const nested = type === 'or-map' ? decodeAt(x.state, depth + 1) : (t.value.decode(x.state as Json) as Result<unknown>);
      if (!nested.ok) return bad(`field ${JSON.stringify(field)}: ${nested.error.message}`);
      variants.set(key, { type, options: options.value, dots: new Map(dots.map((d) => [d.replica, d.counter])), state: nested.value });
    }
    fields.set(field, variants);
  }
  return ok({ clock, fields });
}

/** The implementation of a field's type (the map itself for a nested map). */
function fieldTypeOf(name: unknown): Result<AnyCrdtType> {
  return typeByName(name, orMap);
}

/** The implementation of a type that is already in the state (so known to exist). */
function typeOf(name: TypeName): AnyCrdtType {
  const t = fieldTypeOf(name);
  if (!t.ok) throw new Error(`or-map: state holds unknown type ${name}`);
  return t.value;
}

/** Identifies a variant: the type name, a space, the canonical options. */
function variantKey(type: TypeName, options: Json): string {
  return `${type} ${canonicalJson(options)}`;
}

/** The variant a field shows: of those with dots, the first by type key; undefined when hidden. */
function shownVariant(variants: ReadonlyMap<string, OrMapVariant>): OrMapVariant | undefined {
  let best: OrMapVariant | undefined;
  let bestKey = '';
  for (const [key, v] of variants) {
    if (v.dots.size > 0 && (best === undefined || compareStrings(key, bestKey) < 0)) {
      best = v;
      bestKey = key;
    }
  }
  return best;
}

function isFieldName(v: unknown): v is string {
  return isNonEmptyString(v) && v.length <= OR_MAP_FIELD_CHARS_MAX;
}

/** Sets a field as an own property, so that a field named "__proto__" stays data. */
function defineField(out: OrMapValue, field: string, value: Json): void {
  Object.defineProperty(out, field, { value, writable: true, enumerable: true, configurable: true });
}
