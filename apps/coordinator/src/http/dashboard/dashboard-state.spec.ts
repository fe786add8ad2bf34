import type { StatusReply } from '#coordination';
import { dashboardState, eventsWritten, WriteRate } from './dashboard-state';

const member = (replica: string, streamSeq: number, applied: Record<string, number>) => ({
  v: 1 as const, replica, mode: 'Work' as const, applied, opLogLength: 5, outboxDepth: 1, streamSeq, keys: 2, epoch: 1, round: 1, sentMs: 0, ageMs: 40,
});

describe('dashboard state', () => {
  it('dashboard - events written: per origin the highest seq any member applied, summed', () => {
    expect(eventsWritten([{ r1: 3, r2: 5 }, { r1: 4, r2: 2 }, {}])).toBe(9);
    expect(eventsWritten([])).toBe(0);
  });

  it('dashboard - writes per second between samples; null at first; close samples keep the last rate; never negative', () => {
    const rate = new WriteRate(500);
    expect(rate.sample(10, 1_000)).toBeNull();
    expect(rate.sample(30, 2_000)).toBe(20);
    expect(rate.sample(99, 2_100)).toBe(20);
    expect(rate.sample(20, 3_000)).toBe(0);
  });

  it('dashboard - members sorted with lag behind the most advanced one; rounds oldest first with write-hold times', () => {
    const s = {
      ok: true, coordinator: 'c2', leader: 'c1', isLeader: false, epoch: 3,
      members: [member('r2', 10, { r1: 2, r2: 3 }), member('r1', 14, { r1: 4, r2: 3 })],
      running: { epoch: 3, round: 7 },
      lastRounds: [
        { epoch: 3, round: 6, outcome: 'aborted', code: 'TIMEOUT', trigger: 'schedule', members: ['r1'], cut: {}, timings: { freezeMs: 0, cutMs: 0, commitMs: 0, totalMs: 9, writesHeldMs: 8 }, startedAtMs: 2, coordinator: 'c1' },
        { epoch: 3, round: 5, outcome: 'committed', trigger: 'manual', members: ['r1', 'r2'], cut: {}, timings: { freezeMs: 0, cutMs: 0, commitMs: 0, totalMs: 20, writesHeldMs: 15 }, startedAtMs: 1, coordinator: 'c1' },
      ],
      freeze: { committedRounds: 1, abortedRounds: 1, lastWritesHeldMs: 15, maxWritesHeldMs: 15, meanWritesHeldMs: 15 },
      schedule: { intervalMs: 0, opLogThreshold: 0 },
    } as unknown as StatusReply;
    const d = dashboardState(s, 5_000, new WriteRate());
    expect(d.role).toBe('standby');
    expect(d.leader).toBe('c1');
    expect(d.members.map((m) => [m.replica, m.lag, m.opLogRows, m.outbox])).toEqual([['r1', 0, 5, 1], ['r2', 4, 5, 1]]);
    expect(d.rounds.map((r) => [r.id, r.outcome, r.code, r.writesHeldMs])).toEqual([['3/5', 'committed', null, 15], ['3/6', 'aborted', 'TIMEOUT', 8]]);
    expect(d.running).toBe('3/7');
    expect(d.eventsTotal).toBe(7);
    expect(d.writesPerSecond).toBeNull();
  });
});
