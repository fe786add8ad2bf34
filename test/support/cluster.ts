import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectClient, requestJson, startApp, startNatsServer, type AppHandle, type NatsServerHandle } from '#testing';

/** A reply of the client protocol. */
export type Reply = { ok: boolean; error?: { code: string; message: string }; [k: string]: unknown };

/**
 * A real cluster for end-to-end tests: one nats-server with JetStream on a free port,
 * replica processes (each with its own SQLite file under a temp dir) that can be killed
 * with real signals and restarted on the same data, and a client connection.
 */
export class TestCluster {
  readonly replicas = new Map<string, AppHandle>();
  readonly dir = mkdtempSync(join(tmpdir(), 'crdt-e2e-'));
  private constructor(
    readonly nats: NatsServerHandle,
    readonly nc: NatsConnection,
    readonly env: Record<string, string>,
    /** How long a replica may take to become ready (longer on a loaded machine), ms. */
    private readonly readyMs = 20_000,
  ) {
    mkdirSync(join(this.dir, 'logs'), { recursive: true });
  }

  /** Starts nats-server and the named replicas (in parallel), waiting until each is ready. */
  static async start(ids: readonly string[], env: Record<string, string> = {}, readyMs?: number): Promise<TestCluster> {
    const nats = await startNatsServer();
    const nc = await connectClient(nats.url);
    const cluster = new TestCluster(nats, nc, { STREAM_CHECK_MS: '300', ...env }, readyMs);
    await Promise.all(ids.map((id) => cluster.startReplica(id)));
    return cluster;
  }

  /** Starts (or restarts, on the same data dir) one replica and waits for its ready line. */
  async startReplica(id: string, extraEnv: Record<string, string> = {}): Promise<AppHandle> {
    const app = startApp('replica', {
      NATS_URL: this.nats.url,
      REPLICA_ID: id,
      DATA_DIR: join(this.dir, id),
      ...this.env,
      ...extraEnv,
    }, { logDir: join(this.dir, 'logs'), name: `${id}-${Date.now()}` });
    this.replicas.set(id, app);
    await app.waitForLog((l) => l.msg === 'ready', this.readyMs);
    // Ready means listening; a replica joining with an empty disk serves writes once it has caught up.
    const deadline = Date.now() + this.readyMs;
    while (Date.now() < deadline) {
      const s = await this.request('status', {}, id, 2_000).catch(() => undefined);
      if (s?.ok && s.mode === 'Work') return app;
      await sleep(50);
    }
    throw new Error(`replica ${id} did not reach Work mode: ${app.logs().slice(-5).join('\n')}`);
  }

  /** Sends a request to `crdt.api.<command>` (any replica) or to one replica. */
  request(command: string, body: unknown, replica?: string, timeoutMs = 10_000): Promise<Reply> {
    const subject = replica ? `crdt.replica.${replica}.${command}` : `crdt.api.${command}`;
    return requestJson<Reply>(this.nc, subject, body, timeoutMs);
  }

  /** Like `request`, but fails the test with the error when the reply is not ok. */
  async ok(command: string, body: unknown, replica?: string): Promise<Reply> {
    const r = await this.request(command, body, replica);
    if (!r.ok) throw new Error(`${command} ${JSON.stringify(body)} at ${replica ?? 'any'} failed: ${JSON.stringify(r.error)}`);
    return r;
  }

  /**
   * Waits until every named replica reports the same applied vector, nothing waiting in
   * its causal buffer and an empty outbox: the cluster has converged.
   */
  async converged(ids: readonly string[], timeoutMs = 30_000): Promise<Reply[]> {
    const deadline = Date.now() + timeoutMs;
    let last: Reply[] = [];
    while (Date.now() < deadline) {
      last = await Promise.all(ids.map((id) => this.request('status', {}, id, 2_000).catch((e) => ({ ok: false, error: { code: 'X', message: String(e) } }) as Reply)));
      const ready = last.every((s) => s.ok && s.waiting === 0 && s.outboxDepth === 0 && s.mode !== 'Starting');
      const vvs = last.map((s) => JSON.stringify(sortKeys(s.applied)));
      if (ready && vvs.every((v) => v === vvs[0])) return last;
      await sleep(100);
    }
    throw new Error(`replicas did not converge within ${timeoutMs} ms: ${JSON.stringify(last)}`);
  }

  /** Stops everything and removes the temp dirs. */
  async stop(): Promise<void> {
    await this.nc.close().catch(() => undefined);
    await Promise.all([...this.replicas.values()].map((r) => r.stop(5_000).catch(() => undefined)));
    await this.nats.dispose();
    // Logs stay (under the OS temp dir) for a failed run to be read; the data goes.
    for (const id of this.replicas.keys()) rmSync(join(this.dir, id), { recursive: true, force: true });
  }
}

function sortKeys(v: unknown): unknown {
  if (!v || typeof v !== 'object') return v;
  return Object.fromEntries(Object.entries(v as Record<string, unknown>).filter(([, n]) => n !== 0).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** Waits `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
