import type { CrdtType, ReplicaId } from '../crdt-type';
import { canonicalJson, compareStrings } from '../encoding/canonical-json';
import { isNat, isNonEmptyString, isObject, type Json } from '../json';
import { err, ok, type Result } from '../result';
import { DOTS_MAX, parseDot, type DotJson } from './dot-store';
import { parseSetOpElements, parseSetCommand, SET_BATCH_MAX, setElementOf } from './g-set';

/**
 * `or-set`: an add-wins observed-remove set of JSON values, op-based and without
 * tombstones (Bieniusa et al., "An optimized conflict-free replicated set", 2012; rust-crdt's
 * `Orswot`).
 *
 * Every add makes a new dot (origin replica, that replica's next counter in this set) and
 * tags the element with it. A remove carries the dots its origin observed on the element
 * and removes only those, so an add concurrent with a remove (a dot the remover did not
 * see) keeps the element: add wins. Causal delivery means a remove never arrives before
 * the adds it observed, so no tombstones are needed; the set's clock (the highest dot
 * applied per replica) makes a duplicate add recognisable, so apply is idempotent.
 *
 * An element keeps only its latest dot per replica: a replica's later add of the same
 * element causally follows its earlier one, so any remove that observed the later dot
 * also observed the earlier, and dropping the earlier changes no outcome.
 *
 * Commands: `{"type":"add","value":v}` / `{"type":"remove","value":v}`, or the batch forms
 * with `"values":[...]`. Removing an element that is not in the set is not an error: its
 * op removes nothing (there is nothing observed to remove). Both run in time independent
 * of the set's size: elements are found by their canonical JSON in a map.
 */
export interface OrSetState {
  /** Per replica, the counter of its latest add applied here; all earlier ones are applied too. */
  readonly clock: Map<ReplicaId, number>;
  /** Canonical JSON → the element and its dots. Entries are replaced, never mutated. */
  readonly entries: Map<string, OrSetEntry>;
}

/** An add's identity: its origin replica and that replica's counter in this set. */
export type OrSetDot = DotJson;

/** One element of an or-set with the dots of the adds that keep it in (at most one per replica). */
export interface OrSetEntry {
  readonly value: Json;
  /** Sorted by replica; never empty. */
  readonly dots: readonly OrSetDot[];
}

/** One element of a remove op with the dots its origin observed on it. */
export type OrSetRemoval = { readonly value: Json; readonly dots: OrSetDot[] };

/** An or-set op: add `values` under a new dot, or remove the observed dots of some elements. */
export type OrSetOp =
  | { readonly type: 'add'; readonly dot: OrSetDot; readonly values: Json[] }
  | { readonly type: 'remove'; readonly removals: OrSetRemoval[] };

