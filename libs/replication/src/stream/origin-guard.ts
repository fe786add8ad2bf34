import { checkOpOrigin, checkStrongBatch, strongSubjectKey, type Subjects } from '#protocol';
import type { LogPort } from '../ports';
import type { EventBatch } from '../replicated-event';

/** A stream message's batch as the core may believe it, and the key whose strong subject it came on (if it did). */
export interface CheckedBatch {
  readonly batch: EventBatch | undefined;
  readonly strongKey?: string;
}

/**
 * Keeps forged events out of the core: a batch whose events claim an origin other than the
 * op subject it came on is logged and replaced by an empty batch, so the stream position
 * still moves past it and nothing in it is applied or remembered as seen. A message on a
 * key's strong subject must be one event of that key (`checkStrongBatch`).
 * (The rules are `checkOpOrigin` and `checkStrongBatch` in libs/protocol; the consume loop calls this for every message, in both worlds.)
 */
export function batchFromItsOrigin(subjects: Pick<Subjects, 'ops' | 'strongOps'>, subject: string, seq: number, batch: EventBatch | undefined, log: LogPort): CheckedBatch {
  const strongKey = strongSubjectKey(subjects, subject);
  if (strongKey !== undefined) {
    if (!batch) return { batch };
    const check = checkStrongBatch(strongKey, batch.events);
    if (check.ok) return { batch, strongKey };
    log.error('dropped a stream message on a strong subject', { code: check.code, seq, subject, reason: check.message });
    return { batch: { v: batch.v, events: [] } };
  }
  if (!batch || batch.events.length === 0) return { batch };
  const check = checkOpOrigin(subjects, subject, batch.events.map((e) => e.origin));
  if (check.ok) return { batch };
  log.error('dropped a stream message: its events claim another origin than its subject', {
    code: check.code,
    seq,
    subject,
    claimed: check.claimed,
    events: batch.events.length,
    reason: check.message,
  });
  return { batch: { v: batch.v, events: [] } };
}
