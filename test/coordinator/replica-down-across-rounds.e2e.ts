import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { sleep } from '../support/cluster';
import { CoordinatedCluster } from '../support/coordinated-cluster';
import { IncrementLoad } from '../replica/load';

/**
 * A replica is down while the others commit two rounds (and the stream is purged past
 * its position): SIGKILLed and restarted on its disk, or paused with SIGSTOP and
 * continued. Either way it must notice the rounds it missed, re-join from the snapshot,
 * converge, and take part in the next round.
 */

const IDS = ['r1', 'r2', 'r3'];

describe('replica down across rounds', () => {
  let cc: CoordinatedCluster;
  let acked = 0;
  let attempted = 0;

  beforeAll(async () => {
    cc = await CoordinatedCluster.start(IDS);
    await cc.startCoordinator('c1');
    await cc.waitForLeader('c1');
    await cc.cluster.ok('create', { key: 'hits', type: 'pn-counter' }, 'r1');
    await cc.cluster.ok('create', { key: 'tags', type: 'or-set' }, 'r1');
    await cc.cluster.converged(IDS);
    await cc.syncCommitted();
  }, 60_000);

  afterEach(async () => cc?.afterEachTest(), 30_000);

  afterAll(async () => cc?.stop(), 30_000);

  /** Writes that the down replica cannot see, and two committed rounds without it. */
  async function twoRoundsWithout(down: string): Promise<{ epoch: number; round: number; keepFromSeq: number; lastSeq: number }> {
    const up = IDS.filter((id) => id !== down);
    const before = (await cc.streamInfo()).state.last_seq;
    // The coordinator drops it from the membership once its heartbeats stop.
    await cc.waitForMembers(up);
    let last = { epoch: 0, round: 0, keepFromSeq: 0 };
    for (let i = 0; i < 2; i++) {
      const loads = up.map((id) => cc.track(new IncrementLoad(cc.cluster, id, 'hits')));
      for (const id of up) await cc.cluster.ok('update', { key: 'tags', type: 'or-set', op: { type: 'add', value: `${down}-missed-${id}-${i}` } }, id);
      await sleep(400);
      const r = await cc.syncCommitted();
      await Promise.all(loads.map((l) => l.stop()));
      acked += loads.reduce((a, l) => a + l.acked, 0);
      attempted += loads.reduce((a, l) => a + l.attempted, 0);
      expect(r.members).toEqual(up);
      last = { epoch: r.epoch, round: r.round, keepFromSeq: r.keepFromSeq ?? 0 };
    }
    // The stream no longer holds what the down replica would need to catch up by replay.
    expect(last.keepFromSeq).toBeGreaterThan(before + 1);
    return { ...last, lastSeq: before };
  }

  /** The replica is back: same values and snapshot as the others, and the next round commits with it. */
  async function expectRejoined(back: string, missed: { epoch: number; round: number }): Promise<string> {
    const since = Date.now();
    await cc.cluster.converged(IDS);
    // Converged means the same applied vector; it also holds the missed round's snapshot.
    await cc.waitForMode(back, ['Work'], 10_000);
    const deadline = Date.now() + 15_000;
    let lastRound: unknown;
    while (Date.now() < deadline) {
      lastRound = (await cc.replicaStatus(back)).lastRound;
      if (JSON.stringify(lastRound) === JSON.stringify({ epoch: missed.epoch, round: missed.round })) break;
      await sleep(100);
    }
    expect(lastRound).toEqual({ epoch: missed.epoch, round: missed.round });
    await cc.cluster.converged(IDS);
    const caughtUpMs = Date.now() - since;
    for (const key of ['hits', 'tags']) {
      const values = await Promise.all(IDS.map((id) => cc.cluster.ok('get', { key }, id)));
      for (const v of values) expect(v.value).toEqual(values[0].value);
      const snaps = await cc.beforeSync(IDS, key);
      for (const s of snaps) expect(s).toMatchObject({ ok: true, round: { epoch: missed.epoch, round: missed.round }, value: snaps[0].value });
    }
    const hits = (await cc.cluster.ok('get', { key: 'hits' }, back)).value as number;
    expect(hits).toBeGreaterThanOrEqual(acked);
    expect(hits).toBeLessThanOrEqual(attempted);

    await cc.waitForMembers(IDS);
    const next = await cc.syncCommitted();
    expect(next.members).toEqual(IDS);
    const snaps = await cc.beforeSync(IDS, 'tags');
    for (const s of snaps) expect(s).toMatchObject({ ok: true, round: { epoch: next.epoch, round: next.round }, value: snaps[0].value });
    const rejoined = cc.replica(back).logs().some((l) => l.includes('"msg":"re-joining from the cluster snapshot"'));
    expect(rejoined).toBe(true);
    return `caught up ${caughtUpMs} ms after it came back; next round ${next.epoch}/${next.round} writesHeldMs ${next.timings.writesHeldMs}`;
  }

  it('replica down across rounds - SIGKILLed through two committed rounds, restarted on its disk, it re-joins from the snapshot, converges and the next round commits with it', async () => {
    const victim = cc.replica('r3');
    victim.kill('SIGKILL');
    await victim.exited;
    const missed = await twoRoundsWithout('r3');
    await cc.cluster.startReplica('r3');
    const figures = await expectRejoined('r3', missed);
    process.stdout.write(`replica down across rounds (killed): missed ${missed.epoch}/${missed.round}; ${figures}\n`);
  }, 60_000);

  it('replica down across rounds - paused through two committed rounds, continued, it re-joins from the snapshot, converges and the next round commits with it', async () => {
    const victim = cc.replica('r2');
    victim.pause();
    let missed: { epoch: number; round: number };
    try {
      missed = await twoRoundsWithout('r2');
    } finally {
      victim.resume();
    }
    const figures = await expectRejoined('r2', missed);
    process.stdout.write(`replica down across rounds (paused): missed ${missed.epoch}/${missed.round}; ${figures}\n`);
  }, 60_000);
});
