import { FakeCluster } from '../testing/fake-cluster';
import type { RoundResult } from './round-result';
import { cutOf, DEFAULT_ROUND_LIMITS, differingKeys, majorityOf, membersBehind, runRound, type RoundLimits, type RoundPlan } from './round-runner';

const IDS = ['r1', 'r2', 'r3'];

function plan(overrides: Partial<RoundPlan> = {}): RoundPlan {
  return { coordinator: 'c1', epoch: 1, round: 1, trigger: 'manual', members: IDS, stillLeader: () => true, ...overrides };
}

/** Runs a round on the manual clock until it ends (bounded). */
async function run(cluster: FakeCluster, p: RoundPlan = plan(), limits: RoundLimits = DEFAULT_ROUND_LIMITS): Promise<RoundResult> {
  let result: RoundResult | undefined;
  void runRound(cluster.ports(), p, limits).then((r) => (result = r));
  const ended = await cluster.clock.runUntil(() => result !== undefined, 120_000);
  if (!ended) throw new Error('the round did not end within 120 s of protocol time');
  return result!;
}

/** Three replicas with some writes, all delivered. */
async function seeded(): Promise<FakeCluster> {
  const c = new FakeCluster(IDS);
  c.get('r1').write('a', '1');
  c.get('r2').write('b', '2');
  c.get('r3').write('c', '3');
  c.get('r1').write('a', '4');
  await c.clock.advance(50);
  return c;
}

