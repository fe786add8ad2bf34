import type { Subjects } from './subjects';

/**
 * Who may speak for an origin on the op stream. Each replica publishes only on its own
 * subject (`<prefix>.ops.<id>`; NATS permissions enforce it when credentials are on), so a
 * batch is believed only when every event's claimed origin is the subject's. Without the
 * check, anyone who can publish on `crdt.ops.r3` could claim r3's next seq, and r3's real
 * event with that seq would then be dropped as a duplicate (issue 9).
 */

/** Code of a batch whose events claim an origin other than the op subject's. */
export const ORIGIN_MISMATCH = 'ORIGIN_MISMATCH';
/** Code of a message on the op stream whose subject is not an op subject of this prefix. */
export const NOT_AN_OP_SUBJECT = 'NOT_AN_OP_SUBJECT';

/** The verdict on one stream message: believed, or refused with a stable code and a reason. */
export type OpOriginCheck =
  | { readonly ok: true; readonly origin: string }
  | {
      readonly ok: false;
      readonly code: typeof ORIGIN_MISMATCH | typeof NOT_AN_OP_SUBJECT;
      readonly message: string;
      /** The origin the subject names (undefined when the subject is not an op subject). */
      readonly subjectOrigin: string | undefined;
      /** The distinct origins the events claim, at most `CLAIMED_SHOWN_MAX` of them. */
      readonly claimed: readonly string[];
    };

/** Distinct claimed origins quoted in a refusal (a hostile batch may claim thousands). */
const CLAIMED_SHOWN_MAX = 8;

/** The origin named by an op subject (`<prefix>.ops.<origin>`, one token), or undefined. */
export function opSubjectOrigin(subjects: Pick<Subjects, 'ops'>, subject: string): string | undefined {
  const head = subjects.ops('');
  if (!subject.startsWith(head)) return undefined;
  const origin = subject.slice(head.length);
  return origin.length > 0 && !origin.includes('.') ? origin : undefined;
}

/**
 * Checks that a batch read from `subject` claims only the subject's origin. An empty
 * batch names no origin and passes (there is nothing in it to believe).
 */
export function checkOpOrigin(subjects: Pick<Subjects, 'ops'>, subject: string, claimedOrigins: readonly string[]): OpOriginCheck {
  const subjectOrigin = opSubjectOrigin(subjects, subject);
  const claimed = [...new Set(claimedOrigins)].slice(0, CLAIMED_SHOWN_MAX);
  if (subjectOrigin === undefined) {
    return { ok: false, code: NOT_AN_OP_SUBJECT, message: `${JSON.stringify(subject)} is not an op subject (${subjects.ops('<origin>')})`, subjectOrigin, claimed };
  }
  const foreign = claimed.filter((o) => o !== subjectOrigin);
  if (foreign.length > 0) {
    return {
      ok: false,
      code: ORIGIN_MISMATCH,
      message: `a batch on ${subject} claims origin ${foreign.map((o) => JSON.stringify(o)).join(', ')}; only ${JSON.stringify(subjectOrigin)} publishes there`,
      subjectOrigin,
      claimed,
    };
  }
  return { ok: true, origin: subjectOrigin };
}
