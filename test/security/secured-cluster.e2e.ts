import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection, Status } from '@nats-io/transport-node';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { subjectsFor } from '#protocol';
import { encodeEventBatch, type ReplicatedEvent } from '#replication';
import { natsAuthFromEnv, writeSecureNatsFiles, type AppCredential, type SecureNatsFiles } from '#runtime';
import { connectClient, pollUntil, requestJson, startApp, startNatsServer, type AppHandle, type NatsServerHandle } from '#testing';

/**
 * A cluster behind the generated NATS config (build first): two replicas and a coordinator,
 * each with its own credential. Each role can do its work; a client credential is refused
 * on every forbidden subject class and the store does not change; a replica cannot publish
 * on another's op subject, and a batch it publishes on its own subject claiming another
 * origin is dropped by every replica (issue 9).
 */

const s = subjectsFor('crdt');
const IDS = ['r1', 'r2'];
type Reply = { ok: boolean; error?: { code: string; message: string }; [k: string]: unknown };

describe('secured cluster', () => {
  let server: NatsServerHandle;
  let files: SecureNatsFiles;
  let dir: string;
  const apps: AppHandle[] = [];
  const conns: NatsConnection[] = [];
  let client: NatsConnection;
  let admin: NatsConnection;
  /** Every status error the client connection got, in order. */
  const clientErrors: string[] = [];

  async function connectAs(c: AppCredential, errors?: string[]): Promise<NatsConnection> {
    const nc = await connectClient(server.url, natsAuthFromEnv(files.envFor(c)));
    conns.push(nc);
    if (errors) {
      void (async () => {
        for await (const st of nc.status() as AsyncIterable<Status>) if (st.type === 'error') errors.push(String((st as { error?: Error }).error?.message ?? st));
      })();
    }
    return nc;
  }

  /** The server's permission violation lines for `user`. */
  function violations(user: string): string[] {
    return readFileSync(server.logFile, 'utf8').split('\n').filter((l) => l.includes('Violation') && l.includes(`User "${user}"`));
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'crdt-secured-'));
    files = writeSecureNatsFiles({ dir: join(dir, 'security'), replicaIds: IDS });
    server = await startNatsServer({ configFile: files.configFile });
    for (const id of IDS) {
      apps.push(startApp('replica', { NATS_URL: server.url, REPLICA_ID: id, DATA_DIR: join(dir, id), STREAM_CHECK_MS: '300', ...files.envFor(files.plan.credentials.replicas[id]) }, { logDir: dir }));
    }
    await Promise.all(apps.map((a) => a.waitForLog((l) => l.msg === 'ready', 20_000)));
    client = await connectAs(files.plan.credentials.client, clientErrors);
    admin = await connectAs(files.plan.credentials.admin);
    for (const id of IDS) {
      const inWork = await pollUntil(async () => (await requestJson<Reply>(client, s.replica(id, 'status'), {}, 2_000).catch(() => undefined))?.mode === 'Work', 20_000, 50);
      if (!inWork) throw new Error(`replica ${id} did not reach Work`);
    }
    const coordinator = startApp('coordinator', { NATS_URL: server.url, COORDINATOR_ID: 'c1', ROUND_INTERVAL_MS: '0', LEASE_MS: '1500', ...files.envFor(files.plan.credentials.coordinator) }, { logDir: dir });
    apps.push(coordinator);
    await coordinator.waitForLog((l) => l.msg === 'new term: members resumed', 20_000);
  }, 90_000);

  afterAll(async () => {
    await Promise.all(conns.map((c) => c.close().catch(() => undefined)));
    await Promise.all(apps.map((a) => a.dispose()));
    await server?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  async function update(id: string, by: number): Promise<Reply> {
    const r = await requestJson<Reply>(client, s.replica(id, 'update'), { key: 'visits', type: 'pn-counter', op: { type: 'increment', by } });
    if (!r.ok) throw new Error(JSON.stringify(r));
    return r;
  }

  /** What a forbidden action must not change: each replica's status and value, the coordinator's leadership and rounds, the stream. */
  async function storeState(): Promise<unknown> {
    const replicas = [];
    for (const id of IDS) {
      const st = await requestJson<Reply>(client, s.replica(id, 'status'), {});
      const v = await requestJson<Reply>(client, s.replica(id, 'get'), { key: 'visits' });
      replicas.push({ id, mode: st.mode, applied: st.applied, streamSeq: st.streamSeq, keys: st.keys, lastRound: st.lastRound, value: v.value });
    }
    const c = await requestJson<Reply>(admin, s.coordinator('status'), {});
    // The stream as the coordinator sees it (its credential may read the op stream's info).
    coordinatorConn ??= await connectAs(files.plan.credentials.coordinator);
    const info = await (await jetstreamManager(coordinatorConn)).streams.info('CRDT_OPS');
    return { replicas, leader: c.leader, epoch: c.epoch, freeze: c.freeze, stream: { first: info.state.first_seq, last: info.state.last_seq, messages: info.state.messages } };
  }
  let coordinatorConn: NatsConnection | undefined;

  it('roles - with their own credentials, a write replicates, a round commits and no role hits a permission it lacks', async () => {
    const w = await update('r1', 5);
    const read = await requestJson<Reply>(client, s.replica('r2', 'get'), { key: 'visits', after: w.token, consistency: 'local' });
    expect(read.value).toBe(5);
    const sync = await requestJson<{ ok: boolean; result: { outcome: string; members: string[] } }>(admin, s.coordinator('sync'), {}, 30_000);
    expect(sync.result).toMatchObject({ outcome: 'committed', members: IDS });
    await update('r2', 1);
    expect(violations('coordinator')).toEqual([]);
    for (const id of IDS) expect(violations(`replica-${id}`)).toEqual([]);
    expect(violations('admin')).toEqual([]);
    expect(violations('client')).toEqual([]);
  }, 60_000);

  it('client - refused on every forbidden subject class, and the store does not change', async () => {
    const before = await storeState();
    const r1 = (await requestJson<Reply>(client, s.replica('r1', 'status'), {})).applied as Record<string, number>;
    const forged = JSON.stringify({ v: 1, events: [] });
    /** A publish is refused asynchronously: wait for the server's error on this connection. */
    const refusedPublish = async (subject: string, body = '{}') => {
      const seen = clientErrors.length;
      client.publish(subject, body);
      await client.flush();
      expect(await pollUntil(() => clientErrors.slice(seen).some((e) => e.includes(`Publish to "${subject}"`)), 5_000)).toBe(true);
      return clientErrors.slice(seen).find((e) => e.includes(subject))!;
    };
    const refusedRequest = async (subject: string) => {
      const err = await client.request(subject, '{}', { timeout: 2_000 }).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(err?.message).toMatch(/Permissions Violation for Publish/);
      return err!.message;
    };
    const refusedSubscribe = async (subject: string) => {
      const sub = client.subscribe(subject);
      const err = await (async () => {
        try {
          for await (const _ of sub) void _;
        } catch (e) {
          return e as Error;
        }
      })();
      expect(err?.message).toMatch(/Permissions Violation for Subscription/);
      return err!.message;
    };
    const seen: Record<string, string> = {};
    // Publishing ops: a batch claiming r1's next event (raw and through JetStream).
    seen['ops'] = await refusedPublish(s.ops('r1'), forged.replace('[]', `[{"origin":"r1","seq":${(r1.r1 ?? 0) + 1}}]`));
    seen['ops (JetStream publish)'] = await jetstream(client, { timeout: 2_000 }).publish(s.ops('r2'), forged).then(() => 'accepted!', (e: Error) => e.message);
    // JetStream API: purge and delete the op stream, account info.
    seen['$JS.API purge'] = await refusedRequest('$JS.API.STREAM.PURGE.CRDT_OPS');
    seen['$JS.API delete'] = await refusedRequest('$JS.API.STREAM.DELETE.CRDT_OPS');
    seen['$JS.API info'] = await refusedRequest('$JS.API.INFO');
    // KV (the leader lease) and the snapshot object store.
    seen['KV'] = await refusedPublish('$KV.crdt-coordinator.leader', JSON.stringify({ id: 'evil', epoch: 99, expiresAtMs: Date.now() + 60_000 }));
    seen['KV direct get'] = await refusedRequest('$JS.API.DIRECT.GET.KV_crdt-coordinator.$KV.crdt-coordinator.leader');
    seen['object store'] = await refusedPublish('$O.CRDT_OPS_SNAPSHOTS.M.bGF0ZXN0');
    // Round messages: freeze a replica, broadcast a resume.
    seen['round freeze'] = await refusedRequest(s.replica('r1', 'freeze'));
    seen['round commit'] = await refusedRequest(s.replica('r2', 'commit'));
    seen['round resume'] = await refusedPublish(s.round('resume'));
    seen['resend hint'] = await refusedPublish(s.replica('r1', 'resend'), JSON.stringify({ fromSeq: 1 }));
    // Admin subjects of the coordinator.
    seen['admin sync'] = await refusedRequest(s.coordinator('sync'));
    seen['admin status'] = await refusedRequest(s.coordinator('status'));
    // Heartbeats (forging membership).
    seen['heartbeat'] = await refusedPublish(s.heartbeat);
    // Subscribing to ops, to heartbeats and to another user's inbox.
    seen['subscribe ops'] = await refusedSubscribe(s.opsFilter);
    seen['subscribe heartbeat'] = await refusedSubscribe(s.heartbeat);
    seen['subscribe admin inbox'] = await refusedSubscribe('_INBOX.admin.>');
    process.stdout.write(`client refusals:\n${Object.entries(seen).map(([k, v]) => `  ${k}: ${v}`).join('\n')}\n`);
    expect(seen['ops (JetStream publish)']).not.toBe('accepted!');
    // Every refusal is in the server's log too.
    const logged = violations('client');
    for (const subject of [s.ops('r1'), '$JS.API.STREAM.PURGE.CRDT_OPS', '$KV.crdt-coordinator.leader', s.replica('r1', 'freeze'), s.coordinator('sync'), s.opsFilter]) {
      expect(logged.some((l) => l.includes(`Subject "${subject}"`))).toBe(true);
    }
    // The connection survived every refusal and the client commands still work.
    expect((await requestJson<Reply>(client, s.api('get'), { key: 'visits' })).ok).toBe(true);
    expect(await storeState()).toEqual(before);
  }, 60_000);

  it('replica - cannot publish on another replica op subject, and a batch on its own subject claiming another origin is dropped', async () => {
    const r2Errors: string[] = [];
    const r2 = await connectAs(files.plan.credentials.replicas.r2, r2Errors);
    // Take r1's latest real event from the stream (a replica may read it) as the model of the forgery.
    const w = await update('r1', 1);
    const consumer = await jetstream(r2).consumers.get('CRDT_OPS', { deliver_policy: DeliverPolicy.LastPerSubject, filter_subjects: s.ops('r1') });
    const last = await consumer.next({ expires: 5_000 });
    const real = (JSON.parse(last!.string()) as { events: ReplicatedEvent[] }).events.at(-1)!;
    expect(real.seq).toBe(w.seq);
    const forgedEvent: ReplicatedEvent = { ...real, seq: real.seq + 1, ops: [{ type: 'increment', by: 1000 }] };
    const before = await storeState();

    // On r1's subject: refused by the server.
    const js = jetstream(r2, { timeout: 2_000 });
    const onOther = await js.publish(s.ops('r1'), encodeEventBatch([forgedEvent])).then(() => 'accepted!', (e: Error) => e.message);
    expect(onOther).not.toBe('accepted!');
    expect(await pollUntil(() => r2Errors.some((e) => e.includes(`Publish to "${s.ops('r1')}"`)), 5_000)).toBe(true);
    expect(violations('replica-r2').some((l) => l.includes(`Subject "${s.ops('r1')}"`))).toBe(true);

    // On its own subject: stored, then dropped by every replica with ORIGIN_MISMATCH.
    const since = apps.map((a) => a.lineCount());
    const ack = await js.publish(s.ops('r2'), encodeEventBatch([forgedEvent]));
    for (const [i, id] of IDS.entries()) {
      const line = await apps[i].waitForLog((l) => l.code === 'ORIGIN_MISMATCH' && l.seq === ack.seq, 10_000, since[i]);
      expect(line).toMatchObject({ level: 'error', subject: s.ops('r2'), claimed: ['r1'] });
      // The replica moved past it: its stream position covers the forged message.
      expect(await pollUntil(async () => ((await requestJson<Reply>(client, s.replica(id, 'status'), {})).streamSeq as number) >= ack.seq, 5_000)).toBe(true);
    }
    const after = (await storeState()) as { replicas: { value: number; applied: unknown }[] };
    const was = before as { replicas: { value: number; applied: unknown }[] };
    expect(after.replicas.map((r) => [r.value, r.applied])).toEqual(was.replicas.map((r) => [r.value, r.applied]));

    // r1's real event with the seq the forgery claimed is applied everywhere, not dropped as a duplicate.
    const next = await update('r1', 2);
    expect(next.seq).toBe(forgedEvent.seq);
    for (const id of IDS) {
      const v = await requestJson<Reply>(client, s.replica(id, 'get'), { key: 'visits', after: next.token, consistency: 'local' });
      expect(v.value).toBe(was.replicas[0].value + 2);
    }
  }, 60_000);
});
