import { CapturingLog } from '#testing/capturing-log';
import { FakeCluster, InMemoryLeaseStore } from '../testing/fake-cluster';
import { Coordinator, type SyncReply } from './coordinator';
import { DEFAULT_COORDINATOR_CONFIG, type CoordinatorConfig } from './coordinator-config';
import type { RoundHistoryPort } from './round-history';
import type { RoundResult } from './round-result';
import { DEFAULT_ROUND_SCHEDULE } from './round-scheduler';

/** The KV key's stand-in: a list that outlives the coordinators, stored as JSON as the bucket would. */
class InMemoryHistory implements RoundHistoryPort {
  stored = '[]';
  saves = 0;
  async load(): Promise<readonly unknown[]> {
    return JSON.parse(this.stored) as unknown[];
  }
  async save(results: readonly RoundResult[]): Promise<void> {
    this.saves++;
    this.stored = JSON.stringify(results);
  }
}

const IDS = ['r1', 'r2', 'r3'];
const BEAT_MS = 200;

interface Node {
  readonly coordinator: Coordinator;
  readonly log: CapturingLog;
  readonly leadership: boolean[];
}

/** A cluster of fake replicas heard by every coordinator (heartbeats every 200 ms), and round events relayed between them. */
function world(ids = IDS) {
  const cluster = new FakeCluster(ids);
  const store = new InMemoryLeaseStore();
  const nodes: Node[] = [];
  const silent = new Set<string>();
  const tick = () => {
    for (const r of cluster.replicas.values()) if (!silent.has(r.replicaId)) for (const n of nodes) n.coordinator.heard(JSON.parse(JSON.stringify(r.heartbeat())));
    cluster.clock.setTimer(BEAT_MS, tick);
  };
  cluster.clock.setTimer(BEAT_MS, tick);
  const add = (id: string, config: Partial<CoordinatorConfig> = {}, history?: RoundHistoryPort): Node => {
    const log = new CapturingLog();
    const leadership: boolean[] = [];
    const ports = cluster.ports(log);
    const coordinator = new Coordinator(
      { ...DEFAULT_COORDINATOR_CONFIG, schedule: { ...DEFAULT_ROUND_SCHEDULE, intervalMs: 0, opLogThreshold: 0 }, ...config, id },
      {
        ...ports,
        emit: (e) => {
          ports.emit(e);
          for (const n of nodes) n.coordinator.observed(JSON.parse(JSON.stringify(e)));
        },
        lease: store,
        history,
        leadershipChanged: (leader) => leadership.push(leader),
      },
    );
    const node = { coordinator, log, leadership };
    nodes.push(node);
    void coordinator.restoreHistory().then(() => coordinator.start());
    return node;
  };
  const sync = async (n: Node): Promise<SyncReply> => {
    let reply: SyncReply | undefined;
    void n.coordinator.sync().then((r) => (reply = r));
    await cluster.clock.runUntil(() => reply !== undefined, 60_000);
    if (!reply) throw new Error('sync did not answer within 60 s of protocol time');
    return reply;
  };
  return { cluster, store, add, sync, silent, clock: cluster.clock };
}

