import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { sleep } from '../support/cluster';
import { CoordinatedCluster, type SeenEvent, type SyncReply } from '../support/coordinated-cluster';
import { IncrementLoad } from '../replica/load';

/**
 * The leader coordinator is SIGKILLed in each phase of a round while clients write, with
 * a standby running. A round takes a few tens of milliseconds, too fast to catch a phase
 * from outside, so the test makes each phase wait on a replica it has paused (SIGSTOP):
 * the leader waits for every reply of a phase before it moves on, so with one member
 * paused it stays in that phase. Pausing member X before the round holds the freeze;
 * pausing Y (which has answered freeze) and continuing X holds the cut; pausing Z (which
 * has answered cut) and continuing Y holds the commit; pausing one that has committed and
 * continuing Z holds the resume that follows the commit. Each hold is far shorter than
 * the phase timeouts (2 s), so the round never aborts on its own.
 *
 * The freeze lease (2.5 s) is much shorter than the leader lease (6 s): replicas must be
 * back in Work by themselves well before the standby can take over (at least 4 s after
 * the kill), which then runs the next round under a higher epoch.
 */

const IDS = ['r1', 'r2', 'r3'];
const FREEZE_LEASE_MS = 2_500;
const LEASE_MS = 6_000;

describe('coordinator killed mid-round', () => {
  let cc: CoordinatedCluster;
  /** The coordinator that leads now (the one the next test kills). */
  let leader = 'c1';
  let coordinatorNo = 1;
  /** Acknowledged and attempted increments of every test so far (the counter accumulates). */
  let acked = 0;
  let attempted = 0;
  const figures: string[] = [];

  beforeAll(async () => {
    cc = await CoordinatedCluster.start(IDS, {
      coordinatorEnv: {
        LEASE_MS: String(LEASE_MS),
        FREEZE_LEASE_MS: String(FREEZE_LEASE_MS),
        ROUND_FREEZE_TIMEOUT_MS: '2000',
        ROUND_CUT_TIMEOUT_MS: '2000',
        ROUND_COMMIT_TIMEOUT_MS: '2000',
      },
    });
    await cc.startCoordinator('c1');
    await cc.waitForLeader('c1');
    await cc.cluster.ok('create', { key: 'hits', type: 'pn-counter' }, 'r1');
    await cc.cluster.converged(IDS);
  }, 60_000);

  afterEach(async () => cc?.afterEachTest(), 30_000);

  afterAll(async () => {
    process.stdout.write(`coordinator killed mid-round:\n  ${figures.join('\n  ')}\n`);
    await cc?.stop();
  }, 30_000);

  /**
   * Starts the next standby coordinator, after making sure who leads now (a test that
   * failed half-way may have left the take-over of its standby under way).
   */
  async function startStandby(): Promise<string> {
    const deadline = Date.now() + LEASE_MS + 10_000;
    for (;;) {
      const s = await cc.coordinatorStatus(1_000).catch(() => undefined);
      if (s?.leader && cc.coordinators.get(s.leader)?.running) {
        leader = s.leader;
        await cc.waitForLeader(leader);
        break;
      }
      if (Date.now() > deadline) throw new Error(`no coordinator leads: ${JSON.stringify(s)}`);
      await sleep(200);
    }
    const id = `c${++coordinatorNo}`;
    await cc.startCoordinator(id);
    return id;
  }

  /** Starts a round through the leader; the reply never comes when the leader dies. */
  function startRound(): { mark: number; reply: Promise<SyncReply> } {
    const mark = cc.eventMark();
    const reply = cc.sync(15_000).catch((e) => ({ ok: false, error: { code: 'NO_REPLY', message: String(e) } }));
    return { mark, reply };
  }

  function phaseEvent(phase: string, round: SeenEvent, mark: number): Promise<SeenEvent> {
    return cc.waitForEvent((e) => e.phase === phase && e.epoch === round.epoch && e.round === round.round, 5_000, mark);
  }

  async function killLeader(): Promise<number> {
    const app = cc.coordinators.get(leader)!;
    app.kill('SIGKILL');
    await app.exited;
    return Date.now();
  }

  /**
   * What must hold after the leader died in a round: replicas back in Work by their
   * freeze lease before the standby leads, the standby leading with a higher epoch, its
   * first round committing, and every acknowledged write there.
   */
  async function afterKill(
    phase: string,
    killed: SeenEvent,
    killedAtMs: number,
    standby: string,
    loads: IncrementLoad[],
    thawedByLease: readonly string[],
    committedKilledRound = false,
  ): Promise<void> {
    const workAtMs = await cc.waitAllWork(IDS, FREEZE_LEASE_MS + 3_000);
    const took = await cc.waitForLeader(standby, LEASE_MS + 10_000);
    // Thawed on their own: before anyone could have told them (the standby's take-over
    // resume comes only after it leads), and by the lease (their logs say so).
    expect(workAtMs).toBeLessThan(took.leaderAtMs);
    for (const id of thawedByLease) {
      const thawed = CoordinatedCluster.logsWithMsg(cc.replica(id), 'freeze lease expired; back to Work');
      expect(thawed.some((l) => l.epoch === killed.epoch && l.round === killed.round)).toBe(true);
    }
    if (committedKilledRound) {
      // Every member holds the same snapshot of the killed round (before the next one replaces it).
      const snaps = await cc.beforeSync(IDS, 'hits');
      for (const s of snaps) expect(s).toMatchObject({ ok: true, round: { epoch: killed.epoch, round: killed.round }, value: snaps[0].value });
    }
    const status = await cc.coordinatorStatus();
    expect(status.leader).toBe(standby);
    expect(status.epoch).toBeGreaterThan(killed.epoch);
    const next = await cc.syncCommitted();
    expect(next).toMatchObject({ outcome: 'committed', coordinator: standby, members: IDS });
    expect(next.epoch).toBeGreaterThan(killed.epoch);
    leader = standby;

    await Promise.all(loads.map((l) => l.stop()));
    acked += loads.reduce((a, l) => a + l.acked, 0);
    attempted += loads.reduce((a, l) => a + l.attempted, 0);
    await cc.cluster.converged(IDS);
    const values = await Promise.all(IDS.map((id) => cc.cluster.ok('get', { key: 'hits' }, id)));
    for (const v of values) expect(v.value).toBe(values[0].value);
    expect(values[0].value as number).toBeGreaterThanOrEqual(acked);
    expect(values[0].value as number).toBeLessThanOrEqual(attempted);
    expect(loads.every((l) => l.acked > 0)).toBe(true);
    figures.push(
      `${phase}: killed in ${killed.epoch}/${killed.round}; all in Work ${workAtMs - killedAtMs} ms after the kill, ` +
        `standby ${standby} led at +${took.leaderAtMs - killedAtMs} ms (epoch ${took.epoch}); ` +
        `next round ${next.epoch}/${next.round} writesHeldMs ${next.timings.writesHeldMs}; load errors ${JSON.stringify(loads.map((l) => Object.fromEntries(l.errors)))}`,
    );
  }

  it('coordinator killed in freeze - replicas thaw by their lease, the standby takes over and its round commits', async () => {
    const standby = await startStandby();
    const loads = IDS.map((id) => cc.track(new IncrementLoad(cc.cluster, id, 'hits')));
    await sleep(300);
    // r3 paused: the leader sends freeze to all and waits for r3's reply.
    cc.replica('r3').pause();
    const { mark } = startRound();
    const started = await cc.waitForEvent((e) => e.phase === 'started', 5_000, mark);
    await Promise.all(['r1', 'r2'].map((id) => cc.waitFrozen(id)));
    expect(cc.events.slice(mark).map((e) => e.phase)).toEqual(['started']);
    const killedAtMs = await killLeader();
    cc.replica('r3').resume(); // it takes the dead leader's freeze now, and thaws by its lease too
    await afterKill('freeze', started, killedAtMs, standby, loads, IDS);
    // Nothing was committed in the killed round.
    for (const id of IDS) {
      expect(CoordinatedCluster.logsWithMsg(cc.replica(id), 'round committed').some((l) => l.epoch === started.epoch && l.round === started.round)).toBe(false);
    }
  }, 60_000);

  it('coordinator killed in cut - replicas thaw by their lease, nobody commits the round, the standby takes over and its round commits', async () => {
    const standby = await startStandby();
    const loads = IDS.map((id) => cc.track(new IncrementLoad(cc.cluster, id, 'hits')));
    await sleep(300);
    // Hold the freeze on r3, then hold the cut on r2: r2 has answered freeze, and the
    // leader sends the cut only once r3 answers too.
    cc.replica('r3').pause();
    const { mark } = startRound();
    const started = await cc.waitForEvent((e) => e.phase === 'started', 5_000, mark);
    await Promise.all(['r1', 'r2'].map((id) => cc.waitFrozen(id)));
    cc.replica('r2').pause();
    cc.replica('r3').resume();
    await phaseEvent('frozen', started, mark);
    await Promise.all(['r1', 'r3'].map((id) => cc.waitForMode(id, ['Ready'], 1_500)));
    expect(cc.events.slice(mark).map((e) => e.phase)).toEqual(['started', 'frozen']);
    const killedAtMs = await killLeader();
    cc.replica('r2').resume();
    await afterKill('cut', started, killedAtMs, standby, loads, IDS);
    const rounds = await Promise.all(IDS.map(async (id) => (await cc.replicaStatus(id)).lastRound));
    // The standby's round committed after the killed one; the killed one never did.
    for (const r of rounds) expect(r).not.toEqual({ epoch: started.epoch, round: started.round });
    for (const id of IDS) {
      expect(CoordinatedCluster.logsWithMsg(cc.replica(id), 'round committed').some((l) => l.epoch === started.epoch && l.round === started.round)).toBe(false);
    }
  }, 60_000);

  it('coordinator killed in commit - members commit and thaw by their lease, the standby takes over and its round commits', async () => {
    const standby = await startStandby();
    const loads = IDS.map((id) => cc.track(new IncrementLoad(cc.cluster, id, 'hits')));
    await sleep(300);
    // Freeze held on r1, cut held on r2, commit held on r3 (not the snapshot publisher).
    cc.replica('r1').pause();
    const { mark } = startRound();
    const started = await cc.waitForEvent((e) => e.phase === 'started', 5_000, mark);
    await Promise.all(['r2', 'r3'].map((id) => cc.waitFrozen(id)));
    cc.replica('r2').pause();
    cc.replica('r1').resume();
    await phaseEvent('frozen', started, mark);
    await Promise.all(['r1', 'r3'].map((id) => cc.waitForMode(id, ['Ready'], 1_500)));
    cc.replica('r3').pause();
    cc.replica('r2').resume();
    await phaseEvent('cut', started, mark);
    const id = { epoch: started.epoch, round: started.round };
    for (const r of ['r1', 'r2']) {
      await cc.waitCommitted(r, id);
    }
    expect(cc.events.slice(mark).map((e) => e.phase)).toEqual(['started', 'frozen', 'cut']);
    const killedAtMs = await killLeader();
    // r3 takes the commit it was sent (its lease, renewed by the cut, has not run out).
    cc.replica('r3').resume();
    await afterKill('commit', started, killedAtMs, standby, loads, IDS, true);
    // Every member committed the killed round, with the same snapshot.
    for (const r of IDS) {
      expect(CoordinatedCluster.logsWithMsg(cc.replica(r), 'round committed').some((l) => l.epoch === id.epoch && l.round === id.round)).toBe(true);
    }
  }, 60_000);

  it('coordinator killed after commit, before every resume is confirmed - no purge happened, the standby takes over, commits and purges', async () => {
    const standby = await startStandby();
    const loads = IDS.map((id) => cc.track(new IncrementLoad(cc.cluster, id, 'hits')));
    await sleep(300);
    const firstSeqBefore = (await cc.streamInfo()).state.first_seq;
    // Freeze held on r1, cut on r2, commit on r3, then the resume on r1 (which committed):
    // the leader has sent resume to everyone and waits for r1's reply before it purges.
    cc.replica('r1').pause();
    const { mark } = startRound();
    const started = await cc.waitForEvent((e) => e.phase === 'started', 5_000, mark);
    await Promise.all(['r2', 'r3'].map((r) => cc.waitFrozen(r)));
    cc.replica('r2').pause();
    cc.replica('r1').resume();
    await phaseEvent('frozen', started, mark);
    await Promise.all(['r1', 'r3'].map((r) => cc.waitForMode(r, ['Ready'], 1_500)));
    cc.replica('r3').pause();
    cc.replica('r2').resume();
    await phaseEvent('cut', started, mark);
    const id = { epoch: started.epoch, round: started.round };
    for (const r of ['r1', 'r2']) {
      await cc.waitCommitted(r, id);
    }
    cc.replica('r1').pause();
    cc.replica('r3').resume();
    await phaseEvent('committed', started, mark);
    await cc.waitForMode('r2', ['Work'], 1_000);
    expect(cc.events.slice(mark).map((e) => e.phase)).toEqual(['started', 'frozen', 'cut', 'committed']);
    const killedAtMs = await killLeader();
    cc.replica('r1').resume();
    // Members were resumed by the messages the leader sent before it died, not by a lease.
    await afterKill('after commit', started, killedAtMs, standby, loads, [], true);
    expect(cc.events.some((e) => e.phase === 'purged' && e.epoch === id.epoch && e.round === id.round)).toBe(false);
    const purged = cc.events.filter((e) => e.phase === 'purged' && e.epoch > id.epoch);
    expect(purged.length).toBe(1);
    const info = await cc.streamInfo();
    expect(info.state.first_seq).toBe(purged[0].keepFromSeq);
    expect(info.state.first_seq).toBeGreaterThan(firstSeqBefore);
    for (const r of IDS) {
      expect(CoordinatedCluster.logsWithMsg(cc.replica(r), 'round committed').some((l) => l.epoch === id.epoch && l.round === id.round)).toBe(true);
    }
  }, 60_000);
});