/** The `or-set` type: an add-wins observed-remove set. */
export const orSet: CrdtType<OrSetState, OrSetOp, Json[]> = {
  name: 'or-set',
  parseOptions: (options) => (options === undefined || options === null ? ok(null) : err('INVALID_OPTIONS', 'or-set takes no options')),
  create: () => ({ clock: new Map(), entries: new Map() }),
  prepare(state, command, ctx) {
    const parsed = parseSetCommand('or-set', command, ['add', 'remove']);
    if (!parsed.ok) return parsed;
    const { verb, elements } = parsed.value;
    if (verb === 'add') {
      const counter = (state.clock.get(ctx.replica) ?? 0) + 1;
      if (!Number.isSafeInteger(counter)) return err('OUT_OF_RANGE', `replica ${ctx.replica} has used up its dots in this or-set`);
      return ok({ type: 'add', dot: { replica: ctx.replica, counter }, values: elements.map((e) => e.value) });
    }
    const removals: OrSetRemoval[] = [];
    for (const e of elements) {
      const entry = state.entries.get(e.key);
      if (entry) removals.push({ value: e.value, dots: entry.dots.map((d) => ({ replica: d.replica, counter: d.counter })) });
    }
    return ok({ type: 'remove', removals });
  },
  validateOp(op, state): Result<OrSetOp> {
    if (isObject(op) && op.type === 'add') {
      const values = parseSetOpElements(op.values);
      const dot = parseDot(op.dot);
      if (!dot || !values) {
        return err('INVALID_OP', `an or-set add op is {"type":"add","dot":{"replica":string,"counter":n>0},"values":[json, ...]} with at most ${SET_BATCH_MAX} values`);
      }
      const { replica, counter } = dot;
      const next = (state.clock.get(replica) ?? 0) + 1;
      // A gap means an add of this replica was skipped: the clock would then claim to have
      // seen it, and drop it as a duplicate when it came. Causal delivery rules this out.
      if (counter > next) return err('INVALID_OP', `or-set add ${counter}@${replica} arrived before ${next}@${replica}: ops must be validated and applied one by one in causal order`);
      return ok({ type: 'add', dot, values: values.map((e) => e.value) });
    }
    if (isObject(op) && op.type === 'remove') {
      const removals = parseRemovals(op.removals, state.clock);
      if (typeof removals === 'string') return err('INVALID_OP', removals);
      return ok({ type: 'remove', removals });
    }
    return err('INVALID_OP', 'an or-set op is {"type":"add","dot":...,"values":[...]} or {"type":"remove","removals":[{"value":json,"dots":[...]}, ...]}');
  },
  apply(state, op) {
    if (op.type === 'add') {
      const { replica, counter } = op.dot;
      if (counter <= (state.clock.get(replica) ?? 0)) return; // a duplicate: already applied
      state.clock.set(replica, counter);
      const dot: OrSetDot = { replica, counter };
      for (const v of op.values) {
        const key = canonicalJson(v);
        const entry = state.entries.get(key);
        state.entries.set(key, entry ? { value: entry.value, dots: withDot(entry.dots, dot) } : { value: v, dots: [dot] });
      }
      return;
    }
    for (const removal of op.removals) {
      const key = canonicalJson(removal.value);
      const entry = state.entries.get(key);
      if (!entry) continue;
      const dots = entry.dots.filter((d) => !removal.dots.some((o) => o.replica === d.replica && o.counter >= d.counter));
      if (dots.length === entry.dots.length) continue;
      if (dots.length === 0) state.entries.delete(key);
      else state.entries.set(key, { value: entry.value, dots });
    }
  },
  value(state) {
    const keys = [...state.entries.keys()].sort();
    const out: Json[] = new Array(keys.length);
    for (let i = 0; i < keys.length; i++) out[i] = state.entries.get(keys[i])!.value;
    return out;
  },
  encode(state) {
    const entries: Json[] = [];
    for (const key of [...state.entries.keys()].sort()) {
      const e = state.entries.get(key)!;
      entries.push({ dots: e.dots.map(encodeDot), value: e.value });
    }
    return { clock: encodeDotClock(state.clock), entries };
  },
  decode(encoded) {
    const bad = (why: string) => err('BAD_ENCODING', `an or-set encoding is {"clock":{replica:counter},"entries":[{"value":json,"dots":[dot, ...]}, ...]}: ${why}`);
    if (!isObject(encoded) || !Array.isArray(encoded.entries)) return bad('not an object with an entries array');
    const clock = decodeDotClock(encoded.clock);
    if (!clock) return bad('the clock is not an object of positive counters');
    const entries = new Map<string, OrSetEntry>();
    for (const x of encoded.entries) {
      if (!isObject(x)) return bad('an entry is not an object');
      const e = setElementOf(x.value, 'BAD_ENCODING');
      if (!e.ok) return bad(e.error.message);
      if (entries.has(e.value.key)) return bad(`${e.value.key} appears twice`);
      const dots = decodeReplicaDots(x.dots);
      if (!dots || dots.length === 0) return bad(`${e.value.key} has no dots or malformed ones`);
      if (dots.some((d) => d.counter > (clock.get(d.replica) ?? 0))) return bad(`${e.value.key} has a dot beyond the clock`);
      entries.set(e.value.key, { value: e.value.value, dots });
    }
    return ok({ clock, entries });
  },
  // Entries are immutable, so copying the maps is a full copy.
  clone: (state) => ({ clock: new Map(state.clock), entries: new Map(state.entries) }),
  // Nothing to drop: removed elements leave no tombstones, and the clock must stay to
  // recognise duplicates.
  compact: () => undefined,
  // No element, but the clock stays: later adds' dots follow on from it.
  clear: (state) => ({ clock: new Map(state.clock), entries: new Map() }),
};