describe('coordinator', () => {
  it('coordinator - the leader warms up, resumes every live member under its epoch, then syncs on request', async () => {
    const w = world();
    const a = w.add('a');
    await w.clock.advance(3_000);
    expect(a.coordinator.isLeader()).toBe(true);
    expect(a.leadership).toEqual([true]);
    expect(a.log.lines.find((l) => l.msg === 'leader')?.fields).toEqual({ coordinator: 'a', epoch: 1 });
    // Take-over resume: round 0 of the new epoch, to everyone, and as a broadcast.
    expect(w.cluster.requestsOf('resume').map((q) => [q.replica, q.body])).toEqual(IDS.map((id) => [id, { epoch: 1, round: 0, committed: false }]));
    expect(w.cluster.broadcasts[0]).toEqual({ epoch: 1, round: 0, committed: false });

    w.cluster.get('r1').write('k', 'v');
    const first = await w.sync(a);
    const second = await w.sync(a);
    expect(first).toEqual({ ok: true, result: expect.objectContaining({ epoch: 1, round: 1, outcome: 'committed', trigger: 'manual', members: IDS }) });
    expect(second.ok && second.result.round).toBe(2);

    const status = a.coordinator.status();
    expect(status).toMatchObject({ ok: true, coordinator: 'a', leader: 'a', isLeader: true, epoch: 1, running: null });
    expect(status.members.map((m) => m.replica)).toEqual(IDS);
    expect(status.lastRounds.map((r) => r.round)).toEqual([2, 1]);
    expect(status.freeze.committedRounds).toBe(2);
    expect(status.freeze.lastWritesHeldMs).toBe(second.ok ? second.result.timings.writesHeldMs : -1);
    expect(a.coordinator.rounds({ limit: 1 })).toEqual({ ok: true, rounds: [status.lastRounds[0]] });
    expect(a.coordinator.rounds({ limit: 0 })).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
  });

  it('coordinator - a standby does not run rounds, names the leader, and keeps the leader\'s results', async () => {
    const w = world();
    const a = w.add('a');
    await w.clock.advance(100);
    const b = w.add('b');
    await w.clock.advance(3_000);
    expect(b.coordinator.isLeader()).toBe(false);
    expect(await w.sync(b)).toEqual({ ok: false, error: { code: 'NOT_LEADER', message: 'coordinator a leads; ask it' } });
    await w.sync(a);
    const s = b.coordinator.status();
    expect(s).toMatchObject({ coordinator: 'b', leader: 'a', isLeader: false, epoch: 1 });
    expect(s.lastRounds.map((r) => [r.coordinator, r.round, r.outcome])).toEqual([['a', 1, 'committed']]);
  });

  it('coordinator - a new leader ends the round a dead leader left, and its rounds continue above the old epoch', async () => {
    const w = world();
    // Leader "dead" held epoch 1 and died mid-round: every replica is frozen by (1, 7), its
    // lease is no longer renewed, and nobody resumes them.
    w.store.force({ id: 'dead', epoch: 1, expiresAtMs: w.clock.nowMs() + 3_000 });
    for (const id of IDS) await w.cluster.get(id).round.freeze({ epoch: 1, round: 7, leaseMs: 60_000 });
    expect(w.cluster.get('r1').mode).toBe('Sync');
    const b = w.add('b');
    await w.clock.advance(2_000);
    expect(b.coordinator.status()).toMatchObject({ leader: 'dead', isLeader: false });
    await w.clock.runUntil(() => b.coordinator.isLeader(), 10_000, 50);
    await w.clock.advance(100);
    expect(b.coordinator.epoch).toBe(2);
    for (const id of IDS) expect(w.cluster.get(id).mode).toBe('Work');
    for (const id of IDS) expect(w.cluster.get(id).round.current()).toEqual({ epoch: 2, round: 0 });
    const r = await w.sync(b);
    expect(r).toMatchObject({ ok: true, result: { epoch: 2, round: 1, coordinator: 'b' } });
    // The old leader's messages are now refused as stale.
    expect(await w.cluster.get('r1').round.freeze({ epoch: 1, round: 8, leaseMs: 1_000 })).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
  });

  it('coordinator - replicas reporting a newer epoch make the leader raise its own before the round (stale epoch ignored)', async () => {
    const w = world();
    // Replicas heard of epoch 7 (say the lease bucket was lost and recreated).
    for (const id of IDS) w.cluster.get(id).round.resume({ epoch: 7, round: 3, committed: false });
    const a = w.add('a');
    await w.clock.advance(3_000);
    // The lease was taken before any heartbeat arrived; the take-over moved the epoch above
    // what the replicas report, and its resume reached them.
    expect(a.coordinator.epoch).toBe(8);
    for (const id of IDS) expect(w.cluster.get(id).round.current()).toEqual({ epoch: 8, round: 0 });
    const epoch = a.coordinator.epoch;
    // A late replica (or a partitioned old leader's doing) shows an even newer epoch.
    w.cluster.get('r2').round.resume({ epoch: epoch + 5, round: 2, committed: false });
    await w.clock.advance(BEAT_MS * 2);
    const r = await w.sync(a);
    expect(r).toMatchObject({ ok: true, result: { epoch: epoch + 6, round: 1, outcome: 'committed' } });
    expect(w.store.current()?.epoch).toBe(epoch + 6);
  });

  it('coordinator - round numbers keep increasing within an epoch, past what replicas report', async () => {
    const w = world();
    const a = w.add('a');
    await w.clock.advance(3_000);
    for (const id of IDS) w.cluster.get(id).round.resume({ epoch: 1, round: 41, committed: false });
    await w.clock.advance(BEAT_MS * 2);
    const r = await w.sync(a);
    expect(r).toMatchObject({ ok: true, result: { epoch: 1, round: 42 } });
    expect((await w.sync(a)).ok && 43).toBe(43);
  });

  it('coordinator - no members: NO_MEMBERS; a member still starting: REPLICA_STARTING without freezing anyone', async () => {
    const w = world();
    for (const id of IDS) w.silent.add(id);
    const a = w.add('a');
    await w.clock.advance(3_000);
    expect(await w.sync(a)).toMatchObject({ ok: false, error: { code: 'NO_MEMBERS' }, result: { outcome: 'aborted', members: [] } });

    w.silent.clear();
    w.cluster.get('r2').mode = 'Starting';
    await w.clock.advance(BEAT_MS * 2);
    const before = w.cluster.requestsOf('freeze').length;
    const r = await w.sync(a);
    expect(r).toMatchObject({ ok: false, error: { code: 'REPLICA_STARTING' }, result: { timings: { writesHeldMs: 0 } } });
    expect(!r.ok && r.error.message).toMatch(/r2/);
    expect(w.cluster.requestsOf('freeze').length).toBe(before);
  });

  it('coordinator - an op log over the threshold starts a round by itself, and the truncated log does not re-trigger', async () => {
    const w = world();
    const a = w.add('a', { schedule: { ...DEFAULT_ROUND_SCHEDULE, intervalMs: 0, opLogThreshold: 5 } });
    await w.clock.advance(3_000);
    expect(a.coordinator.status().lastRounds).toEqual([]);
    for (let i = 0; i < 5; i++) w.cluster.get('r1').write(`k${i}`, 'v');
    await w.clock.advance(2_000);
    const rounds = a.coordinator.status().lastRounds;
    expect(rounds.length).toBeGreaterThanOrEqual(1);
    expect(rounds[rounds.length - 1]).toMatchObject({ trigger: 'threshold', outcome: 'committed' });
  });

  it('coordinator - a sync that aborts answers ok:false with the round\'s code and its result', async () => {
    const w = world();
    const a = w.add('a');
    await w.clock.advance(3_000);
    w.cluster.get('r3').silentOn.add('cut');
    const r = await w.sync(a);
    expect(r).toMatchObject({ ok: false, error: { code: 'TIMEOUT' }, result: { outcome: 'aborted', failures: [{ replica: 'r3', phase: 'cut' }] } });
    for (const id of IDS) expect(w.cluster.get(id).mode).toBe('Work');
  });

  it('coordinator - stop waits for the running round, releases the lease, and refuses further syncs', async () => {
    const w = world();
    const a = w.add('a');
    const b = w.add('b');
    await w.clock.advance(3_000);
    const [leader, standby] = a.coordinator.isLeader() ? [a, b] : [b, a];
    w.cluster.get('r1').write('x', '1');
    let reply: SyncReply | undefined;
    void leader.coordinator.sync().then((r) => (reply = r));
    await w.clock.runUntil(() => w.cluster.requestsOf('freeze').length > 0, 1_000, 1);
    let stopped = false;
    void leader.coordinator.stop().then(() => (stopped = true));
    await w.clock.runUntil(() => stopped, 30_000);
    expect(reply).toMatchObject({ ok: true });
    expect(w.store.current()?.id).toBe('');
    expect(await leader.coordinator.sync()).toMatchObject({ ok: false, error: { code: 'STOPPING' } });
    await w.clock.advance(DEFAULT_COORDINATOR_CONFIG.leaseMs / 3 + 10);
    expect(standby.coordinator.isLeader()).toBe(true);
  });

  it('coordinator - round history survives a restart: the next coordinator restores what the last one saved', async () => {
    const w = world();
    const history = new InMemoryHistory();
    const a = w.add('a', {}, history);
    await w.clock.advance(3_000);
    w.cluster.get('r1').write('k', 'v');
    const first = await w.sync(a);
    const second = await w.sync(a);
    expect(first.ok && second.ok).toBe(true);
    let stopped = false;
    void a.coordinator.stop().then(() => (stopped = true));
    await w.clock.runUntil(() => stopped, 30_000);
    expect((JSON.parse(history.stored) as RoundResult[]).map((r) => [r.coordinator, r.epoch, r.round])).toEqual([
      ['a', 1, 1],
      ['a', 1, 2],
    ]);

    const b = w.add('b', {}, history);
    await w.clock.advance(100);
    expect(b.log.lines.find((l) => l.msg === 'round history restored')?.fields).toEqual({ rounds: 2 });
    const status = b.coordinator.status();
    expect(status.lastRounds.map((r) => [r.coordinator, r.round, r.outcome])).toEqual([
      ['a', 2, 'committed'],
      ['a', 1, 'committed'],
    ]);
    expect(status.freeze.committedRounds).toBe(2);
    // Its own rounds are added to the same list.
    await w.clock.advance(3_000);
    expect(b.coordinator.isLeader()).toBe(true);
    const third = await w.sync(b);
    expect(third.ok).toBe(true);
    await w.clock.advance(10);
    expect((JSON.parse(history.stored) as RoundResult[]).map((r) => r.coordinator)).toEqual(['a', 'a', 'b']);
  });

  it('coordinator - a scheduled round is skipped while no event arrived since the last committed one', async () => {
    const w = world();
    const a = w.add('a', { schedule: { ...DEFAULT_ROUND_SCHEDULE, intervalMs: 10_000, opLogThreshold: 0 } });
    await w.clock.advance(3_000);
    w.cluster.get('r1').write('k', 'v');
    await w.clock.advance(10_000); // the first scheduled round: r1's op log holds an event
    const ran = () => a.coordinator.status().lastRounds.filter((r) => r.trigger === 'schedule');
    expect(ran().map((r) => r.outcome)).toEqual(['committed']);
    const freezes = w.cluster.requestsOf('freeze').length;
    await w.clock.advance(35_000); // three more intervals, no write
    expect(ran()).toHaveLength(1);
    expect(w.cluster.requestsOf('freeze').length).toBe(freezes); // nobody's writes were held
    expect(a.log.lines.filter((l) => l.msg === 'scheduled round skipped').length).toBeGreaterThanOrEqual(3);
    expect(a.log.lines.find((l) => l.msg === 'scheduled round skipped')?.fields).toEqual({ reason: 'no-event-since-last-round' });
    w.cluster.get('r2').write('k2', 'v');
    await w.clock.advance(11_000);
    expect(ran().map((r) => r.outcome)).toEqual(['committed', 'committed']);
  });
});
