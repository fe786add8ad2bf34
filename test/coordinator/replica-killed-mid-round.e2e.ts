import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { sleep, type Reply } from '../support/cluster';
import { CoordinatedCluster, type SyncReply } from '../support/coordinated-cluster';
import { IncrementLoad } from '../replica/load';

/**
 * A member replica is SIGKILLed in the middle of a round while clients write. To kill it
 * in a known phase, the test pauses it (SIGSTOP) first, so the leader waits for its reply
 * in that phase, and kills it when the phase is announced on `crdt.rounds.events`:
 * paused before the round, it never answers freeze; paused after it answered freeze
 * (while another member holds the freeze), it never answers cut. The round must abort
 * cleanly: the others back in Work, their op logs not truncated, the killed replica back
 * on its disk converging, and the next round committing with it.
 */

const IDS = ['r1', 'r2', 'r3'];
/** Short phase waits, so an abort on a dead member comes quickly. */
const PHASE_TIMEOUT_MS = 2_000;

describe('replica killed mid-round', () => {
  let cc: CoordinatedCluster;
  let acked = 0;
  let attempted = 0;
  const figures: string[] = [];

  beforeAll(async () => {
    cc = await CoordinatedCluster.start(IDS, {
      coordinatorEnv: {
        FREEZE_LEASE_MS: '2500',
        ROUND_FREEZE_TIMEOUT_MS: String(PHASE_TIMEOUT_MS),
        ROUND_CUT_TIMEOUT_MS: String(PHASE_TIMEOUT_MS),
        ROUND_COMMIT_TIMEOUT_MS: String(PHASE_TIMEOUT_MS),
      },
    });
    await cc.startCoordinator('c1');
    await cc.waitForLeader('c1');
    await cc.cluster.ok('create', { key: 'hits', type: 'pn-counter' }, 'r1');
    await cc.cluster.converged(IDS);
    // A first committed round, so "nothing truncated" below is measured against a real snapshot.
    await cc.syncCommitted();
  }, 60_000);

  afterEach(async () => cc?.afterEachTest(), 30_000);

  afterAll(async () => {
    process.stdout.write(`replica killed mid-round:\n  ${figures.join('\n  ')}\n`);
    await cc?.stop();
  }, 30_000);

  /**
   * After the aborted round: the survivors are in Work with their op logs intact and the
   * previous snapshot, the victim restarts on its disk and converges, the next round
   * commits with all three, and every acknowledged increment is there.
   */
  async function afterAbort(phase: string, victim: string, reply: SyncReply, before: Map<string, Reply>, loads: IncrementLoad[]): Promise<void> {
    const survivors = IDS.filter((id) => id !== victim);
    expect(reply.ok).toBe(false);
    const result = reply.result!;
    expect(result.outcome).toBe('aborted');
    expect(result.failures).toEqual([expect.objectContaining({ replica: victim, phase })]);
    await cc.waitAllWork(survivors, 1_000);
    for (const id of survivors) {
      const s = await cc.replicaStatus(id);
      // Not truncated: the op log only grew (the load kept writing) and the last round is the old one.
      expect(s.opLogLength as number).toBeGreaterThanOrEqual(before.get(id)!.opLogLength as number);
      expect(s.lastRound).toEqual(before.get(id)!.lastRound);
    }
    expect(cc.events.some((e) => e.phase === 'committed' && e.epoch === result.epoch && e.round === result.round)).toBe(false);

    const restartedAt = Date.now();
    await cc.cluster.startReplica(victim);
    await sleep(500);
    await Promise.all(loads.map((l) => l.stop()));
    acked += loads.reduce((a, l) => a + l.acked, 0);
    attempted += loads.reduce((a, l) => a + l.attempted, 0);
    await cc.cluster.converged(IDS);
    const convergedMs = Date.now() - restartedAt;
    const values = await Promise.all(IDS.map((id) => cc.cluster.ok('get', { key: 'hits' }, id)));
    for (const v of values) expect(v.value).toBe(values[0].value);
    expect(values[0].value as number).toBeGreaterThanOrEqual(acked);
    expect(values[0].value as number).toBeLessThanOrEqual(attempted);

    await cc.waitForMembers(IDS);
    const next = await cc.syncCommitted();
    expect(next.members).toEqual(IDS);
    const snaps = await cc.beforeSync(IDS, 'hits');
    for (const s of snaps) expect(s).toMatchObject({ ok: true, round: { epoch: next.epoch, round: next.round }, value: snaps[0].value });
    figures.push(
      `${phase}: round ${result.epoch}/${result.round} aborted (${result.code}: ${result.reason}) after ${result.timings.totalMs} ms, writesHeldMs ${result.timings.writesHeldMs}; ` +
        `${victim} restarted and converged in ${convergedMs} ms; next round ${next.epoch}/${next.round} committed, writesHeldMs ${next.timings.writesHeldMs}`,
    );
  }

  async function statusOf(ids: readonly string[]): Promise<Map<string, Reply>> {
    return new Map(await Promise.all(ids.map(async (id) => [id, await cc.replicaStatus(id)] as const)));
  }

  it('replica killed in freeze - the round aborts, the others return to Work untruncated, the replica restarts and converges, the next round commits', async () => {
    const loads = IDS.map((id) => cc.track(new IncrementLoad(cc.cluster, id, 'hits')));
    await sleep(500);
    const before = await statusOf(['r1', 'r2']);
    // Paused, r3 takes no freeze; killed once the round has started, it never will.
    cc.replica('r3').pause();
    const mark = cc.eventMark();
    const reply = cc.sync(15_000);
    await cc.waitForEvent((e) => e.phase === 'started', 5_000, mark);
    cc.replica('r3').kill('SIGKILL');
    await cc.replica('r3').exited;
    await afterAbort('freeze', 'r3', await reply, before, loads);
  }, 60_000);

  it('replica killed in cut - the round aborts, the others return to Work untruncated, the replica restarts and converges, the next round commits', async () => {
    const loads = IDS.map((id) => cc.track(new IncrementLoad(cc.cluster, id, 'hits')));
    await sleep(500);
    const before = await statusOf(['r1', 'r3']);
    // r3 holds the freeze while r2, having answered freeze, is paused; r3 then answers,
    // the leader announces `frozen` and sends the cut, which r2 never takes: killed.
    cc.replica('r3').pause();
    const mark = cc.eventMark();
    const reply = cc.sync(15_000);
    const started = await cc.waitForEvent((e) => e.phase === 'started', 5_000, mark);
    await Promise.all(['r1', 'r2'].map((id) => cc.waitFrozen(id)));
    cc.replica('r2').pause();
    cc.replica('r3').resume();
    await cc.waitForEvent((e) => e.phase === 'frozen' && e.epoch === started.epoch && e.round === started.round, 5_000, mark);
    cc.replica('r2').kill('SIGKILL');
    await cc.replica('r2').exited;
    await afterAbort('cut', 'r2', await reply, before, loads);
  }, 60_000);

  /**
   * Beyond the freeze and cut: the snapshot publisher (the first member in sorted order,
   * r1) is killed in the commit phase, after the other members have committed. They have
   * compacted and truncated; the round aborts; nobody published its snapshot. The
   * restarted r1 must still get back in step, or every later round finds its uncompacted
   * state different from theirs. The lww-set with removed elements gives a compaction
   * something to drop, so compacted and uncompacted states have different digests.
   *
   * r2 and r3 both notice that the snapshot store lacks their round and publish it, while
   * r1 may be reading it to re-join: when a put overtakes that read, r1's re-join hangs
   * (the object-store bug that join-while-rounds-commit.e2e.ts reproduces for certain),
   * and this test then fails in `settled` with r1 a round behind.
   */
  it('replica killed in commit - the publisher dies after the others committed; it restarts, gets back in step, and a later round commits', async () => {
    await cc.cluster.ok('create', { key: 'flags', type: 'lww-set' }, 'r2');
    for (let i = 0; i < 6; i++) {
      await cc.cluster.ok('update', { key: 'flags', type: 'lww-set', op: { type: 'add', value: `f${i}` } }, IDS[i % 3]);
      if (i % 2 === 0) await cc.cluster.ok('update', { key: 'flags', type: 'lww-set', op: { type: 'remove', value: `f${i}` } }, IDS[i % 3]);
    }
    const loads = IDS.map((id) => cc.track(new IncrementLoad(cc.cluster, id, 'hits')));
    await sleep(500);
    // Freeze held on r3, cut held on r2, then r1 (the publisher, having answered cut) is
    // paused and r2 continued: the leader sends commit, r2 and r3 commit, r1 never does.
    cc.replica('r3').pause();
    const mark = cc.eventMark();
    const reply = cc.sync(15_000);
    const started = await cc.waitForEvent((e) => e.phase === 'started', 5_000, mark);
    await Promise.all(['r1', 'r2'].map((id) => cc.waitFrozen(id)));
    cc.replica('r2').pause();
    cc.replica('r3').resume();
    await cc.waitForEvent((e) => e.phase === 'frozen' && e.epoch === started.epoch && e.round === started.round, 5_000, mark);
    await Promise.all(['r1', 'r3'].map((id) => cc.waitForMode(id, ['Ready'], 1_500)));
    cc.replica('r1').pause();
    cc.replica('r2').resume();
    await cc.waitForEvent((e) => e.phase === 'cut' && e.epoch === started.epoch && e.round === started.round, 5_000, mark);
    for (const id of ['r2', 'r3']) {
      await cc.waitCommitted(id, started);
    }
    cc.replica('r1').kill('SIGKILL');
    await cc.replica('r1').exited;
    const result = (await reply).result!;
    expect(result.outcome).toBe('aborted');
    expect(result.failures).toEqual([expect.objectContaining({ replica: 'r1', phase: 'commit' })]);
    await cc.waitAllWork(['r2', 'r3'], 1_000);

    const restartedAt = Date.now();
    await cc.cluster.startReplica('r1');
    await sleep(500);
    await Promise.all(loads.map((l) => l.stop()));
    acked += loads.reduce((a, l) => a + l.acked, 0);
    attempted += loads.reduce((a, l) => a + l.attempted, 0);
    await cc.cluster.converged(IDS);
    const values = await Promise.all(IDS.map((id) => cc.cluster.ok('get', { key: 'hits' }, id)));
    for (const v of values) expect(v.value).toBe(values[0].value);
    expect(values[0].value as number).toBeGreaterThanOrEqual(acked);
    expect(values[0].value as number).toBeLessThanOrEqual(attempted);
    const flags = await Promise.all(IDS.map((id) => cc.cluster.ok('get', { key: 'flags' }, id)));
    for (const f of flags) expect(f.value).toEqual(['f1', 'f3', 'f5']);

    // r1 gets back in step by itself (r2 and r3 hold a round it missed, whose snapshot
    // nobody published), and then a round commits with all three at the first try.
    const settled = await cc.settled(IDS, 20_000);
    expect(settled[0].lastRound).toEqual({ epoch: started.epoch, round: started.round });
    await cc.waitForMembers(IDS);
    const next = await cc.sync();
    figures.push(
      `commit (publisher): round ${result.epoch}/${result.round} aborted (${result.code}) after r2, r3 committed; r1 restarted and back in step ${Date.now() - restartedAt} ms later; ` +
        `next round ${next.result?.epoch}/${next.result?.round} ${next.result?.outcome}${next.result?.code ? ` ${next.result.code}` : ''}`,
    );
    expect(next.ok).toBe(true);
    expect(next.result?.members).toEqual(IDS);
  }, 60_000);
});
