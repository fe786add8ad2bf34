import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { RoundResult } from '#coordination';
import { subjectsFor } from '#protocol';
import type { Heartbeat } from '#replication/ports';
import { connectClient, pollUntil, requestJson, startNatsServer, type NatsServerHandle } from '#testing';
import { CapturingLog } from '#testing/capturing-log';
import { startCoordinatorRuntime, type CoordinatorRuntime } from '../src/coordinator-runtime';
import { readCoordinatorSettings } from '../src/coordinator.settings';

/**
 * The coordinator's NATS adapters against a real nats-server: the lease in a KV bucket,
 * admin requests, round requests to a replica answering on NATS, the resume broadcast,
 * round events and the stream purge. Runtimes run in-process (no Nest), each with its own
 * connection, so "killing" one is closing its connection without releasing the lease.
 */

const LEASE_MS = 1_500;
const s = subjectsFor('crdt');

/** A stand-in replica on NATS: heartbeats, and naive answers to every round request (it holds one key). */
class NatsStandInReplica {
  readonly requests: { phase: string; body: Record<string, unknown> }[] = [];
  readonly broadcasts: Record<string, unknown>[] = [];
  private subs: Subscription[] = [];
  private timer: NodeJS.Timeout | undefined;
  private seen = { epoch: 0, round: 0 };

  constructor(
    private readonly nc: NatsConnection,
    readonly id: string,
    private readonly commitStreamSeq: number,
  ) {}

  start(): void {
    this.subs.push(
      this.nc.subscribe(s.replica(this.id, '*'), {
        callback: (err, msg) => {
          if (err) return;
          const phase = msg.subject.slice(msg.subject.lastIndexOf('.') + 1);
          const body = JSON.parse(msg.string() || '{}') as Record<string, unknown>;
          this.requests.push({ phase, body });
          if (typeof body.epoch === 'number') this.seen = { epoch: body.epoch, round: body.round as number };
          const replica = this.id;
          const replies: Record<string, unknown> = {
            freeze: { ok: true, replica, published: 2, applied: { [replica]: 2 } },
            cut: { ok: true, replica, digest: 'same-everywhere', applied: body.cut },
            commit: { ok: true, replica, streamSeq: this.commitStreamSeq, keys: 1 },
            resume: { ok: true, replica },
            digests: { ok: true, replica, digests: { k: 'same-everywhere' } },
          };
          msg.respond(JSON.stringify(replies[phase] ?? { ok: false, error: { code: 'UNKNOWN_COMMAND', message: phase } }));
        },
      }),
      this.nc.subscribe(s.round('resume'), { callback: (err, msg) => void (!err && this.broadcasts.push(JSON.parse(msg.string()))) }),
    );
    const beat = () => {
      const hb: Heartbeat = { v: 1, replica: this.id, mode: 'Work', applied: { [this.id]: 2 }, opLogLength: 2, outboxDepth: 0, streamSeq: 5, keys: 1, epoch: this.seen.epoch, round: this.seen.round, sentMs: Date.now() };
      this.nc.publish(s.heartbeat, JSON.stringify(hb));
    };
    beat();
    this.timer = setInterval(beat, 100);
  }

  phases(): string[] {
    return this.requests.map((r) => r.phase);
  }

  stop(): void {
    clearInterval(this.timer);
    for (const sub of this.subs) sub.unsubscribe();
  }
}

