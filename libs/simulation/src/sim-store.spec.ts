import type { CommitBatch, SnapshotRecord } from '#replication/ports';
import type { ReplicatedEvent } from '#replication/replicated-event';
import { isStoreError, migratedSchema, type MigratedSchema } from '#store-sqlite';
import { Prng } from './prng';
import { Life, Scheduler } from './scheduler';
import { SimDisk, type DiskObserver } from './sim-store';
import { Trace } from './trace';

/** A pn-counter increment by `origin`: the shape the replica core commits. */
function event(origin: string, seq: number, key = 'k'): ReplicatedEvent {
  return {
    v: 1,
    origin,
    seq,
    time: seq,
    deps: seq > 1 ? { [origin]: seq - 1 } : {},
    key,
    type: 'pn-counter',
    options: null,
    ops: [{ type: 'increment', replica: origin, total: seq }],
  };
}

/** Batch `i` (from 1) of `origin`: three events and the stream position after them. */
function batch(origin: string, i: number): CommitBatch {
  return { events: [event(origin, 3 * i - 2), event(origin, 3 * i - 1), event(origin, 3 * i)], streamSeq: 10 * i };
}

class Observed implements DiskObserver {
  readonly commits: CommitBatch[] = [];
  readonly snapshots: SnapshotRecord[] = [];
  committed(_replica: string, b: CommitBatch): void {
    this.commits.push(b);
  }
  snapshotWritten(_replica: string, s: SnapshotRecord): void {
    this.snapshots.push(s);
  }
  reset(): void {}
}

describe('SimDisk (the fault layer under the real SQLite store)', () => {
  let schema: MigratedSchema;
  const disks: SimDisk[] = [];

  beforeAll(async () => {
    schema = await migratedSchema();
  });

  afterEach(() => {
    for (const d of disks.splice(0)) d.close();
  });

  function world(seed: number) {
    const scheduler = new Scheduler(new Trace(10), (label, err) => {
      throw new Error(`task ${label} threw: ${String(err)}`);
    });
    const observed = new Observed();
    const disk = new SimDisk('r1', schema, scheduler, new Prng(seed), observed);
    disks.push(disk);
    const settle = () => scheduler.run({ untilMs: Number.POSITIVE_INFINITY, stepsMax: 100_000 });
    return { scheduler, observed, disk, settle };
  }

  it('crash - a seed-chosen prefix of the waiting commits lands, each whole, and the rest is lost', async () => {
    const batches = 5;
    const landedCounts = new Set<number>();
    for (let seed = 1; seed <= 40; seed++) {
      const { disk, observed, settle } = world(seed);
      const life = new Life('r1#1');
      const store = disk.open(life);
      let replies = 0;
      for (let i = 1; i <= batches; i++) void store.commit(batch('a', i)).then(() => replies++);
      const { landed, lost } = disk.crash();
      life.end();
      expect(landed + lost).toBe(batches);
      landedCounts.add(landed);

      const after = disk.open(new Life('r1#2'));
      const loaded = after.load();
      await settle();
      const stored = await loaded;
      // Exactly batches 1..landed, in order, every one with all three events and its marker.
      const expected = Array.from({ length: landed }, (_, i) => batch('a', i + 1));
      expect(stored.events).toEqual(expected.flatMap((b) => b.events));
      expect(stored.streamSeq).toBe(landed === 0 ? 0 : 10 * landed);
      expect(observed.commits).toEqual(expected);
      // The dead process hears nothing, even about the writes that landed.
      expect(replies).toBe(0);
    }
    // The seed decides: some crashes land nothing, some part of the queue, some all of it.
    expect(landedCounts.has(0)).toBe(true);
    expect([...landedCounts].some((n) => n > 0 && n < batches)).toBe(true);
  });

  it('crash - landed writes run through the real store: a landed snapshot hides the events it covers', async () => {
    const snapshot: SnapshotRecord = { epoch: 1, round: 1, cut: { a: 2 }, streamSeq: 2, keys: [['k', { p: { a: 2 }, n: {} }]] };
    let checked = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const { disk, settle } = world(seed);
      const life = new Life('r1#1');
      const store = disk.open(life);
      const done = store.commit({ events: [event('a', 1), event('a', 2), event('b', 1)], streamSeq: 3 });
      await settle();
      await done;
      void store.writeSnapshot(snapshot);
      void store.commit({ events: [event('a', 3)], streamSeq: 4 });
      const { landed } = disk.crash();
      life.end();
      const loaded = disk.open(new Life('r1#2')).load();
      await settle();
      const stored = await loaded;
      if (landed === 0) {
        expect(stored.events.map((e) => `${e.origin}${e.seq}`)).toEqual(['a1', 'a2', 'b1']);
        expect(stored.snapshot).toBeUndefined();
        expect(disk.snapshotRound()).toBeUndefined();
        continue;
      }
      // The store, not the layer, hides the events the snapshot covers (they wait for truncation).
      expect(stored.events.map((e) => `${e.origin}${e.seq}`)).toEqual(landed === 2 ? ['b1', 'a3'] : ['b1']);
      expect(stored.snapshot?.cut).toEqual({ a: 2 });
      expect(stored.streamSeq).toBe(landed === 2 ? 4 : 3);
      expect(disk.snapshotRound()).toEqual({ epoch: 1, round: 1 });
      checked++;
    }
    expect(checked).toBeGreaterThan(0);
  });

  it('commit failure - SQLite refuses the write, the store rolls it back and rejects with STORE_IO', async () => {
    const { disk, observed, settle } = world(3);
    const store = disk.open(new Life('r1#1'));
    disk.behaviour.commitFailureP = 1;
    const failed = store.commit(batch('a', 1)).then(
      () => 'resolved',
      (e: unknown) => e,
    );
    await settle();
    const err = await failed;
    expect(isStoreError(err, 'STORE_IO')).toBe(true);
    expect((err as Error).message).toMatch(/readonly/);
    expect(observed.commits).toEqual([]);

    disk.behaviour.commitFailureP = 0;
    const ok = store.commit(batch('a', 1));
    const loaded = store.load();
    await settle();
    await ok;
    expect((await loaded).events).toEqual(batch('a', 1).events);
    expect(observed.commits).toEqual([batch('a', 1)]);
  });

  it('timing - calls run in arrival order, and a stalled disk answers only after the stall', async () => {
    const { disk, scheduler, settle } = world(5);
    const store = disk.open(new Life('r1#1'));
    disk.behaviour.stalledUntilMs = 500;
    const order: string[] = [];
    const first = store.commit(batch('a', 1)).then(() => order.push(`commit@${scheduler.nowMs}`));
    const second = store.ownEventsAfter('a', 0, 10).then((es) => order.push(`read ${es.length}@${scheduler.nowMs}`));
    await settle();
    await Promise.all([first, second]);
    expect(order).toHaveLength(2);
    expect(order[0]).toMatch(/^commit@/);
    expect(order[1]).toMatch(/^read 3@/);
    expect(Number(order[0].split('@')[1])).toBeGreaterThanOrEqual(500);
  });

  it('arguments - a batch changed after the call does not reach the disk', async () => {
    const { disk, settle } = world(9);
    const store = disk.open(new Life('r1#1'));
    const events = [event('a', 1)];
    const done = store.commit({ events, streamSeq: 1 });
    events.push(event('a', 2));
    const loaded = store.load();
    await settle();
    await done;
    expect((await loaded).events.map((e) => e.seq)).toEqual([1]);
  });
});
