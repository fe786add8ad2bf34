import type { CrdtType } from '../crdt-type';
import { isNat, isNonEmptyString, isObject, type Json } from '../json';
import { err, ok, type Result } from '../result';

/**
 * `lifecycle`: a state that only moves forward through a declared sequence, such as
 * open → modified → closed (a max register over the declared order).
 *
 * Merge semantics: the state is the latest of all transitions applied, so concurrent
 * transitions resolve to the one furthest along (modified ‖ closed gives closed). Apply
 * is `max`, hence idempotent and commutative.
 *
 * Options: `{"states":[...]}`, 2 to 64 distinct non-empty names (each at most 256 code
 * units), required; a key starts in the first state.
 *
 * Commands: `{"type":"transition","to":name}`, or the alias `{"type":"set","value":name}`.
 * Moving back to an earlier state is `INVALID_TRANSITION`; a name the key does not
 * declare is `BAD_COMMAND`. Moving to the current state is allowed and yields an op that
 * changes nothing, so a client may retry a transition safely.
 */
export interface LifecycleState {
  readonly states: readonly string[];
  /** Index of the current state in `states`. */
  index: number;
}

/** A lifecycle op: the state becomes at least `states[index]`; `to` names it, as a cross-check. */
export type LifecycleOp = { readonly type: 'transition'; readonly index: number; readonly to: string };

/** Fewest states a lifecycle declares. */
export const LIFECYCLE_STATES_MIN = 2;
/** Most states a lifecycle declares. */
export const LIFECYCLE_STATES_MAX = 64;
/** Longest state name, in UTF-16 code units. */
export const LIFECYCLE_STATE_NAME_LENGTH_MAX = 256;

/** The declared states, checked: a copy, or an explanation of what is wrong. */
function parseStates(v: unknown): Result<string[]> {
  if (!Array.isArray(v) || v.length < LIFECYCLE_STATES_MIN || v.length > LIFECYCLE_STATES_MAX) {
    return err('INVALID_OPTIONS', `a lifecycle needs {"states":[...]} with ${LIFECYCLE_STATES_MIN} to ${LIFECYCLE_STATES_MAX} state names`);
  }
  const states: string[] = [];
  for (let i = 0; i < v.length; i++) {
    const s: unknown = v[i];
    if (!isNonEmptyString(s) || s.length > LIFECYCLE_STATE_NAME_LENGTH_MAX) {
      return err('INVALID_OPTIONS', `lifecycle state ${i} must be a non-empty string of at most ${LIFECYCLE_STATE_NAME_LENGTH_MAX} characters`);
    }
    if (states.includes(s)) return err('INVALID_OPTIONS', `lifecycle state ${JSON.stringify(s)} is declared twice`);
    states.push(s);
  }
  return ok(states);
}

/** The lifecycle type. */
export const lifecycle: CrdtType<LifecycleState, LifecycleOp, string> = {
  name: 'lifecycle',
  parseOptions(options) {
    if (!isObject(options)) return err('INVALID_OPTIONS', 'a lifecycle needs options like {"states":["open","modified","closed"]}');
    const extra = Object.keys(options).filter((k) => k !== 'states');
    if (extra.length > 0) return err('INVALID_OPTIONS', `lifecycle options take only "states", not ${extra.map((k) => JSON.stringify(k)).join(', ')}`);
    const states = parseStates(options.states);
    return states.ok ? ok({ states: states.value }) : states;
  },
  create(options) {
    // Options reach here normalised by parseOptions; anything else is a broken invariant.
    const states = parseStates(isObject(options) ? options.states : undefined);
    if (!states.ok) throw new Error(`lifecycle.create: options were not normalised: ${states.error.message}`);
    return { states: states.value, index: 0 };
  },
  prepare(state, command) {
    if (!isObject(command)) return err('BAD_COMMAND', 'a lifecycle command is an object like {"type":"transition","to":"closed"}');
    let to: unknown;
    if (command.type === 'transition') to = command.to;
    else if (command.type === 'set') to = command.value;
    else return err('UNKNOWN_COMMAND', `lifecycle understands "transition" (or its alias "set"), not ${JSON.stringify(command.type)}`);
    const index = typeof to === 'string' ? state.states.indexOf(to) : -1;
    if (index < 0) return err('BAD_COMMAND', `${JSON.stringify(to)} is not a state of this lifecycle; its states are ${state.states.join(', ')}`);
    if (index < state.index) {
      return err('INVALID_TRANSITION', `cannot move back from ${JSON.stringify(state.states[state.index])} to ${JSON.stringify(to)}; states only move forward through ${state.states.join(' → ')}`);
    }
    return ok({ type: 'transition', index, to: state.states[index] });
  },
  validateOp(op, state): Result<LifecycleOp> {
    if (!isObject(op) || op.type !== 'transition' || !isNat(op.index) || typeof op.to !== 'string') {
      return err('INVALID_OP', 'a lifecycle op is {"type":"transition","index":natural number,"to":state name}');
    }
    if (op.index >= state.states.length || state.states[op.index] !== op.to) {
      return err('INVALID_OP', `lifecycle op names state ${op.index} ${JSON.stringify(op.to)}, which this key does not declare (${state.states.join(', ')})`);
    }
    return ok({ type: 'transition', index: op.index, to: op.to });
  },
  apply(state, op) {
    if (op.index > state.index) state.index = op.index;
  },
  value: (state) => state.states[state.index],
  encode: (state): Json => ({ index: state.index, states: [...state.states] }),
  decode(encoded) {
    if (!isObject(encoded)) return err('BAD_ENCODING', 'a lifecycle encoding is {"index":n,"states":[...]}');
    const states = parseStates(encoded.states);
    if (!states.ok) return err('BAD_ENCODING', `bad lifecycle encoding: ${states.error.message}`);
    if (!isNat(encoded.index) || encoded.index >= states.value.length) {
      return err('BAD_ENCODING', `a lifecycle encoding's "index" must be below ${states.value.length}`);
    }
    return ok({ states: states.value, index: encoded.index });
  },
  clone: (state) => ({ states: state.states, index: state.index }),
  compact: () => undefined,
};
