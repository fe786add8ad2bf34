import type { Heartbeat } from '#replication/ports';
import type { MemberView } from './membership';
import { scheduledRoundNeed } from './round-need';

function member(replica: string, applied: Record<string, number>, opLogLength = 0): MemberView {
  const beat: Heartbeat = { v: 1, replica, mode: 'Work', applied, opLogLength, outboxDepth: 0, streamSeq: 0, keys: 0, epoch: 1, round: 1, sentMs: 0 };
  return { beat, heardAtMs: 0 };
}

describe('scheduled round need', () => {
  it('round need - no member applied past the last committed cut: skipped', () => {
    const cut = { r1: 5, r2: 3 };
    expect(scheduledRoundNeed([member('r1', { r1: 5, r2: 3 }), member('r2', { r1: 5, r2: 3 })], cut)).toEqual({ needed: false, reason: 'no-event-since-last-round' });
    // A member behind the cut (it missed events) has nothing new either.
    expect(scheduledRoundNeed([member('r1', { r1: 4 })], cut).needed).toBe(false);
  });

  it('round need - one event past the cut on any member, from any origin (a new one too): needed', () => {
    const cut = { r1: 5, r2: 3 };
    expect(scheduledRoundNeed([member('r1', { r1: 5, r2: 3 }), member('r2', { r1: 5, r2: 4 })], cut)).toEqual({ needed: true, reason: 'new-events' });
    expect(scheduledRoundNeed([member('r1', { r1: 5, r2: 3, r3: 1 })], cut).needed).toBe(true);
  });

  it('round need - without a known committed round: needed only when some op log holds events', () => {
    expect(scheduledRoundNeed([member('r1', {}, 0), member('r2', {}, 0)], undefined)).toEqual({ needed: false, reason: 'nothing-to-compact' });
    expect(scheduledRoundNeed([member('r1', { r1: 2 }, 2)], undefined)).toEqual({ needed: true, reason: 'op-log-not-empty' });
  });

  it('round need - no live member: the round runs (and reports NO_MEMBERS)', () => {
    expect(scheduledRoundNeed([], { r1: 1 })).toEqual({ needed: true, reason: 'no-members' });
  });
});