/** `dots` with `dot` in place of the same replica's dot (or added), kept sorted by replica. */
function withDot(dots: readonly OrSetDot[], dot: OrSetDot): OrSetDot[] {
  const out: OrSetDot[] = [];
  let placed = false;
  for (const d of dots) {
    if (d.replica === dot.replica) continue;
    if (!placed && compareStrings(dot.replica, d.replica) < 0) {
      out.push(dot);
      placed = true;
    }
    out.push(d);
  }
  if (!placed) out.push(dot);
  return out;
}

function encodeDot(d: OrSetDot): Json {
  return { counter: d.counter, replica: d.replica };
}

/** A clock as `{replica: counter}` with sorted keys, as dot-store encodes its clock. */
export function encodeDotClock(clock: ReadonlyMap<ReplicaId, number>): Json {
  // Object.fromEntries defines own properties, so a replica named "__proto__" survives.
  return Object.fromEntries([...clock.keys()].sort(compareStrings).map((r): [string, Json] => [r, clock.get(r)!]));
}

/** Decodes `encodeDotClock`'s output; undefined when malformed. */
export function decodeDotClock(v: unknown): Map<ReplicaId, number> | undefined {
  if (!isObject(v)) return undefined;
  const clock = new Map<ReplicaId, number>();
  for (const r of Object.keys(v)) {
    const c = v[r];
    if (!isNonEmptyString(r) || !isNat(c) || c === 0) return undefined;
    clock.set(r, c);
  }
  return clock;
}

/** At most `DOTS_MAX` dots with distinct replicas, copied and sorted by replica; undefined when malformed. */
export function decodeReplicaDots(v: unknown): OrSetDot[] | undefined {
  if (!Array.isArray(v) || v.length > DOTS_MAX) return undefined;
  const out: OrSetDot[] = [];
  const seen = new Set<string>();
  for (const x of v) {
    const d = parseDot(x);
    if (!d || seen.has(d.replica)) return undefined;
    seen.add(d.replica);
    out.push(d);
  }
  return out.sort((a, b) => compareStrings(a.replica, b.replica));
}

/**
 * Checks a remove op's removals against the clock; the message says what is wrong. Every
 * observed dot must already be applied here: causal delivery brings the adds a remove saw
 * before the remove, and a dot from the future would remove an add that some replicas
 * apply before this remove and others after.
 */
function parseRemovals(v: unknown, clock: ReadonlyMap<ReplicaId, number>): OrSetRemoval[] | string {
  if (!Array.isArray(v) || v.length > SET_BATCH_MAX) return `"removals" must be an array of at most ${SET_BATCH_MAX} {"value":json,"dots":[dot, ...]}`;
  const out: OrSetRemoval[] = [];
  for (const r of v) {
    if (!isObject(r)) return 'a removal is {"value":json,"dots":[{"replica":string,"counter":n>0}, ...]}';
    const e = setElementOf(r.value, 'INVALID_OP');
    if (!e.ok) return e.error.message;
    const dots = decodeReplicaDots(r.dots);
    if (!dots) return `the removal of ${e.value.key} needs "dots", a list of dots with distinct replicas`;
    for (const d of dots) {
      if (d.counter > (clock.get(d.replica) ?? 0)) return `the removal of ${e.value.key} names ${d.counter}@${d.replica}, an add not applied here yet: ops must be applied in causal order`;
    }
    out.push({ value: e.value.value, dots });
  }
  return out;
}
