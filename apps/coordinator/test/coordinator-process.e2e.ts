import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { NatsConnection } from '@nats-io/transport-node';
import { subjectsFor } from '#protocol';
import { connectClient, requestJson, startApp, startNatsServer, type AppHandle, type NatsServerHandle } from '#testing';

/**
 * Real coordinator processes (`node dist/apps/coordinator/src/main.js`; build first):
 * JSON log lines, leadership hand-over when the leader is killed, and a clean exit on
 * SIGTERM that releases the lease.
 */

const LEASE_MS = 1_500;
const s = subjectsFor('crdt');

describe('coordinator process', () => {
  let server: NatsServerHandle;
  let client: NatsConnection;
  const apps: AppHandle[] = [];

  beforeAll(async () => {
    server = await startNatsServer();
    client = await connectClient(server.url);
  }, 30_000);

  afterEach(async () => {
    await Promise.all(apps.splice(0).map((a) => a.dispose()));
  }, 30_000);

  afterAll(async () => {
    await client?.close();
    await server?.dispose();
  }, 30_000);

  function coordinator(id: string, extra: Record<string, string> = {}): AppHandle {
    const app = startApp('coordinator', {
      NATS_URL: server.url,
      COORDINATOR_ID: id,
      LEASE_MS: String(LEASE_MS),
      ROUND_INTERVAL_MS: '0',
      COORDINATOR_BUCKET: `lease-${id}-${Date.now()}`,
      ...extra,
    });
    apps.push(app);
    return app;
  }

  it('process - logs ready and leader as JSON; the standby takes over with a higher epoch when the leader is killed', async () => {
    const bucket = `lease-${Date.now()}`;
    const a = coordinator('a', { COORDINATOR_BUCKET: bucket });
    const ready = await a.waitForLog((e) => e.msg === 'ready');
    expect(ready).toMatchObject({ level: 'info', coordinator: 'a', nats: server.url, bucket });
    expect(typeof ready.t).toBe('string');
    expect(await a.waitForLog((e) => e.msg === 'leader')).toMatchObject({ coordinator: 'a', epoch: 1 });
    const b = coordinator('b', { COORDINATOR_BUCKET: bucket });
    await b.waitForLog((e) => e.msg === 'ready');

    const status = await requestJson<{ leader: string; epoch: number }>(client, s.coordinator('status'), {});
    expect(status).toMatchObject({ leader: 'a', epoch: 1 });

    const killedAt = Date.now();
    a.kill('SIGKILL');
    const took = await b.waitForLog((e) => e.msg === 'leader', 10_000);
    expect(took).toMatchObject({ coordinator: 'b', epoch: 2 });
    expect(Date.now() - killedAt).toBeGreaterThanOrEqual(LEASE_MS / 3);
    const after = await requestJson<{ leader: string; isLeader: boolean; epoch: number }>(client, s.coordinator('status'), {});
    expect(after).toMatchObject({ leader: 'b', isLeader: true, epoch: 2 });
  }, 40_000);

  it('process - SIGTERM exits 0 and releases the lease, so the standby leads within a fraction of the lease', async () => {
    const bucket = `lease-term-${Date.now()}`;
    const a = coordinator('a', { COORDINATOR_BUCKET: bucket });
    await a.waitForLog((e) => e.msg === 'leader');
    const b = coordinator('b', { COORDINATOR_BUCKET: bucket });
    await b.waitForLog((e) => e.msg === 'ready');
    const stoppedAt = Date.now();
    const exit = await a.stop();
    expect(exit).toEqual({ code: 0, signal: null });
    expect(a.logs().some((l) => l.includes('"msg":"leader lease released"'))).toBe(true);
    await b.waitForLog((e) => e.msg === 'leader', 5_000);
    expect(Date.now() - stoppedAt).toBeLessThan(LEASE_MS + 1_000);
  }, 40_000);

  it('process - a malformed setting stops the start with a message naming it', async () => {
    const bad = coordinator('bad', { LEASE_MS: 'soon' });
    const exit = await bad.exited;
    expect(exit.code).toBe(1);
    expect(bad.logs().join('\n')).toMatch(/LEASE_MS must be an integer/);
  }, 20_000);

  it('process - round history survives a restart: it is kept in the KV bucket and read back by the next coordinator', async () => {
    const bucket = `lease-hist-${Date.now()}`;
    const a = coordinator('a', { COORDINATOR_BUCKET: bucket });
    await a.waitForLog((e) => e.msg === 'leader');
    await a.waitForLog((e) => e.msg === 'ready');
    // No replica runs, so the round is refused (NO_MEMBERS) and recorded all the same.
    const sync = await requestJson<{ ok: boolean; result: { epoch: number; round: number; code: string } }>(client, s.coordinator('sync'), {}, 10_000);
    expect(sync).toMatchObject({ ok: false, result: { code: 'NO_MEMBERS' } });
    expect(await a.stop()).toEqual({ code: 0, signal: null });

    const b = coordinator('b', { COORDINATOR_BUCKET: bucket });
    expect(await b.waitForLog((e) => e.msg === 'round history restored')).toMatchObject({ rounds: 1 });
    await b.waitForLog((e) => e.msg === 'ready');
    const rounds = await requestJson<{ ok: boolean; rounds: { coordinator: string; epoch: number; round: number; code: string }[] }>(client, s.coordinator('rounds'), {});
    expect(rounds.rounds).toEqual([expect.objectContaining({ coordinator: 'a', epoch: sync.result.epoch, round: sync.result.round, code: 'NO_MEMBERS' })]);
  }, 40_000);
});
