import { errorReply, type ErrorReply } from './error-codes';
import type { Subjects } from './subjects';

/**
 * Strong consistency on request (issue 10, item 2): `update` with `"consistency":
 * "strong"` and `get` with `"consistency": "linearizable"`. A strong write is published on
 * its key's own subject in the op stream (`Subjects.strongOps`) with JetStream's
 * per-subject optimistic concurrency (`Nats-Expected-Last-Subject-Sequence`), so
 * JetStream's Raft log orders every strong write to a key; the stream sequence of a key's
 * last strong write is the key's `revision`. docs/protocol.md §4.6 gives the guarantee and
 * the cost.
 */

/**
 * The CRDT types that take strong writes and linearizable reads: those whose state after
 * a write is that write's value alone (an overwrite), so the stream's order of strong
 * writes is the order of states. A counter or a set merges rather than overwrites: a
 * compare-and-set on it would order ops but not answer "the value at revision N", so they
 * are refused with `STRONG_UNSUPPORTED`.
 */
export const STRONG_TYPES = ['lww-register'] as const;

/** A type that takes strong writes. */
export type StrongType = (typeof STRONG_TYPES)[number];

/** True when type `name` takes strong writes and linearizable reads. */
export function isStrongType(name: string): name is StrongType {
  return (STRONG_TYPES as readonly string[]).includes(name);
}

/** The `STRONG_UNSUPPORTED` reply for a key of type `type`. */
export function strongUnsupported(key: string, type: string, asked: 'strong' | 'linearizable'): ErrorReply {
  return errorReply('STRONG_UNSUPPORTED', `key ${JSON.stringify(key)} is a ${type}; "consistency": "${asked}" is for ${STRONG_TYPES.join(', ')} keys only`);
}

/** A failed compare-and-set, as sent on the wire: `CONFLICT` with the key's current revision. */
export interface ConflictReply extends ErrorReply {
  readonly revision: number;
}

/** The `CONFLICT` reply: the write expected `expected`, the key is at `current`. */
export function conflictReply(key: string, expected: number, current: number): ConflictReply {
  return {
    ...errorReply('CONFLICT', `key ${JSON.stringify(key)} is at revision ${current}, not ${expected}; nothing was applied`),
    revision: current,
  };
}

/** The key named by a strong-write subject (`<prefix>.ops.~key.<key>`), or undefined for any other subject. */
export function strongSubjectKey(subjects: Pick<Subjects, 'strongOps'>, subject: string): string | undefined {
  const head = subjects.strongOps('');
  if (!subject.startsWith(head)) return undefined;
  const key = subject.slice(head.length);
  return key.length > 0 ? key : undefined;
}

/** Code of a message on a key's strong subject that is not one event of that key. */
export const STRONG_MISMATCH = 'STRONG_MISMATCH';

/**
 * Checks a batch read from key `key`'s strong subject: one event, of that key (a strong
 * write is one event, published alone). Any replica may publish on a strong subject, so
 * the origin cannot be tied to the subject as on `<prefix>.ops.<origin>` (docs/protocol.md §4.6).
 */
export function checkStrongBatch(key: string, events: ReadonlyArray<{ readonly key: string }>): { readonly ok: true } | { readonly ok: false; readonly code: typeof STRONG_MISMATCH; readonly message: string } {
  if (events.length !== 1) return { ok: false, code: STRONG_MISMATCH, message: `a message on the strong subject of ${JSON.stringify(key)} holds ${events.length} events, not 1` };
  if (events[0].key !== key) return { ok: false, code: STRONG_MISMATCH, message: `a message on the strong subject of ${JSON.stringify(key)} holds an event of key ${JSON.stringify(events[0].key)}` };
  return { ok: true };
}
