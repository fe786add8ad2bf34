import { CapturingLog } from '#testing/capturing-log';
import { InMemoryLeaseStore } from '../testing/fake-cluster';
import { ManualClock } from '../testing/manual-clock';
import { LeaderLease } from './leader-lease';

const LEASE_MS = 3_000;

function contender(id: string, store: InMemoryLeaseStore, clock: ManualClock, epochFloor = () => 0) {
  const changes: string[] = [];
  const log = new CapturingLog();
  const lease = new LeaderLease(id, store, clock, log, { leaseMs: LEASE_MS, epochFloor }, {
    elected: (e) => changes.push(`elected ${e}`),
    deposed: (r) => changes.push(`deposed: ${r}`),
  });
  return { lease, changes, log };
}

describe('leader lease', () => {
  it('lease - the first contender takes it with epoch 1; a second stands by and knows who leads', async () => {
    const clock = new ManualClock();
    const store = new InMemoryLeaseStore();
    const a = contender('a', store, clock);
    const b = contender('b', store, clock);
    a.lease.start();
    await clock.advance(0);
    b.lease.start();
    await clock.advance(10_000);
    expect(a.changes).toEqual(['elected 1']);
    expect(b.changes).toEqual([]);
    expect(a.lease.isLeader()).toBe(true);
    expect(b.lease.isLeader()).toBe(false);
    expect(b.lease.view()).toEqual({ leader: false, holder: 'a', epoch: 1 });
    expect(store.current()).toEqual({ id: 'a', epoch: 1, expiresAtMs: expect.any(Number) });
    // Renewed every lease / 3.
    expect(store.writes.length).toBeGreaterThanOrEqual(10);
  });

  it('lease - a leader that dies without releasing is replaced after a whole lease of silence, with a higher epoch', async () => {
    const clock = new ManualClock();
    const store = new InMemoryLeaseStore();
    const a = contender('a', store, clock);
    const b = contender('b', store, clock);
    a.lease.start();
    await clock.advance(0);
    b.lease.start();
    await clock.advance(5_000);
    await a.lease.stop(false); // a crash: no release
    const diedAt = clock.nowMs();
    await clock.runUntil(() => b.lease.isLeader(), 10_000, 50);
    expect(b.changes).toEqual(['elected 2']);
    expect(clock.nowMs() - diedAt).toBeGreaterThanOrEqual(LEASE_MS - LEASE_MS / 3);
    expect(clock.nowMs() - diedAt).toBeLessThanOrEqual(LEASE_MS + LEASE_MS / 3 + 50);
    expect(store.current()?.id).toBe('b');
  });

  it('lease - released on stop, so the standby takes over at its next look', async () => {
    const clock = new ManualClock();
    const store = new InMemoryLeaseStore();
    const a = contender('a', store, clock);
    const b = contender('b', store, clock);
    a.lease.start();
    await clock.advance(0);
    b.lease.start();
    await clock.advance(2_000);
    await a.lease.stop(true);
    expect(store.current()).toEqual({ id: '', epoch: 1, expiresAtMs: 0 });
    expect(a.changes).toEqual(['elected 1', 'deposed: stopping']);
    await clock.advance(LEASE_MS / 3);
    expect(b.lease.isLeader()).toBe(true);
    expect(b.lease.epoch).toBe(2);
  });

  it('lease - a leader whose compare-and-set fails is deposed at once', async () => {
    const clock = new ManualClock();
    const store = new InMemoryLeaseStore();
    const a = contender('a', store, clock);
    a.lease.start();
    await clock.advance(0);
    store.force({ id: 'intruder', epoch: 9, expiresAtMs: clock.nowMs() + LEASE_MS });
    await clock.advance(LEASE_MS / 3);
    expect(a.lease.isLeader()).toBe(false);
    expect(a.changes).toEqual(['elected 1', 'deposed: another coordinator took the lease over']);
    expect(a.lease.view().holder).toBeUndefined();
    await clock.advance(LEASE_MS / 3);
    expect(a.lease.view()).toEqual({ leader: false, holder: 'intruder', epoch: 9 });
  });

  it('lease - a leader that cannot reach the store stops acting before a standby could take over', async () => {
    const clock = new ManualClock();
    const store = new InMemoryLeaseStore();
    const a = contender('a', store, clock);
    a.lease.start();
    await clock.advance(0);
    const lastWrite = clock.nowMs();
    store.failWith = new Error('store unreachable');
    await clock.advance(LEASE_MS / 3);
    expect(a.lease.isLeader()).toBe(true); // one failed renewal is tolerated
    await clock.advance(LEASE_MS / 3);
    expect(a.lease.isLeader()).toBe(false);
    expect(clock.nowMs() - lastWrite).toBeLessThan(LEASE_MS);
    expect(a.changes[1]).toMatch(/^deposed: the lease could not be renewed/);
  });

  it('lease - a new term starts above the epoch the replicas report, and the epoch can be raised while leading', async () => {
    const clock = new ManualClock();
    const store = new InMemoryLeaseStore();
    let floor = 41;
    const a = contender('a', store, clock, () => floor);
    a.lease.start();
    await clock.advance(0);
    expect(a.changes).toEqual(['elected 42']);
    floor = 50;
    expect(await a.lease.raiseEpoch(51)).toBe(true);
    expect(a.lease.epoch).toBe(51);
    expect(store.current()?.epoch).toBe(51);
    await clock.advance(LEASE_MS);
    expect(a.lease.isLeader()).toBe(true);
    expect(store.current()?.epoch).toBe(51);
  });

  it('lease - a restarted coordinator with the same id takes its own stale lease back at once', async () => {
    const clock = new ManualClock();
    const store = new InMemoryLeaseStore();
    store.force({ id: 'a', epoch: 3, expiresAtMs: clock.nowMs() + LEASE_MS });
    const a = contender('a', store, clock);
    a.lease.start();
    await clock.advance(0);
    expect(a.changes).toEqual(['elected 4']);
  });

  it('lease - a lease whose holder\'s expiry is a whole lease past is taken without waiting', async () => {
    const clock = new ManualClock();
    const store = new InMemoryLeaseStore();
    store.force({ id: 'old', epoch: 7, expiresAtMs: clock.nowMs() - 2 * LEASE_MS });
    const b = contender('b', store, clock);
    b.lease.start();
    await clock.advance(0);
    expect(b.changes).toEqual(['elected 8']);
  });
});
