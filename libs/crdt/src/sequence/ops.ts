import { isNat, isNonEmptyString, isObject, type Json } from '../json';
import { err, ok, type Result } from '../result';
import type { Content } from './run';
import type { ElementId, IdSpan, Sequence } from './sequence';

/**
 * Commands and ops shared by `text` and `list`: parsing client commands, and checking
 * ops from the wire (hostile input) against the state they are about to be applied to.
 */

/** Elements one insert may carry, at most (a 1 MB paste is fine; a runaway client is not). */
export const INSERT_ELEMENTS_MAX = 1_000_000;

/** A delete op: the ids of the deleted elements, as spans. */
export interface SequenceDeleteOp {
  readonly type: 'delete';
  readonly spans: IdSpan[];
  readonly [k: string]: Json;
}

/** Reads an own property only, so that nothing comes from a prototype. */
export function own(o: Record<string, unknown>, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(o, key) ? o[key] : undefined;
}

/** True when `v` is a positive safe integer (clocks start at 1). */
export function isClock(v: unknown): v is number {
  return isNat(v) && v >= 1;
}

/** True when `v` is an element id `[replica, clock]`. */
export function isElementId(v: unknown): v is ElementId {
  return Array.isArray(v) && v.length === 2 && isNonEmptyString(v[0]) && isClock(v[1]);
}

/** Reads a command's `index` against a sequence of `length` elements; `end` allows index = length. */
export function parseIndex(v: unknown, length: number, end: boolean): Result<number> {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) return err('BAD_COMMAND', '"index" must be an integer');
  if (v < 0 || v > length || (!end && v === length)) {
    return err('OUT_OF_RANGE', `index ${v} is outside 0..${end ? length : length - 1} (the sequence has ${length} elements)`);
  }
  return ok(v);
}

/** The first clock of a new op of `count` elements, or OUT_OF_RANGE when the clocks would pass 2^53 - 1. */
export function newClock<C extends Content>(seq: Sequence<C>, count: number): Result<number> {
  const clock = seq.nextClock();
  if (clock > Number.MAX_SAFE_INTEGER - (count - 1)) return err('OUT_OF_RANGE', 'element clocks would pass 2^53 - 1');
  return ok(clock);
}

/** Turns `{"type":"delete","index":i,"count"?:n}` into a delete op. */
export function prepareDelete<C extends Content>(seq: Sequence<C>, command: Record<string, unknown>): Result<SequenceDeleteOp> {
  const rawCount = own(command, 'count');
  const count = rawCount === undefined ? 1 : rawCount;
  if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 1) return err('BAD_COMMAND', '"count" must be a positive integer (default 1)');
  const index = parseIndex(own(command, 'index'), seq.length, false);
  if (!index.ok) return index;
  if (index.value + count > seq.length) {
    return err('OUT_OF_RANGE', `deleting ${count} from index ${index.value} passes the end (the sequence has ${seq.length} elements)`);
  }
  return ok({ type: 'delete', spans: seq.spansAt(index.value, count) });
}

/** Checks a delete op from the wire: every span well formed and naming only clocks already applied. */
export function validateDelete<C extends Content>(op: Record<string, unknown>, seq: Sequence<C>): Result<SequenceDeleteOp> {
  const spans = own(op, 'spans');
  if (!Array.isArray(spans) || spans.length === 0) return err('INVALID_OP', 'a delete op is {"type":"delete","spans":[[replica,clock,count],...]} with at least one span');
  const out: IdSpan[] = [];
  for (const s of spans as unknown[]) {
    if (!Array.isArray(s) || s.length !== 3 || !isNonEmptyString(s[0]) || !isClock(s[1]) || !isNat(s[2]) || s[2] < 1) {
      return err('INVALID_OP', 'a delete span is [replica (non-empty string), clock (positive integer), count (positive integer)]');
    }
    const [replica, clock, count] = s as [string, number, number];
    const applied = seq.appliedClock(replica);
    if (clock > applied || count - 1 > applied - clock) {
      return err('INVALID_OP', `delete span ${JSON.stringify(s)} names elements that were never applied here; ops must arrive in causal order`);
    }
    out.push([replica, clock, count]);
  }
  return ok({ type: 'delete', spans: out });
}

/**
 * Checks the common fields of an insert-like op from the wire (`replica`, `clock`, and the
 * element it goes after) for `count` new elements. A duplicate (its clock already applied)
 * passes: applying it changes nothing.
 */
export function validatePlacement<C extends Content>(seq: Sequence<C>, replica: unknown, clock: unknown, after: unknown, count: number, shape: string): Result<{ replica: string; clock: number; after: ElementId | null }> {
  if (!isNonEmptyString(replica) || !isClock(clock) || !(after === null || isElementId(after))) return err('INVALID_OP', shape);
  if (count < 1 || count > INSERT_ELEMENTS_MAX) return err('INVALID_OP', `an insert carries 1..${INSERT_ELEMENTS_MAX} elements, not ${count}`);
  if (clock > Number.MAX_SAFE_INTEGER - (count - 1)) return err('INVALID_OP', 'element clocks would pass 2^53 - 1');
  const placement = { replica, clock, after: after === null ? null : ([after[0], after[1]] as ElementId) };
  if (clock <= seq.appliedClock(replica)) return ok(placement); // a duplicate
  if (after !== null) {
    // RGA needs every element's clock above the one it follows (see Sequence).
    if (after[1] >= clock) return err('INVALID_OP', `an insert at clock ${clock} cannot follow element ${after[1]}@${after[0]}: clocks grow along causality`);
    if (!seq.has(after[0], after[1])) {
      const why = after[1] <= seq.appliedClock(after[0]) ? 'it was dropped by compaction (no op may be in flight across a compaction)' : 'it was never applied here; ops must arrive in causal order';
      return err('INVALID_OP', `an insert follows element ${after[1]}@${after[0]}, which this replica does not have: ${why}`);
    }
  }
  return ok(placement);
}
