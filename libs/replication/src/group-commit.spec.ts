import type { ReplicatedEvent } from '#protocol/replicated-event';
import { MemoryStore, TestClock, settle } from '../testing/memory-ports';
import { GroupCommit } from './group-commit';

/** A counter event of `origin`. */
function event(origin: string, seq: number): ReplicatedEvent {
  return { v: 1, origin, seq, time: seq, deps: {}, key: 'c', type: 'pn-counter', options: null, ops: [{ type: 'increment', by: 1, replica: origin }] };
}

/** A group commit over a memory store that counts commits, with a 10 ms lazy delay and batches of at most 4. */
function setup() {
  const store = new MemoryStore();
  const commits: number[] = [];
  const commit = store.commit.bind(store);
  store.commit = async (batch) => {
    commits.push(batch.events.length);
    await commit(batch);
  };
  const clock = new TestClock();
  const group = new GroupCommit(store, clock, (e) => {
    throw e;
  }, 4, 10);
  return { store, commits, clock, group };
}

describe('GroupCommit', () => {
  it('an eager add commits on the next turn, with what else came in the same tick', async () => {
    const { store, commits, clock, group } = setup();
    let durable = false;
    void group.add([event('r1', 1)]).then(() => (durable = true));
    void group.add([event('r1', 2)]);
    await clock.advance(0);
    expect(durable).toBe(true);
    expect(commits).toEqual([2]);
    expect(store.events.map((e) => e.seq)).toEqual([1, 2]);
  });

  it('lazy adds (events read from the stream) wait up to the delay and go in one commit, with their position', async () => {
    const { store, commits, clock, group } = setup();
    let durable = false;
    void group.add([event('r2', 1)], 7, { lazy: true }).then(() => (durable = true));
    await clock.advance(4);
    void group.add([event('r2', 2)], 8, { lazy: true });
    await clock.advance(5);
    expect(durable).toBe(false);
    expect(commits).toEqual([]);
    await clock.advance(1);
    expect(durable).toBe(true);
    expect(commits).toEqual([2]);
    expect(store.streamSeq).toBe(8);
  });

  it('an eager add while lazy events wait commits them all at once', async () => {
    const { store, commits, clock, group } = setup();
    void group.add([event('r2', 1)], 7, { lazy: true });
    await clock.advance(1);
    void group.add([event('r1', 1)]);
    await clock.advance(0);
    expect(commits).toEqual([2]);
    expect(store.streamSeq).toBe(7);
    // The lazy start was cancelled: nothing more is committed when its time comes.
    await clock.advance(20);
    expect(commits).toEqual([2]);
  });

  it('flushed() does not wait for the lazy delay', async () => {
    const { commits, clock, group } = setup();
    void group.add([event('r2', 1)], 3, { lazy: true });
    let flushed = false;
    void group.flushed().then(() => (flushed = true));
    await clock.advance(0);
    expect(flushed).toBe(true);
    expect(commits).toEqual([1]);
  });

  it('a full batch of lazy events commits at once', async () => {
    const { commits, clock, group } = setup();
    for (let seq = 1; seq <= 4; seq++) void group.add([event('r2', seq)], seq, { lazy: true });
    await clock.advance(0);
    expect(commits).toEqual([4]);
  });

  it('with no lazy delay, lazy adds commit like eager ones', async () => {
    const store = new MemoryStore();
    const clock = new TestClock();
    const group = new GroupCommit(store, clock, () => undefined, 4, 0);
    void group.add([event('r2', 1)], 1, { lazy: true });
    await clock.advance(0);
    await settle();
    expect(store.events).toHaveLength(1);
  });
});
