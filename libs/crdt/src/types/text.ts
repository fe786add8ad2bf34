import type { CrdtType, ReplicaId } from '../crdt-type';
import { isObject, type Json } from '../json';
import { err, ok, type Result } from '../result';
import { INSERT_ELEMENTS_MAX, newClock, own, parseIndex, prepareDelete, validateDelete, validatePlacement, type SequenceDeleteOp } from '../sequence/ops';
import type { Run } from '../sequence/run';
import { Sequence, type ContentKind, type ElementId } from '../sequence/sequence';

/** Below this many code units V8 copies on concatenation; above it builds a rope node. */
const FLAT_MIN = 13;

/**
 * Strings as run content. Appending one keystroke at a time would otherwise grow a chain
 * of V8 rope ("cons") nodes, about 20 bytes per character; reading a character flattens a
 * rope in place, so the content is flattened whenever its length crosses a multiple of a
 * step that grows with it (amortised O(1) copying per character, ropes stay short).
 */
const textKind: ContentKind<string> = {
  length: (c) => c.length,
  slice: (c, from, to) => c.slice(from, to),
  append(run: Run<string>, more: string): void {
    const before = run.content!;
    const s = before + more;
    run.content = s;
    if (s.length >= FLAT_MIN) {
      const shift = s.length < 512 ? 5 : 27 - Math.clz32(s.length); // step 32, or about length / 16
      if (before.length >>> shift !== s.length >>> shift) s.charCodeAt(0);
    }
  },
  own: (c) => c,
  decode: (v) => (typeof v === 'string' ? v : undefined),
  encode: (c) => c,
};

/** The state of a `text` key. */
export type TextState = Sequence<string>;

/** A text insert op: `text` goes after element `after` (null: at the start), its k-th character gets id (replica, clock + k). */
export interface TextInsertOp {
  readonly type: 'insert';
  readonly replica: ReplicaId;
  readonly clock: number;
  readonly after: ElementId | null;
  readonly text: string;
  readonly [k: string]: Json;
}

/** A text op. */
export type TextOp = TextInsertOp | SequenceDeleteOp;

const INSERT_SHAPE = 'a text insert op is {"type":"insert","replica":string,"clock":positive integer,"after":[replica,clock]|null,"text":non-empty string}';

/**
 * `text`: a string edited concurrently, by index. A sequence CRDT: RGA with runs (see
 * `Sequence` for the algorithm), indexes in UTF-16 code units as JavaScript strings count.
 *
 * Merge semantics: every character has a stable id; an insert goes after the character it
 * was typed after, concurrent inserts at one place are ordered the same on every replica
 * (newer clock first) and never interleave character by character; a delete removes the
 * characters it saw, and deleting one concurrently twice deletes it once.
 *
 * Commands: `{"type":"insert","index":i,"text":"abc"}` (0 ≤ i ≤ length) and
 * `{"type":"delete","index":i,"count"?:n}` (n ≥ 1, default 1, i + n ≤ length). Value: the string.
 *
 * Tombstones keep only their ids (not their text). `compact` drops them; it must run at a
 * cut every replica has applied with no op in flight, because an insert that follows a
 * dropped tombstone cannot be placed (validateOp rejects it with INVALID_OP).
 */
export const text: CrdtType<TextState, TextOp, string> = {
  name: 'text',
  parseOptions: (options) => (options === undefined || options === null ? ok(null) : err('INVALID_OPTIONS', 'text takes no options')),
  create: () => new Sequence(textKind),
  prepare(state, command, ctx): Result<TextOp> {
    if (!isObject(command)) return err('BAD_COMMAND', 'a text command is an object like {"type":"insert","index":0,"text":"abc"}');
    const type = own(command, 'type');
    if (type === 'insert') {
      const t = own(command, 'text');
      if (typeof t !== 'string' || t.length === 0) return err('BAD_COMMAND', '"text" must be a non-empty string');
      if (t.length > INSERT_ELEMENTS_MAX) return err('BAD_COMMAND', `"text" is longer than ${INSERT_ELEMENTS_MAX} code units; split the insert`);
      const index = parseIndex(own(command, 'index'), state.length, true);
      if (!index.ok) return index;
      const clock = newClock(state, t.length);
      if (!clock.ok) return clock;
      return ok({ type: 'insert', replica: ctx.replica, clock: clock.value, after: index.value === 0 ? null : state.idAt(index.value - 1), text: t });
    }
    if (type === 'delete') return prepareDelete(state, command);
    return err('UNKNOWN_COMMAND', `text understands "insert" and "delete", not ${JSON.stringify(type)}`);
  },
  validateOp(op, state): Result<TextOp> {
    if (!isObject(op)) return err('INVALID_OP', 'a text op is an object with "type" "insert" or "delete"');
    const type = own(op, 'type');
    if (type === 'delete') return validateDelete(op, state);
    if (type !== 'insert') return err('INVALID_OP', `a text op has type "insert" or "delete", not ${JSON.stringify(type)}`);
    const t = own(op, 'text');
    if (typeof t !== 'string' || t.length === 0) return err('INVALID_OP', INSERT_SHAPE);
    const placed = validatePlacement(state, own(op, 'replica'), own(op, 'clock'), own(op, 'after'), t.length, INSERT_SHAPE);
    if (!placed.ok) return placed;
    return ok({ type: 'insert', replica: placed.value.replica, clock: placed.value.clock, after: placed.value.after, text: t });
  },
  apply(state, op) {
    if (op.type === 'insert') state.insert(op.replica, op.clock, op.after, op.text);
    else for (const [replica, clock, count] of op.spans) state.delete(replica, clock, count);
  },
  value(state) {
    const parts: string[] = [];
    state.forEachVisible((c) => parts.push(c));
    return parts.join('');
  },
  encode: (state) => state.encode(),
  decode: (encoded) => Sequence.decode(textKind, encoded, 'text'),
  clone: (state) => state.clone(),
  compact: (state) => state.compact(),
  clear(state) {
    const cleared = state.clone();
    cleared.hideAll();
    return cleared;
  },
};
