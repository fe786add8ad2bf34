import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { sleep } from '../support/cluster';
import { CoordinatedCluster } from '../support/coordinated-cluster';

/**
 * A round's members are the replicas heard from when it starts; a replica that was
 * silent then (paused, cut off, or joining) is not frozen and keeps taking writes while
 * the round runs. Those writes reach the members through the stream in the middle of the
 * round. Whatever the round does with them, every member must end with the same
 * snapshot of it (`before-sync`), and nothing may be lost.
 *
 * The test holds the round in its commit phase (the pausing scheme of
 * coordinator-killed-mid-round.e2e.ts: freeze held on r3, cut held on r2, commit held on
 * r3), so r1 and r2 have committed and r3 has not when the non-member r4 writes.
 */

const MEMBERS = ['r1', 'r2', 'r3'];
const ALL = [...MEMBERS, 'r4'];

describe('non-member writes during a round', () => {
  let cc: CoordinatedCluster;

  beforeAll(async () => {
    cc = await CoordinatedCluster.start(ALL);
    await cc.startCoordinator('c1');
    await cc.waitForLeader('c1');
    await cc.cluster.ok('create', { key: 'hits', type: 'pn-counter' }, 'r1');
    for (const id of ALL) await cc.cluster.ok('update', { key: 'hits', type: 'pn-counter', op: { type: 'increment', by: 1 } }, id);
    await cc.cluster.converged(ALL);
  }, 60_000);

  afterEach(async () => cc?.afterEachTest(), 30_000);

  afterAll(async () => cc?.stop(), 30_000);

  /**
   * r1 and r2 commit before the non-member's event arrives; r3 applies it before its
   * commit. If r3 snapshotted whatever it had applied, it would hold a different snapshot
   * of the same round; instead it must refuse to commit (the round aborts) or commit at
   * the cut. Then r3 and r4, behind the round r1 and r2 committed, catch up from its
   * snapshot, and the next round commits with all four.
   */
  it('non-member writes during a round - a write on a replica outside the round, landing in the commit phase, leaves every member with the same snapshot', async () => {
    // r4 goes silent long enough to drop out of the membership, so the round leaves it out.
    cc.replica('r4').pause();
    try {
      await cc.waitForMembers(MEMBERS);
      cc.replica('r3').pause();
      const mark = cc.eventMark();
      const reply = cc.sync(20_000);
      const started = await cc.waitForEvent((e) => e.phase === 'started', 5_000, mark);
      const id = { epoch: started.epoch, round: started.round };
      await Promise.all(['r1', 'r2'].map((r) => cc.waitFrozen(r)));
      cc.replica('r2').pause();
      cc.replica('r3').resume();
      await cc.waitForEvent((e) => e.phase === 'frozen' && e.round === id.round && e.epoch === id.epoch, 5_000, mark);
      await Promise.all(['r1', 'r3'].map((r) => cc.waitForMode(r, ['Ready'], 1_500)));
      cc.replica('r3').pause();
      cc.replica('r2').resume();
      await cc.waitForEvent((e) => e.phase === 'cut' && e.round === id.round && e.epoch === id.epoch, 5_000, mark);
      for (const r of ['r1', 'r2']) await cc.waitCommitted(r, id);

      // r4 is back, in Work, not frozen: it writes while r3's commit is still pending.
      cc.replica('r4').resume();
      const w = await cc.cluster.ok('update', { key: 'hits', type: 'pn-counter', op: { type: 'increment', by: 1 } }, 'r4');
      // The members apply it from the stream (r1 and r2 at once; r3 when it runs again).
      for (const r of ['r1', 'r2']) {
        const deadline = Date.now() + 3_000;
        while (Date.now() < deadline && ((await cc.replicaStatus(r)).applied as Record<string, number>).r4 < (w.seq as number)) await sleep(20);
      }
      cc.replica('r3').resume();
      const result = (await reply).result!;
      const snaps = await cc.beforeSync(MEMBERS, 'hits');
      const summary = MEMBERS.map((m, i) => `${m}: ${JSON.stringify(snaps[i].round)} ${snaps[i].value}`).join(', ');
      process.stdout.write(`non-member write in the commit phase: round ${id.epoch}/${id.round} ${result.outcome}; before-sync hits ${summary}\n`);
      if (result.outcome === 'committed') {
        for (const s of snaps) expect(s).toMatchObject({ ok: true, round: id, value: snaps[0].value });
      } else {
        expect(result.failures).toEqual([expect.objectContaining({ replica: 'r3', phase: 'commit' })]);
        // Those that committed hold the same snapshot; r3 holds none of this round.
        for (const s of snaps.slice(0, 2)) expect(s).toMatchObject({ ok: true, round: id, value: snaps[0].value });
        expect(snaps[2].round).not.toEqual(id);
      }
    } finally {
      cc.replica('r4').resume();
      cc.replica('r3').resume();
      cc.replica('r2').resume();
    }
    // Nothing lost, everyone converges on one round, and a later round with all four commits.
    await cc.settled(ALL);
    const values = await Promise.all(ALL.map((r) => cc.cluster.ok('get', { key: 'hits' }, r)));
    for (const v of values) expect(v.value).toBe(ALL.length + 1);
    await cc.waitForMembers(ALL);
    const next = await cc.syncCommitted();
    expect(next.members).toEqual(ALL);
    const snaps = await cc.beforeSync(ALL, 'hits');
    for (const s of snaps) expect(s).toMatchObject({ ok: true, round: { epoch: next.epoch, round: next.round }, value: ALL.length + 1 });
  }, 60_000);
});