describe('round runner', () => {
  it('round - commits: freeze, entry-wise max cut, equal digests, commit with the first member publishing, resume, purge', async () => {
    const c = await seeded();
    // A write just before the round: r2 has it, the others have not received it yet.
    c.get('r2').write('b', '5');
    const r = await run(c);

    expect(r.outcome).toBe('committed');
    expect(r.members).toEqual(IDS);
    expect(r.cut).toEqual({ r1: 2, r2: 2, r3: 1 });
    expect(r.publisher).toBe('r1');
    for (const id of IDS) {
      const rep = c.get(id);
      expect(rep.mode).toBe('Work');
      expect(rep.snapshots).toHaveLength(1);
      expect(rep.snapshots[0].cut).toEqual(r.cut);
      expect(rep.round.lastCommitted()).toEqual({ epoch: 1, round: 1 });
    }
    expect(c.get('r1').publishedSnapshots).toHaveLength(1);
    expect(c.get('r2').publishedSnapshots).toHaveLength(0);
    expect(r.digest).toBe(c.get('r1').digest());
    // Every member's snapshot ends at stream seq 5; keep from 6.
    expect(r.keepFromSeq).toBe(6);
    expect(c.purges).toEqual([6]);
    expect(c.broadcasts).toEqual([{ epoch: 1, round: 1, committed: true }]);
    expect(c.requestsOf('commit').map((q) => q.body)).toEqual(IDS.map(() => ({ epoch: 1, round: 1, publisher: 'r1', leaseMs: DEFAULT_ROUND_LIMITS.freezeLeaseMs })));
    expect(c.requestsOf('resume').every((q) => q.body.committed === true)).toBe(true);
    expect(c.events.map((e) => e.phase)).toEqual(['started', 'frozen', 'cut', 'committed', 'resumed', 'purged', 'done']);
    const t = r.timings;
    expect(t.cutMs).toBeGreaterThan(0); // the cut waited for r2's write to reach r1 and r3
    expect(t.writesHeldMs).toBeGreaterThanOrEqual(t.freezeMs + t.cutMs + t.commitMs);
    expect(t.writesHeldMs).toBeLessThanOrEqual(t.totalMs);
  });

  it('round - writes arriving during the round are held, and run after resume', async () => {
    const c = await seeded();
    c.get('r2').write('b', '9'); // in flight: the cut waits for it, so the round is still on
    let result: RoundResult | undefined;
    void runRound(c.ports(), plan()).then((r) => (result = r));
    await c.clock.advance(0);
    expect(result).toBeUndefined();
    expect(c.get('r1').mode).not.toBe('Work');
    expect(c.get('r1').write('late', 'x')).toBe(false);
    expect(c.get('r1').held).toEqual(['late']);
    await c.clock.runUntil(() => result !== undefined, 60_000);
    expect(result?.outcome).toBe('committed');
    expect(c.get('r1').write('late', 'x')).toBe(true);
  });

  it('round - a replica that does not answer freeze aborts the round and the others are resumed', async () => {
    const c = await seeded();
    c.get('r3').silentOn.add('freeze');
    const r = await run(c);

    expect(r.outcome).toBe('aborted');
    expect(r.code).toBe('TIMEOUT');
    expect(r.failures).toEqual([expect.objectContaining({ replica: 'r3', phase: 'freeze', code: 'TIMEOUT' })]);
    expect(r.reason).toMatch(/r3 did not answer freeze within 4000 ms/);
    expect(c.requestsOf('cut')).toHaveLength(0);
    expect(c.requestsOf('commit')).toHaveLength(0);
    expect(c.requestsOf('resume').map((q) => [q.replica, q.body.committed])).toEqual(IDS.map((id) => [id, false]));
    expect(c.broadcasts).toEqual([{ epoch: 1, round: 1, committed: false }]);
    expect(c.purges).toEqual([]);
    for (const id of IDS) expect(c.get(id).mode).toBe('Work');
    for (const id of IDS) expect(c.get(id).snapshots).toHaveLength(0);
    expect(r.timings.freezeMs).toBeGreaterThanOrEqual(4_000);
    expect(r.timings.writesHeldMs).toBeGreaterThanOrEqual(r.timings.freezeMs);
  });

  it('round - a replica that refuses names its own code in the failure', async () => {
    const c = await seeded();
    c.get('r2').outboxStuck = true;
    c.get('r2').write('stuck', 'x');
    const r = await run(c);

    expect(r.outcome).toBe('aborted');
    expect(r.code).toBe('REFUSED');
    expect(r.failures).toEqual([expect.objectContaining({ replica: 'r2', phase: 'freeze', replicaCode: 'TIMEOUT' })]);
    for (const id of IDS) expect(c.get(id).mode).toBe('Work');
  });

  it('round - a replica gone from NATS is UNREACHABLE', async () => {
    const c = await seeded();
    const r = await run(c, plan({ members: [...IDS, 'r4'] }));
    expect(r.outcome).toBe('aborted');
    expect(r.failures).toEqual([expect.objectContaining({ replica: 'r4', phase: 'freeze', code: 'UNREACHABLE' })]);
    for (const id of IDS) expect(c.get(id).mode).toBe('Work');
  });

  it('round - a port that never settles is still bounded by the runner', async () => {
    const c = await seeded();
    const ports = c.ports();
    const hanging = { ...ports, request: (id: string, phase: Parameters<typeof ports.request>[1], body: Record<string, unknown>, ms: number) => (id === 'r2' && phase === 'cut' ? new Promise<unknown>(() => undefined) : ports.request(id, phase, body, ms)) };
    let result: RoundResult | undefined;
    void runRound(hanging, plan()).then((r) => (result = r));
    await c.clock.runUntil(() => result !== undefined, 60_000);
    expect(result?.outcome).toBe('aborted');
    expect(result?.failures).toEqual([expect.objectContaining({ replica: 'r2', phase: 'cut', code: 'TIMEOUT' })]);
    for (const id of IDS) expect(c.get(id).mode).toBe('Work');
  });

  it('round - a commit that fails aborts without purging, and resumes with committed false', async () => {
    const c = await seeded();
    c.get('r2').silentOn.add('commit');
    const r = await run(c);
    expect(r.outcome).toBe('aborted');
    expect(r.failures).toEqual([expect.objectContaining({ replica: 'r2', phase: 'commit', code: 'TIMEOUT' })]);
    expect(c.purges).toEqual([]);
    expect(c.broadcasts).toEqual([{ epoch: 1, round: 1, committed: false }]);
    // r1 and r3 committed; nobody is told to re-join, the stream still holds everything.
    expect(c.get('r1').rejoins).toEqual([]);
    expect(c.get('r2').rejoins).toEqual([]);
  });

  it('round - digest mismatch aborts, names the differing keys in a loud error and in the result', async () => {
    const c = await seeded();
    c.get('r2').corrupt('b', 'wrong');
    c.get('r3').corrupt('zz', 'only-here');
    const r = await run(c);

    expect(r.outcome).toBe('aborted');
    expect(r.code).toBe('DIGEST_MISMATCH');
    expect(r.mismatchedKeys).toEqual(['b', 'zz']);
    expect(r.mismatchedKeysTotal).toBe(2);
    expect(Object.keys(r.digests ?? {})).toEqual(IDS);
    expect(r.reason).toMatch(/2 key\(s\) differ: b, zz/);
    const loud = c.log.at('error');
    expect(loud).toHaveLength(1);
    expect(loud[0].msg).toMatch(/DIGEST MISMATCH/);
    expect(loud[0].fields.mismatchedKeys).toEqual(['b', 'zz']);
    expect(c.requestsOf('digests')).toHaveLength(3);
    expect(c.requestsOf('commit')).toHaveLength(0);
    expect(c.events.map((e) => e.phase)).toContain('mismatch');
    for (const id of IDS) expect(c.get(id).mode).toBe('Work');
  });

  it('round - digest mismatch with a majority: the majority commits, the minority re-joins from its snapshot, the keys are named', async () => {
    const c = await seeded();
    c.get('r2').corrupt('b', 'wrong');
    const r = await run(c);

    expect(r.outcome).toBe('committed');
    expect(r.repaired).toEqual(['r2']);
    expect(r.mismatchedKeys).toEqual(['b']);
    expect(r.publisher).toBe('r1');
    expect(c.log.at('error')[0].msg).toMatch(/DIGEST MISMATCH/);
    expect(c.requestsOf('commit').map((q) => q.replica)).toEqual(['r1', 'r3']);
    // Told twice (its resume and the broadcast); the core runs one re-join at a time.
    expect([...new Set(c.get('r2').rejoins)]).toEqual(['missed round 1/1']);
    expect(c.get('r1').rejoins).toEqual([]);
    for (const id of IDS) expect(c.get(id).mode).toBe('Work');
  });

  it('majorityOf - a strict majority of one digest, or none', () => {
    expect(majorityOf(['a', 'b', 'c'], { a: 'x', b: 'y', c: 'x' })).toEqual(['a', 'c']);
    expect(majorityOf(['a', 'b'], { a: 'x', b: 'y' })).toBeUndefined();
    expect(majorityOf(['a', 'b', 'c', 'd'], { a: 'x', b: 'x', c: 'y', d: 'y' })).toBeUndefined();
  });

  it('round - names at most mismatchedKeysMax keys but counts them all', async () => {
    const c = await seeded();
    for (let i = 0; i < 30; i++) c.get('r3').corrupt(`k${String(i).padStart(2, '0')}`, 'x');
    const r = await run(c, plan(), { ...DEFAULT_ROUND_LIMITS, mismatchedKeysMax: 5 });
    expect(r.mismatchedKeys).toEqual(['k00', 'k01', 'k02', 'k03', 'k04']);
    expect(r.mismatchedKeysTotal).toBe(30);
  });

  it('round - a stale epoch is refused by the replicas, and nobody is left frozen', async () => {
    const c = await seeded();
    // A newer leader (epoch 5) has spoken to every replica.
    for (const id of IDS) c.get(id).round.resume({ epoch: 5, round: 0, committed: false });
    const r = await run(c, plan({ epoch: 4, round: 9 }));

    expect(r.outcome).toBe('aborted');
    expect(r.code).toBe('REFUSED');
    expect(r.failures).toHaveLength(3);
    expect(r.failures?.every((f) => f.phase === 'freeze' && f.replicaCode === 'BAD_REQUEST')).toBe(true);
    for (const id of IDS) {
      expect(c.get(id).mode).toBe('Work');
      expect(c.get(id).round.current()).toEqual({ epoch: 5, round: 0 });
    }
  });

  it('round - a coordinator that lost the lease after the freeze aborts before the cut', async () => {
    const c = await seeded();
    let leader = true;
    let result: RoundResult | undefined;
    void runRound(c.ports(), plan({ stillLeader: () => leader })).then((r) => (result = r));
    await c.clock.runUntil(() => c.requestsOf('freeze').length === 3, 1_000, 1);
    leader = false;
    await c.clock.runUntil(() => result !== undefined, 60_000);
    expect(result?.code).toBe('NOT_LEADER');
    expect(c.requestsOf('cut')).toHaveLength(0);
    for (const id of IDS) expect(c.get(id).mode).toBe('Work');
  });

  it('round - a non-member that missed a committed round learns it from the broadcast and re-joins', async () => {
    const c = await seeded();
    const r = await run(c, plan({ members: ['r1', 'r2'] }));
    expect(r.outcome).toBe('committed');
    expect(c.get('r3').rejoins).toEqual(['missed round 1/1']);
    expect(c.get('r1').rejoins).toEqual([]);
  });

  it('round - a member that missed a committed round refuses the freeze and re-joins; no cut is sent (seed 2578)', async () => {
    const c = await seeded();
    // r1 and r2 commit round 1/1 without r3; then a round with the floor 1/1 asks r3 too.
    expect((await run(c, plan({ members: ['r1', 'r2'] }))).outcome).toBe('committed');
    c.get('r3').rejoins.length = 0;
    const r = await run(c, plan({ round: 2, committedFloor: { epoch: 1, round: 1 } }));
    expect(r.outcome).toBe('aborted');
    expect(r.failures).toEqual([expect.objectContaining({ replica: 'r3', phase: 'freeze', code: 'REFUSED', replicaCode: 'NOT_CAUGHT_UP' })]);
    expect(c.get('r3').rejoins).toEqual(['missed round 1/1 (asked to freeze for 1/2)']);
    expect(c.requestsOf('cut').filter((q) => (q.body as { round: number }).round === 2)).toHaveLength(0);
  });

  it('round - members holding different rounds never reach the cut, even when the floor is unknown (digest mismatches)', async () => {
    const c = await seeded();
    expect((await run(c, plan({ members: ['r1', 'r2'] }))).outcome).toBe('committed');
    const r = await run(c, plan({ round: 2 }));
    expect(r.outcome).toBe('aborted');
    expect(r.failures).toEqual([expect.objectContaining({ replica: 'r3', phase: 'freeze', replicaCode: 'NOT_CAUGHT_UP' })]);
    expect(c.requestsOf('cut').filter((q) => (q.body as { round: number }).round === 2)).toHaveLength(0);
  });
});

