import { checkOpOrigin, type Subjects } from '#protocol';
import type { LogPort } from '../ports';
import type { EventBatch } from '../replicated-event';

/**
 * Keeps forged events out of the core: a batch whose events claim an origin other than the
 * op subject it came on is logged and replaced by an empty batch, so the stream position
 * still moves past it and nothing in it is applied or remembered as seen.
 * (The rule is `checkOpOrigin` in libs/protocol; the consume loop calls this for every message, in both worlds.)
 */
export function batchFromItsOrigin(subjects: Pick<Subjects, 'ops'>, subject: string, seq: number, batch: EventBatch | undefined, log: LogPort): EventBatch | undefined {
  if (!batch || batch.events.length === 0) return batch;
  const check = checkOpOrigin(subjects, subject, batch.events.map((e) => e.origin));
  if (check.ok) return batch;
  log.error('dropped a stream message: its events claim another origin than its subject', {
    code: check.code,
    seq,
    subject,
    claimed: check.claimed,
    events: batch.events.length,
    reason: check.message,
  });
  return { v: batch.v, events: [] };
}
