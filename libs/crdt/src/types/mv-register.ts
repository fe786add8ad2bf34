import type { CrdtType } from '../crdt-type';
import { canonicalJson, compareStrings } from '../encoding/canonical-json';
import { isJson, isObject, type Json } from '../json';
import { err, ok, type Result } from '../result';
import {
  applyDots,
  causalGap,
  clearDotStore,
  cloneDotStore,
  createDotStore,
  decodeDotStore,
  encodeDotStore,
  liveDots,
  nextDot,
  parseDot,
  parseDots,
  type DotJson,
  type DotStore,
} from './dot-store';

/**
 * `mv-register`: a multi-value register (Dynamo's siblings; rust-crdt's `MVReg`).
 *
 * Merge semantics: a set adds its value under a fresh dot and drops the dots its origin
 * saw, so it replaces everything it overwrote and nothing it did not. Concurrent sets all
 * survive, and the next set that sees them all resolves them into one.
 *
 * Value: the distinct concurrent values, sorted by their canonical JSON so every replica
 * reads the same array; `[]` until the first set. Two concurrent sets of equal values
 * read as one value (they stay two dots, so a later set still has to observe both).
 *
 * Commands: `{"type":"set","value":<json>}`.
 */
export type MvRegisterState = DotStore<Json>;

/** An mv-register op: `value` under the new `dot`, replacing the `observed` dots. */
export type MvRegisterOp = { readonly type: 'set'; readonly value: Json; readonly dot: DotJson; readonly observed: DotJson[] };

const OP_SHAPE = 'an mv-register op is {"type":"set","value":<json>,"dot":{"replica","counter"},"observed":[dots]}';

/** The multi-value register type. */
export const mvRegister: CrdtType<MvRegisterState, MvRegisterOp, Json[]> = {
  name: 'mv-register',
  parseOptions: (options) => (options === undefined || options === null ? ok(null) : err('INVALID_OPTIONS', 'mv-register takes no options')),
  create: () => createDotStore<Json>(),
  prepare(state, command, ctx) {
    if (!isObject(command)) return err('BAD_COMMAND', 'an mv-register command is an object like {"type":"set","value":42}');
    if (command.type !== 'set') return err('UNKNOWN_COMMAND', `mv-register understands "set", not ${JSON.stringify(command.type)}`);
    if (!Object.prototype.hasOwnProperty.call(command, 'value') || !isJson(command.value)) {
      return err('BAD_COMMAND', '"value" must be JSON data (finite numbers, plain objects, at most 32 levels deep)');
    }
    const dot = nextDot(state, ctx.replica);
    if (!dot) return err('OUT_OF_RANGE', `replica ${ctx.replica} has used every dot counter on this key`);
    // Copied so that the state never shares objects with the caller's command.
    return ok({ type: 'set', value: structuredClone(command.value), dot, observed: liveDots(state) });
  },
  validateOp(op, state): Result<MvRegisterOp> {
    if (!isObject(op) || op.type !== 'set' || !isJson(op.value)) return err('INVALID_OP', OP_SHAPE);
    const dot = parseDot(op.dot);
    const observed = parseDots(op.observed);
    if (!dot || !observed) return err('INVALID_OP', OP_SHAPE);
    const gap = causalGap(state, dot, observed);
    if (gap) return err('INVALID_OP', `mv-register op out of causal order: ${gap}`);
    return ok({ type: 'set', value: structuredClone(op.value), dot, observed });
  },
  apply(state, op) {
    applyDots(state, op.dot, op.value, op.observed);
  },
  value(state) {
    const byText = new Map<string, Json>();
    for (const e of state.entries.values()) byText.set(canonicalJson(e.value), e.value);
    return [...byText.keys()].sort(compareStrings).map((k) => byText.get(k)!);
  },
  encode: (state) => encodeDotStore(state, (v) => v),
  decode(encoded) {
    const store = decodeDotStore(encoded, (v): Json | undefined => (isJson(v) ? structuredClone(v) : undefined));
    return store ? ok(store) : err('BAD_ENCODING', 'an mv-register encoding is {"clock":{replica:counter},"entries":[{"counter","replica","value"}]}');
  },
  // Values are never mutated in place, so the copy may share them.
  clone: (state) => cloneDotStore(state),
  clear: (state) => clearDotStore(state),
  // Nothing to drop: live values are all concurrent, and the clock recognises duplicates.
  compact: () => undefined,
};