describe('cut and digest helpers', () => {
  it('cutOf - entry-wise max of applied, raised to each member\'s own published seq', () => {
    const cut = cutOf(['a', 'b'], [
      { published: 3, applied: { a: 2, b: 1, gone: 4 } },
      { published: 7, applied: { a: 3, b: 5 } },
    ]);
    expect(cut).toEqual({ a: 3, b: 7, gone: 4 });
    expect(Object.keys(cut)).toEqual(['a', 'b', 'gone']);
  });

  it('membersBehind - members naming an older committed round than another member fail; silent ones are taken at their word', () => {
    const f = membersBehind(['a', 'b', 'c', 'd'], [{ committed: { epoch: 2, round: 1 } }, { committed: { epoch: 1, round: 9 } }, {}, { committed: { epoch: 2, round: 1 } }]);
    expect(f.map((x) => x.replica)).toEqual(['b']);
    expect(membersBehind(['a'], [{}])).toEqual([]);
  });

  it('differingKeys - a key missing on one replica differs; equal keys do not', () => {
    const t = new Map<string, Record<string, string>>([
      ['r1', { a: 'x', b: 'y', c: 'z' }],
      ['r2', { a: 'x', b: 'Y' }],
    ]);
    expect(differingKeys(t)).toEqual(['b', 'c']);
  });
});
