import { vvGet, type VersionVector } from '#crdt/causality/version-vector';
import type { MemberView } from './membership';

/** Why a scheduled round is or is not worth running. */
export type RoundNeed =
  | { readonly needed: true; readonly reason: 'new-events' | 'op-log-not-empty' | 'no-members' }
  | { readonly needed: false; readonly reason: 'no-event-since-last-round' | 'nothing-to-compact' };

/**
 * Whether a scheduled round has anything to compact (issue 9: a round every minute held
 * writes even when nothing changed). A round compacts the events up to its cut, so after
 * a committed round with cut `lastCut` another one is worth it only when some live member
 * has applied an event past that cut: its heartbeat's `applied` vector is not ≤ `lastCut`.
 * Without a known committed round, it is worth it when some member's op log holds events.
 * With no live member the round runs (and aborts with `NO_MEMBERS`, which is reported).
 */
export function scheduledRoundNeed(members: readonly MemberView[], lastCut: VersionVector | undefined): RoundNeed {
  if (members.length === 0) return { needed: true, reason: 'no-members' };
  if (lastCut === undefined) {
    return members.some((m) => m.beat.opLogLength > 0) ? { needed: true, reason: 'op-log-not-empty' } : { needed: false, reason: 'nothing-to-compact' };
  }
  const past = members.some((m) => Object.entries(m.beat.applied).some(([origin, n]) => n > vvGet(lastCut, origin)));
  return past ? { needed: true, reason: 'new-events' } : { needed: false, reason: 'no-event-since-last-round' };
}
