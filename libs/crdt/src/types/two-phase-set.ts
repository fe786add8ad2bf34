import type { CrdtType } from '../crdt-type';
import { canonicalJson } from '../encoding/canonical-json';
import { isObject, type Json } from '../json';
import { err, ok, type Result } from '../result';
import { decodeSetElements, parseSetOpElements, parseSetCommand, SET_BATCH_MAX, sortedSetValues } from './g-set';

/**
 * `2p-set`: a two-phase set of JSON values (Shapiro et al., "A comprehensive study of
 * Convergent and Commutative Replicated Data Types", 2011, §3.3.2). An element can be
 * added, then removed once, and never comes back.
 *
 * Merge semantics: remove wins for ever. Removed elements stay as tombstones so that an
 * add which was concurrent with the remove (or is a duplicate) cannot bring them back; the
 * tombstones are the set's history, so `compact` keeps them.
 *
 * Commands: `{"type":"add","value":v}` / `{"type":"remove","value":v}`, or the batch forms
 * with `"values":[...]`. At the origin, adding a removed element and removing an element
 * that is not in the set (never added, or already removed) are `INVALID_TRANSITION`, and
 * a batch is all or nothing.
 */
export interface TwoPhaseSetState {
  /** Elements in the set: canonical JSON → element. Disjoint from `removed`. */
  readonly added: Map<string, Json>;
  /** Tombstones of removed elements: canonical JSON → element. */
  readonly removed: Map<string, Json>;
}

/** A 2p-set op: the values to add or to remove for ever. */
export interface TwoPhaseSetOp {
  readonly type: 'add' | 'remove';
  readonly values: Json[];
  readonly [k: string]: Json;
}

/** The `2p-set` type: a set whose elements, once removed, never come back. */
export const twoPhaseSet: CrdtType<TwoPhaseSetState, TwoPhaseSetOp, Json[]> = {
  name: '2p-set',
  parseOptions: (options) => (options === undefined || options === null ? ok(null) : err('INVALID_OPTIONS', '2p-set takes no options')),
  create: () => ({ added: new Map(), removed: new Map() }),
  prepare(state, command) {
    const parsed = parseSetCommand('2p-set', command, ['add', 'remove']);
    if (!parsed.ok) return parsed;
    const { verb, elements } = parsed.value;
    const values: Json[] = [];
    for (const e of elements) {
      if (state.removed.has(e.key)) {
        return err('INVALID_TRANSITION', `${e.key} was removed from this 2p-set and can never be ${verb === 'add' ? 'added again' : 'removed again'}`);
      }
      if (verb === 'remove' && !state.added.has(e.key)) return err('INVALID_TRANSITION', `${e.key} is not in this 2p-set, so it cannot be removed`);
      // Adding an element already present changes nothing, so it is left out of the op.
      if (verb === 'remove' || !state.added.has(e.key)) values.push(e.value);
    }
    return ok({ type: verb, values });
  },
  validateOp(op): Result<TwoPhaseSetOp> {
    const elements = isObject(op) && (op.type === 'add' || op.type === 'remove') ? parseSetOpElements(op.values) : undefined;
    if (!elements) return err('INVALID_OP', `a 2p-set op is {"type":"add"|"remove","values":[json, ...]} with at most ${SET_BATCH_MAX} values`);
    return ok({ type: (op as { type: 'add' | 'remove' }).type, values: elements.map((e) => e.value) });
  },
  apply(state, op) {
    for (const v of op.values) {
      const key = canonicalJson(v);
      if (op.type === 'remove') {
        state.added.delete(key);
        if (!state.removed.has(key)) state.removed.set(key, v);
      } else if (!state.removed.has(key) && !state.added.has(key)) {
        state.added.set(key, v);
      }
    }
  },
  value: (state) => sortedSetValues(state.added),
  encode: (state) => ({ added: sortedSetValues(state.added), removed: sortedSetValues(state.removed) }),
  decode(encoded) {
    const added = isObject(encoded) ? decodeSetElements(encoded.added) : undefined;
    const removed = isObject(encoded) ? decodeSetElements(encoded.removed) : undefined;
    if (!added || !removed) return err('BAD_ENCODING', 'a 2p-set encoding is {"added":[json, ...],"removed":[json, ...]} without duplicates');
    for (const k of added.keys()) if (removed.has(k)) return err('BAD_ENCODING', `2p-set encoding lists ${k} as both added and removed`);
    return ok({ added, removed });
  },
  clone: (state) => ({ added: new Map(state.added), removed: new Map(state.removed) }),
  compact: () => undefined,
};
