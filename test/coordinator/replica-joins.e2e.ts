import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { sleep } from '../support/cluster';
import { CoordinatedCluster } from '../support/coordinated-cluster';

/**
 * New replicas with empty data directories join a cluster that has compacted: one after
 * three committed rounds (the stream no longer holds the early events, so it must load
 * the snapshot and replay the stream after it), one while a round is held in its freeze
 * phase (a member paused with SIGSTOP keeps the leader waiting there).
 */

const KEYS = ['hits', 'tags'];

describe('replica joins', () => {
  const members = ['r1', 'r2', 'r3'];
  let cc: CoordinatedCluster;
  let writes = 0;

  beforeAll(async () => {
    cc = await CoordinatedCluster.start(members, {
      // The held round must outlast a replica process's start (seconds on a busy machine).
      coordinatorEnv: { ROUND_FREEZE_TIMEOUT_MS: '15000', FREEZE_LEASE_MS: '20000' },
    });
    await cc.startCoordinator('c1');
    await cc.waitForLeader('c1');
    await cc.cluster.ok('create', { key: 'hits', type: 'pn-counter' }, 'r1');
    await cc.cluster.ok('create', { key: 'tags', type: 'or-set' }, 'r1');
  }, 60_000);

  afterEach(async () => cc?.afterEachTest(), 30_000);

  afterAll(async () => cc?.stop(), 30_000);

  /** Some increments and set adds (with a remove, so a round has metadata to drop) through each replica. */
  async function write(ids: readonly string[], n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      for (const id of ids) {
        const w = ++writes;
        await cc.cluster.ok('update', { key: 'hits', type: 'pn-counter', op: { type: 'increment', by: 1 } }, id);
        await cc.cluster.ok('update', { key: 'tags', type: 'or-set', op: { type: 'add', value: `${id}-${w}` } }, id);
        if (w % 5 === 0) await cc.cluster.ok('update', { key: 'tags', type: 'or-set', op: { type: 'remove', value: `${id}-${w}` } }, id);
      }
    }
  }

  /** Same values, same last round and the same snapshot on every replica named. */
  async function expectSame(ids: readonly string[]): Promise<void> {
    const statuses = await cc.cluster.converged(ids);
    for (const s of statuses) expect(s.lastRound).toEqual(statuses[0].lastRound);
    for (const key of KEYS) {
      const values = await Promise.all(ids.map((id) => cc.cluster.ok('get', { key }, id)));
      for (const v of values) expect(v.value).toEqual(values[0].value);
      const snaps = await cc.beforeSync(ids, key);
      for (const s of snaps) expect(s).toMatchObject({ ok: true, round: statuses[0].lastRound, value: snaps[0].value });
    }
  }

  it('replica joins - an empty replica after three committed rounds loads the snapshot, replays the stream, converges, and the next round commits with it', async () => {
    let last = { epoch: 0, round: 0, keepFromSeq: 0 };
    for (let i = 0; i < 3; i++) {
      await write(members, 10);
      const r = await cc.syncCommitted();
      last = { epoch: r.epoch, round: r.round, keepFromSeq: r.keepFromSeq ?? 0 };
    }
    // Events after the last round: only the stream has them.
    await write(members, 5);
    expect((await cc.streamInfo()).state.first_seq).toBe(last.keepFromSeq);
    expect(last.keepFromSeq).toBeGreaterThan(1);

    const joinedAt = Date.now();
    const r4 = await cc.cluster.startReplica('r4');
    const joined = await r4.waitForLog((l) => l.msg === 'joined from snapshot', 1_000);
    expect(joined).toMatchObject({ epoch: last.epoch, round: last.round });
    const all = [...members, 'r4'];
    await expectSame(all);
    const joinMs = Date.now() - joinedAt;
    expect((await cc.replicaStatus('r4')).lastRound).toEqual({ epoch: last.epoch, round: last.round });

    // It writes too, and the next round includes it.
    await write(['r4'], 5);
    await cc.waitForMembers(all);
    const next = await cc.syncCommitted();
    expect(next.members).toEqual(all);
    await expectSame(all);
    process.stdout.write(`replica joins: r4 joined after round ${last.epoch}/${last.round} and converged in ${joinMs} ms (process start included); round ${next.epoch}/${next.round} with it: writesHeldMs ${next.timings.writesHeldMs}\n`);
  }, 60_000);

  it('replica joins - an empty replica started while a round is held converges, and a later round commits with it', async () => {
    // Whatever runs now (r4 too when the test above got that far).
    const members = [...cc.replicas].filter(([, app]) => app.running).map(([id]) => id).sort();
    await write(members, 5);
    // r3 paused: the leader waits in freeze; the others are frozen.
    cc.replica('r3').pause();
    const mark = cc.eventMark();
    const reply = cc.sync(40_000);
    const started = await cc.waitForEvent((e) => e.phase === 'started', 5_000, mark);
    await Promise.all(members.filter((id) => id !== 'r3').map((id) => cc.waitForMode(id, ['Sync'], 2_000)));

    const r5 = await cc.cluster.startReplica('r5');
    // Still held: the joiner came up in the middle of the round.
    expect(cc.events.slice(mark).map((e) => e.phase)).toEqual(['started']);
    // A write on the joiner, which is not a member of the round and so is not frozen.
    // A joiner may still be catching up (UNAVAILABLE) or waiting for a peer to confirm its
    // clock (CLOCK_SKEW), both retryable, for a moment after it first reached Work.
    const probe = await cc.cluster.okWhenReady('update', { key: 'hits', type: 'pn-counter', op: { type: 'increment', by: 1 } }, 'r5');
    expect(probe).toMatchObject({ ok: true });
    expect(probe.replica).toBe('r5');
    await sleep(200);
    cc.replica('r3').resume();
    const result = (await reply).result!;
    const all = [...members, 'r5'];
    const outcome = `${result.outcome}${result.reason ? ` (${result.code}: ${result.reason})` : ''}, cut ${JSON.stringify(result.cut)}`;
    expect(result.epoch).toBe(started.epoch);
    expect(result.members).toEqual(members);
    expect(r5.logs().some((l) => l.includes('"msg":"joined from snapshot"'))).toBe(true);

    // The joiner missed the round it was not a member of: it re-joins from that round's snapshot first.
    await cc.waitAllWork(all, 30_000);
    await write(all, 3);
    await expectSame(all);
    await cc.waitForMembers(all);
    const next = await cc.syncCommitted();
    expect(next.members).toEqual(all);
    await expectSame(all);
    const hits = await cc.cluster.ok('get', { key: 'hits' }, 'r1');
    // Every increment is there exactly once: `writes` through members plus the probe.
    expect(hits.value).toBe(writes + 1);
    process.stdout.write(`replica joins during a round: held round ${result.epoch}/${result.round} ${outcome}, writesHeldMs ${result.timings.writesHeldMs}; round ${next.epoch}/${next.round} with r5 committed\n`);
  }, 60_000);
});
