import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { NatsConnection } from '@nats-io/transport-node';
import { join } from 'node:path';
import { subjectsFor } from '#protocol';
import { connectClient, makeTempDir, pollUntil, requestJson, startApp, startNatsServer, type AppHandle, type NatsServerHandle, type TempDir } from '#testing';
import { get, getJson, httpUrlOf, metric } from './http-probe';

/**
 * Health and metrics over HTTP with real parts (build first): a real nats-server, a replica
 * and a coordinator process with HTTP_PORT=0, and curl-like GETs. Issue 9, item 3.
 */

const s = subjectsFor('crdt');
type Reply = { ok: boolean; error?: { code: string; message: string }; [k: string]: unknown };
type Health = { status: string; info: Record<string, unknown>; error: Record<string, { status: string; reason?: string }>; details: Record<string, { status: string; reason?: string }> };

/** Generous bounds: the machine is shared and loaded; nothing here asserts a time. */
const START_MS = 60_000;
const READY_MS = 60_000;

describe('health and metrics over HTTP', () => {
  let server: NatsServerHandle;
  let client: NatsConnection;
  let dir: TempDir;
  let replica: AppHandle;
  let coordinator: AppHandle;
  let replicaHttp: string;
  let coordinatorHttp: string;

  beforeAll(async () => {
    server = await startNatsServer();
    dir = makeTempDir('health-e2e');
  }, START_MS);

  afterAll(async () => {
    await replica?.dispose();
    await coordinator?.dispose();
    await client?.close().catch(() => undefined);
    await server?.dispose();
    dir?.remove();
  }, START_MS);

  const readyStatus = async (base: string) => (await get(`${base}/health/ready`)).status;

  it('health - /health/ready is 503 with the reason while the replica cannot start, /health/live 200', async () => {
    // A hung server (SIGSTOP): the replica's HTTP is up, but it cannot connect yet.
    server.pause();
    replica = startApp('replica', { NATS_URL: server.url, REPLICA_ID: 'r1', DATA_DIR: join(dir.path, 'r1'), HTTP_PORT: '0' }, { logDir: dir.path });
    replicaHttp = httpUrlOf(await replica.waitForLog((l) => l.msg === 'http listening', START_MS));
    const ready = await getJson<Health>(`${replicaHttp}/health/ready`);
    expect(ready.status).toBe(503);
    expect(ready.body.status).toBe('error');
    expect(ready.body.error.replica).toMatchObject({ status: 'down', reason: expect.stringContaining('starting') });
    expect((await get(`${replicaHttp}/health/live`)).status).toBe(200);
    server.resume();
    await replica.waitForLog((l) => l.msg === 'ready', START_MS);
    expect(await pollUntil(async () => (await readyStatus(replicaHttp)) === 200, READY_MS, 200)).toBe(true);
    const up = await getJson<Health>(`${replicaHttp}/health/ready`);
    expect(up.body).toMatchObject({ status: 'ok', error: {}, details: { replica: { status: 'up', mode: 'Work' }, nats: { status: 'up' }, stream: { status: 'up' } } });
  }, READY_MS * 2);

  it('health - the coordinator is ready once connected with its bucket reachable', async () => {
    coordinator = startApp('coordinator', { NATS_URL: server.url, COORDINATOR_ID: 'c1', ROUND_INTERVAL_MS: '0', HTTP_PORT: '0' }, { logDir: dir.path });
    coordinatorHttp = httpUrlOf(await coordinator.waitForLog((l) => l.msg === 'http listening', START_MS));
    await coordinator.waitForLog((l) => l.msg === 'new term: members resumed', START_MS);
    expect(await pollUntil(async () => (await readyStatus(coordinatorHttp)) === 200, READY_MS, 200)).toBe(true);
    const up = await getJson<Health>(`${coordinatorHttp}/health/ready`);
    expect(up.body).toMatchObject({ status: 'ok', details: { coordinator: { status: 'up', role: 'leader' }, nats: { status: 'up' }, bucket: { status: 'up' } } });
  }, READY_MS * 2);

  it('metrics - the named metrics are there and move after writes and a round', async () => {
    client = await connectClient(server.url);
    const m0 = await get(`${replicaHttp}/metrics`);
    expect(m0.status).toBe(200);
    expect(m0.contentType).toContain('text/plain');
    for (const name of ['crdt_requests_total', 'crdt_request_duration_seconds', 'crdt_events_applied_total', 'crdt_stream_lag_messages', 'crdt_causal_buffer_events', 'crdt_outbox_events', 'crdt_oplog_rows', 'crdt_group_commit_events', 'crdt_group_commit_seconds', 'crdt_replica_mode']) {
      expect(m0.text).toContain(`# TYPE ${name} `);
    }
    expect(metric(m0.text, 'crdt_replica_mode{mode="Work",replica="r1"}')).toBe(1);
    const applied0 = metric(m0.text, 'crdt_events_applied_total{replica="r1"}') ?? 0;
    const commits0 = metric(m0.text, 'crdt_group_commit_events_count{replica="r1"}') ?? 0;

    const WRITES = 12;
    for (let i = 0; i < WRITES; i++) {
      const r = await requestJson<Reply>(client, s.replica('r1', 'update'), { key: 'visits', type: 'pn-counter', op: { type: 'increment', by: 1 } }, 20_000);
      expect(r.ok).toBe(true);
    }
    const refused = await requestJson<Reply>(client, s.replica('r1', 'update'), { key: 'visits', op: { type: 'nonsense' } }, 20_000);
    expect(refused.ok).toBe(false);

    const m1 = (await get(`${replicaHttp}/metrics`)).text;
    expect(metric(m1, 'crdt_events_applied_total{replica="r1"}')).toBe(applied0 + WRITES);
    expect(metric(m1, 'crdt_requests_total{command="update",code="OK",replica="r1"}')).toBe(WRITES);
    expect(metric(m1, `crdt_requests_total{command="update",code="${refused.error!.code}",replica="r1"}`)).toBe(1);
    expect(metric(m1, 'crdt_request_duration_seconds_count{replica="r1",command="update"}')).toBe(WRITES + 1);
    expect(metric(m1, 'crdt_group_commit_events_count{replica="r1"}')).toBeGreaterThan(commits0);
    expect(metric(m1, 'crdt_oplog_rows{replica="r1"}')).toBe(WRITES);
    expect(metric(m1, 'crdt_stream_lag_messages{replica="r1"}')).toBeGreaterThanOrEqual(0);
    expect(metric(m1, 'crdt_causal_buffer_events{replica="r1"}')).toBe(0);

    const c0 = (await get(`${coordinatorHttp}/metrics`)).text;
    expect(metric(c0, 'crdt_coordinator_leader{coordinator="c1"}')).toBe(1);
    const committed0 = metric(c0, 'crdt_rounds_total{outcome="committed",code="none",trigger="manual",coordinator="c1"}') ?? 0;
    const sync = await requestJson<Reply>(client, s.coordinator('sync'), {}, 60_000);
    expect(sync).toMatchObject({ ok: true, result: { outcome: 'committed' } });
    const c1 = (await get(`${coordinatorHttp}/metrics`)).text;
    expect(metric(c1, 'crdt_rounds_total{outcome="committed",code="none",trigger="manual",coordinator="c1"}')).toBe(committed0 + 1);
    expect(metric(c1, 'crdt_round_writes_held_seconds_count{coordinator="c1",outcome="committed"}')).toBeGreaterThanOrEqual(1);
    expect(metric(c1, 'crdt_coordinator_members{coordinator="c1"}')).toBe(1);

    // The round's snapshot truncates the op log, and the replica answered the round's phases.
    expect(await pollUntil(async () => metric((await get(`${replicaHttp}/metrics`)).text, 'crdt_oplog_rows{replica="r1"}') === 0, READY_MS, 200)).toBe(true);
    const m2 = (await get(`${replicaHttp}/metrics`)).text;
    for (const phase of ['freeze', 'cut', 'commit']) expect(metric(m2, `crdt_requests_total{command="${phase}",code="OK",replica="r1"}`)).toBeGreaterThanOrEqual(1);
  }, READY_MS * 3);

  it('health - /health/ready turns 503 naming NATS when the server stops; /health/live stays 200', async () => {
    await server.stop();
    for (const base of [replicaHttp, coordinatorHttp]) {
      expect(await pollUntil(async () => (await readyStatus(base)) === 503, READY_MS, 200)).toBe(true);
      const down = await getJson<Health>(`${base}/health/ready`);
      expect(down.body.status).toBe('error');
      expect(down.body.error.nats).toMatchObject({ status: 'down' });
      expect((await get(`${base}/health/live`)).status).toBe(200);
    }
  }, READY_MS * 3);
});