describe('coordinator over NATS', () => {
  let server: NatsServerHandle;
  let client: NatsConnection;
  const runtimes: CoordinatorRuntime[] = [];
  const replicas: NatsStandInReplica[] = [];

  beforeAll(async () => {
    server = await startNatsServer();
    client = await connectClient(server.url);
  }, 30_000);

  afterEach(async () => {
    for (const r of replicas.splice(0)) r.stop();
    await Promise.all(runtimes.splice(0).map((r) => r.close()));
    // Each test starts with no lease.
    const jsm = await jetstreamManager(client);
    await jsm.streams.delete('KV_crdt-coordinator').catch(() => undefined);
    await jsm.streams.delete('CRDT_OPS').catch(() => undefined);
  }, 30_000);

  afterAll(async () => {
    await client?.close();
    await server?.dispose();
  }, 30_000);

  async function coordinator(id: string): Promise<{ runtime: CoordinatorRuntime; log: CapturingLog }> {
    const log = new CapturingLog();
    const settings = readCoordinatorSettings({
      NATS_URL: server.url,
      COORDINATOR_ID: id,
      LEASE_MS: String(LEASE_MS),
      HEARTBEAT_TIMEOUT_MS: '500',
      ROUND_INTERVAL_MS: '0',
      ROUND_OPLOG_THRESHOLD: '0',
    });
    const runtime = await startCoordinatorRuntime(settings, log);
    runtimes.push(runtime);
    return { runtime, log };
  }

  async function leaseValue(): Promise<{ id: string; epoch: number; expiresAtMs: number } | undefined> {
    const kv = await new Kvm(jetstream(client)).open('crdt-coordinator');
    const e = await kv.get('leader');
    return e?.operation === 'PUT' ? e.json() : undefined;
  }

  it('leadership - the first coordinator takes the KV lease; a second stands by; both answer status naming the leader', async () => {
    const a = await coordinator('a');
    expect(await pollUntil(() => a.runtime.coordinator.isLeader(), 5_000)).toBe(true);
    const b = await coordinator('b');
    await new Promise((r) => setTimeout(r, LEASE_MS * 1.5));
    expect(b.runtime.coordinator.isLeader()).toBe(false);
    expect(await leaseValue()).toEqual({ id: 'a', epoch: 1, expiresAtMs: expect.any(Number) });
    expect(a.log.lines.map((l) => l.msg)).toEqual(expect.arrayContaining(['ready', 'leader']));
    expect(b.log.lines.map((l) => l.msg)).not.toContain('leader');

    // Every coordinator answers status: gather both replies.
    const inbox = client.subscribe('_INBOX.status-test', { max: 2, timeout: 3_000 });
    client.publish(s.coordinator('status'), '{}', { reply: '_INBOX.status-test' });
    const replies: Record<string, unknown>[] = [];
    for await (const m of inbox) replies.push(m.json());
    const byId = Object.fromEntries(replies.map((r) => [r.coordinator, r]));
    expect(byId.a).toMatchObject({ ok: true, leader: 'a', isLeader: true, epoch: 1 });
    expect(byId.b).toMatchObject({ ok: true, leader: 'a', isLeader: false, epoch: 1 });

    // Only the leader is subscribed to sync: exactly one reply (no members yet, so it aborts).
    const syncReplies: Record<string, unknown>[] = [];
    const syncInbox = client.subscribe('_INBOX.sync-test', { callback: (err, m) => void (!err && syncReplies.push(m.json())) });
    client.publish(s.coordinator('sync'), '{}', { reply: '_INBOX.sync-test' });
    await new Promise((r) => setTimeout(r, 1_000));
    syncInbox.unsubscribe();
    expect(syncReplies).toEqual([expect.objectContaining({ ok: false, error: expect.objectContaining({ code: 'NO_MEMBERS' }) })]);
  }, 30_000);

  it('rounds - sync reaches the leader only and runs a whole round over NATS: requests, broadcast, events, stream purge', async () => {
    // An op stream with 5 messages; the member's snapshot will end at seq 3.
    const jsm = await jetstreamManager(client);
    await jsm.streams.add({ name: 'CRDT_OPS', subjects: [s.opsFilter] });
    const js = jetstream(client);
    for (let i = 1; i <= 5; i++) await js.publish(s.ops('r1'), JSON.stringify({ i }));
    const r1 = new NatsStandInReplica(client, 'r1', 3);
    const r2 = new NatsStandInReplica(client, 'r2', 4);
    replicas.push(r1, r2);
    r1.start();
    r2.start();
    const events: Record<string, unknown>[] = [];
    const evSub = client.subscribe(s.roundEvents, { callback: (err, m) => void (!err && events.push(m.json())) });

    const a = await coordinator('a');
    expect(await pollUntil(() => a.runtime.coordinator.isLeader(), 5_000)).toBe(true);
    await coordinator('b');
    // The leader resumes both members under its epoch once it has heard them.
    expect(await pollUntil(() => r1.requests.some((q) => q.phase === 'resume' && q.body.round === 0), 5_000)).toBe(true);

    const reply = await requestJson<{ ok: boolean; result: RoundResult }>(client, s.coordinator('sync'), {}, 30_000);
    expect(reply.ok).toBe(true);
    expect(reply.result).toMatchObject({ epoch: 1, round: 1, outcome: 'committed', members: ['r1', 'r2'], cut: { r1: 2, r2: 2 }, publisher: 'r1', keepFromSeq: 4, coordinator: 'a' });
    expect(reply.result.timings.writesHeldMs).toBeGreaterThanOrEqual(0);
    expect(r1.phases().slice(-4)).toEqual(['freeze', 'cut', 'commit', 'resume']);
    expect(r1.requests.find((q) => q.phase === 'commit')?.body).toMatchObject({ epoch: 1, round: 1, publisher: 'r1' });
    expect(r2.broadcasts).toContainEqual({ epoch: 1, round: 1, committed: true });
    const info = await jsm.streams.info('CRDT_OPS');
    expect(info.state.first_seq).toBe(4);
    expect(info.state.messages).toBe(2);
    await pollUntil(() => events.some((e) => e.phase === 'done'), 2_000);
    expect(events.map((e) => e.phase)).toEqual(['started', 'frozen', 'cut', 'committed', 'resumed', 'purged', 'done']);

    const rounds = await requestJson<{ ok: boolean; rounds: RoundResult[] }>(client, s.coordinator('rounds'), { limit: 5 });
    expect(rounds.rounds.map((r) => r.round)).toEqual([1]);
    // The standby learned the result from the events.
    const statusB = await pollUntil(async () => (runtimes[1].coordinator.status().lastRounds.length === 1), 2_000);
    expect(statusB).toBe(true);
    evSub.unsubscribe();
  }, 40_000);

  it('leadership - a leader whose connection dies without releasing is replaced after the lease, with a higher epoch', async () => {
    const r1 = new NatsStandInReplica(client, 'r1', 1);
    replicas.push(r1);
    r1.start();
    const a = await coordinator('a');
    expect(await pollUntil(() => a.runtime.coordinator.isLeader(), 5_000)).toBe(true);
    const b = await coordinator('b');
    await new Promise((r) => setTimeout(r, 500));
    expect(b.runtime.coordinator.isLeader()).toBe(false);

    const killedAt = Date.now();
    await a.runtime.nc.close(); // no release: the lease stays in the bucket until it lapses
    expect(await pollUntil(() => b.runtime.coordinator.isLeader(), 10_000)).toBe(true);
    const tookMs = Date.now() - killedAt;
    expect(tookMs).toBeGreaterThanOrEqual(LEASE_MS / 3); // not before the lease could lapse
    expect(tookMs).toBeLessThan(LEASE_MS * 3);
    expect(await leaseValue()).toMatchObject({ id: 'b', epoch: 2 });
    expect(b.log.lines.find((l) => l.msg === 'leader')?.fields).toEqual({ coordinator: 'b', epoch: 2 });
    // The old leader noticed it can no longer renew.
    expect(await pollUntil(() => !a.runtime.coordinator.isLeader(), 5_000)).toBe(true);
    // The new term resumes the members under epoch 2.
    expect(await pollUntil(() => r1.requests.some((q) => q.phase === 'resume' && q.body.epoch === 2), 5_000)).toBe(true);
    expect(r1.broadcasts).toContainEqual({ epoch: 2, round: 0, committed: false });
    const sync = await requestJson<{ ok: boolean; result: RoundResult }>(client, s.coordinator('sync'), {}, 30_000);
    expect(sync.result).toMatchObject({ epoch: 2, round: 1, coordinator: 'b', outcome: 'committed' });
  }, 40_000);

  it('leadership - a clean stop releases the lease and the standby takes over at its next look', async () => {
    const a = await coordinator('a');
    expect(await pollUntil(() => a.runtime.coordinator.isLeader(), 5_000)).toBe(true);
    const b = await coordinator('b');
    await new Promise((r) => setTimeout(r, 300));
    const stoppedAt = Date.now();
    await a.runtime.close();
    expect(await pollUntil(() => b.runtime.coordinator.isLeader(), 5_000)).toBe(true);
    expect(Date.now() - stoppedAt).toBeLessThan(LEASE_MS);
    expect(await leaseValue()).toMatchObject({ id: 'b', epoch: 2 });
  }, 30_000);

  it('admin - sync is answered by the leader only: no responders while nobody leads; a malformed body is BAD_REQUEST', async () => {
    const a = await coordinator('a');
    expect(await pollUntil(() => a.runtime.coordinator.isLeader(), 5_000)).toBe(true);
    const noMembers = await requestJson<{ ok: boolean; error: { code: string } }>(client, s.coordinator('sync'), {}, 10_000);
    expect(noMembers).toMatchObject({ ok: false, error: { code: 'NO_MEMBERS' } });
    await a.runtime.close();
    await expect(requestJson(client, s.coordinator('sync'), {}, 1_000)).rejects.toThrow(/no responders|503/i);
    const bad = await coordinator('b');
    expect(await pollUntil(() => bad.runtime.coordinator.isLeader(), 5_000)).toBe(true);
    const m = await client.request(s.coordinator('rounds'), 'not json', { timeout: 2_000 });
    expect(m.json()).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
  }, 30_000);
});
