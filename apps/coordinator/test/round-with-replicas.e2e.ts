import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RoundResult } from '#coordination';
import { subjectsFor } from '#protocol';
import { connectClient, pollUntil, requestJson, startApp, startNatsServer, type AppHandle, type NatsServerHandle } from '#testing';

/**
 * A smoke test of the whole round with real processes (build first): three replica
 * processes, one coordinator, writes, `sync`, and the figures the product reports.
 */

const s = subjectsFor('crdt');
const IDS = ['r1', 'r2', 'r3'];
type Reply = { ok: boolean; error?: { code: string; message: string }; [k: string]: unknown };

describe('coordinator with real replicas', () => {
  let server: NatsServerHandle;
  let client: NatsConnection;
  let dir: string;
  const apps: AppHandle[] = [];
  let coordinator: AppHandle;

  beforeAll(async () => {
    server = await startNatsServer();
    client = await connectClient(server.url);
    dir = mkdtempSync(join(tmpdir(), 'crdt-coord-e2e-'));
    for (const id of IDS) {
      apps.push(startApp('replica', { NATS_URL: server.url, REPLICA_ID: id, DATA_DIR: join(dir, id), STREAM_CHECK_MS: '300' }, { logDir: dir }));
    }
    await Promise.all(apps.map((a) => a.waitForLog((l) => l.msg === 'ready', 20_000)));
    for (const id of IDS) {
      const inWork = await pollUntil(async () => (await requestJson<Reply>(client, s.replica(id, 'status'), {}, 2_000).catch(() => undefined))?.mode === 'Work', 20_000, 50);
      if (!inWork) throw new Error(`replica ${id} did not reach Work`);
    }
    coordinator = startApp('coordinator', { NATS_URL: server.url, COORDINATOR_ID: 'c1', ROUND_INTERVAL_MS: '0', LEASE_MS: '1500' }, { logDir: dir });
    apps.push(coordinator);
    await coordinator.waitForLog((l) => l.msg === 'new term: members resumed', 20_000);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(apps.map((a) => a.dispose()));
    await client?.close();
    await server?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  async function write(n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      const r = await requestJson<Reply>(client, s.replica(IDS[i % 3], 'update'), { key: 'visits', type: 'pn-counter', op: { type: 'increment', by: 1 } });
      if (!r.ok) throw new Error(JSON.stringify(r));
    }
  }

  it('round - commits across three replica processes, reports the freeze time, purges the stream, and writes go on', async () => {
    await write(30);
    const reply = await requestJson<{ ok: boolean; result: RoundResult; error?: unknown }>(client, s.coordinator('sync'), {}, 30_000);
    expect(reply.error).toBeUndefined();
    expect(reply.result).toMatchObject({ outcome: 'committed', members: IDS, publisher: 'r1' });
    const t = reply.result.timings;
    expect(t.writesHeldMs).toBeGreaterThan(0);
    expect(t.writesHeldMs).toBeLessThan(5_000);
    // Every replica committed the round and holds the same value.
    for (const id of IDS) {
      const st = await requestJson<Reply>(client, s.replica(id, 'status'), {});
      expect(st.lastRound).toEqual({ epoch: reply.result.epoch, round: reply.result.round });
      expect(st.mode).toBe('Work');
      expect((await requestJson<Reply>(client, s.replica(id, 'get'), { key: 'visits' })).value).toBe(30);
    }
    const jsm = await jetstreamManager(client);
    const info = await jsm.streams.info('CRDT_OPS');
    expect(info.state.first_seq).toBe(reply.result.keepFromSeq);

    await write(3);
    const again = await requestJson<{ ok: boolean; result: RoundResult }>(client, s.coordinator('sync'), {}, 30_000);
    expect(again.result).toMatchObject({ outcome: 'committed', round: reply.result.round + 1 });
    const status = await requestJson<{ freeze: { committedRounds: number; lastWritesHeldMs: number } }>(client, s.coordinator('status'), {});
    expect(status.freeze.committedRounds).toBe(2);
    expect(status.freeze.lastWritesHeldMs).toBe(again.result.timings.writesHeldMs);
    process.stdout.write(`round timings: ${JSON.stringify(reply.result.timings)} then ${JSON.stringify(again.result.timings)}\n`);
  }, 60_000);
});
