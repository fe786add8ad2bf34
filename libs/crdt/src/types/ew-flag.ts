import type { CrdtType } from '../crdt-type';
import { isObject } from '../json';
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
 * `ew-flag`: an enable-wins flag (Almeida, Shoker & Baquero, "Delta State Replicated Data
 * Types", 2018, fig. 3), false until first enabled.
 *
 * Merge semantics: the flag is on while any enable dot is live. Enable adds a fresh dot
 * and drops the enable dots its origin saw; disable drops the dots its origin saw and adds
 * none. A disable cannot remove an enable it did not see, so enable ‖ disable gives true.
 *
 * Commands: `{"type":"enable"}` and `{"type":"disable"}`. Disabling a disabled flag (or
 * enabling an enabled one) still yields an op; it is harmless and keeps retries simple.
 */
export type EwFlagState = DotStore<null>;

/** An ew-flag op: `enable` adds `dot`; both drop the `observed` enable dots. */
export type EwFlagOp =
  | { readonly type: 'enable'; readonly dot: DotJson; readonly observed: DotJson[] }
  | { readonly type: 'disable'; readonly observed: DotJson[] };

const OP_SHAPE = 'an ew-flag op is {"type":"enable","dot":{"replica","counter"},"observed":[dots]} or {"type":"disable","observed":[dots]}';

/** The enable-wins flag type. */
export const ewFlag: CrdtType<EwFlagState, EwFlagOp, boolean> = {
  name: 'ew-flag',
  parseOptions: (options) => (options === undefined || options === null ? ok(null) : err('INVALID_OPTIONS', 'ew-flag takes no options')),
  create: () => createDotStore<null>(),
  prepare(state, command, ctx) {
    if (!isObject(command)) return err('BAD_COMMAND', 'an ew-flag command is an object like {"type":"enable"}');
    if (command.type === 'disable') return ok({ type: 'disable', observed: liveDots(state) });
    if (command.type !== 'enable') return err('UNKNOWN_COMMAND', `ew-flag understands "enable" and "disable", not ${JSON.stringify(command.type)}`);
    const dot = nextDot(state, ctx.replica);
    if (!dot) return err('OUT_OF_RANGE', `replica ${ctx.replica} has used every dot counter on this key`);
    return ok({ type: 'enable', dot, observed: liveDots(state) });
  },
  validateOp(op, state): Result<EwFlagOp> {
    if (!isObject(op) || (op.type !== 'enable' && op.type !== 'disable')) return err('INVALID_OP', OP_SHAPE);
    const observed = parseDots(op.observed);
    const dot = op.type === 'enable' ? parseDot(op.dot) : null;
    if (!observed || dot === undefined) return err('INVALID_OP', OP_SHAPE);
    const gap = causalGap(state, dot, observed);
    if (gap) return err('INVALID_OP', `ew-flag op out of causal order: ${gap}`);
    return ok(dot ? { type: 'enable', dot, observed } : { type: 'disable', observed });
  },
  apply(state, op) {
    applyDots(state, op.type === 'enable' ? op.dot : null, null, op.observed);
  },
  value: (state) => state.entries.size > 0,
  encode: (state) => encodeDotStore(state),
  decode(encoded) {
    const store = decodeDotStore(encoded, () => null);
    return store ? ok(store) : err('BAD_ENCODING', 'an ew-flag encoding is {"clock":{replica:counter},"entries":[{"counter","replica"}]}');
  },
  clone: (state) => cloneDotStore(state),
  clear: (state) => clearDotStore(state),
  // Nothing to drop: live dots are exactly the enables no one has disabled yet, and the
  // clock is what names future dots and recognises duplicates.
  compact: () => undefined,
};
