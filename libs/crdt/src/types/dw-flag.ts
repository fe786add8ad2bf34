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
 * `dw-flag`: a disable-wins flag (Almeida, Shoker & Baquero, "Delta State Replicated Data
 * Types", 2018, §7), false until first enabled.
 *
 * Merge semantics: both commands add a fresh dot tagged with their side and drop every
 * dot their origin saw, of either side. The flag is on when some enable dot is live and
 * no disable dot is: so enable ‖ disable gives false, a later enable (one that saw the
 * disable) gives true, and a flag no one ever enabled is false. The live dots are always
 * mutually concurrent, so the store holds at most one dot per replica.
 *
 * Commands: `{"type":"enable"}` and `{"type":"disable"}`.
 */
export type DwFlagState = DotStore<DwFlagSide>;

/** Which command made a live dot. */
export type DwFlagSide = 'enable' | 'disable';

/** A dw-flag op: adds `dot` on its side and drops the `observed` dots of both sides. */
export type DwFlagOp = { readonly type: DwFlagSide; readonly dot: DotJson; readonly observed: DotJson[] };

const OP_SHAPE = 'a dw-flag op is {"type":"enable"|"disable","dot":{"replica","counter"},"observed":[dots]}';

/** The disable-wins flag type. */
export const dwFlag: CrdtType<DwFlagState, DwFlagOp, boolean> = {
  name: 'dw-flag',
  parseOptions: (options) => (options === undefined || options === null ? ok(null) : err('INVALID_OPTIONS', 'dw-flag takes no options')),
  create: () => createDotStore<DwFlagSide>(),
  prepare(state, command, ctx) {
    if (!isObject(command)) return err('BAD_COMMAND', 'a dw-flag command is an object like {"type":"disable"}');
    if (command.type !== 'enable' && command.type !== 'disable') {
      return err('UNKNOWN_COMMAND', `dw-flag understands "enable" and "disable", not ${JSON.stringify(command.type)}`);
    }
    const dot = nextDot(state, ctx.replica);
    if (!dot) return err('OUT_OF_RANGE', `replica ${ctx.replica} has used every dot counter on this key`);
    return ok({ type: command.type, dot, observed: liveDots(state) });
  },
  validateOp(op, state): Result<DwFlagOp> {
    if (!isObject(op) || (op.type !== 'enable' && op.type !== 'disable')) return err('INVALID_OP', OP_SHAPE);
    const dot = parseDot(op.dot);
    const observed = parseDots(op.observed);
    if (!dot || !observed) return err('INVALID_OP', OP_SHAPE);
    const gap = causalGap(state, dot, observed);
    if (gap) return err('INVALID_OP', `dw-flag op out of causal order: ${gap}`);
    return ok({ type: op.type, dot, observed });
  },
  apply(state, op) {
    applyDots(state, op.dot, op.type, op.observed);
  },
  value(state) {
    let enabled = false;
    for (const e of state.entries.values()) {
      if (e.value === 'disable') return false;
      enabled = true;
    }
    return enabled;
  },
  encode: (state) => encodeDotStore(state, (side) => side),
  decode(encoded) {
    const store = decodeDotStore(encoded, (v): DwFlagSide | undefined => (v === 'enable' || v === 'disable' ? v : undefined));
    return store ? ok(store) : err('BAD_ENCODING', 'a dw-flag encoding is {"clock":{replica:counter},"entries":[{"counter","replica","value":"enable"|"disable"}]}');
  },
  clone: (state) => cloneDotStore(state),
  clear: (state) => clearDotStore(state),
  // Nothing to drop: every live dot is concurrent with the others and decides the value,
  // and the clock names future dots and recognises duplicates.
  compact: () => undefined,
};
