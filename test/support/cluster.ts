import type { NatsConnection } from '@nats-io/transport-node';
import { ClusterHarness, type AppHandle, type HarnessReply, type NatsServerHandle } from '#testing';

/** A reply of the client protocol. */
export type Reply = HarnessReply;

/**
 * A real cluster for end-to-end tests, on the shared harness (libs/testing): one
 * nats-server with JetStream on a free port, replica processes (each with its own SQLite
 * file under a temp dir) that can be killed with real signals and restarted on the same
 * data, and a client connection.
 */
export class TestCluster {
  private constructor(
    readonly harness: ClusterHarness,
    /** How long a replica may take to become ready (longer on a loaded machine), ms. */
    private readonly readyMs?: number,
  ) {}

  /** Starts nats-server and the named replicas (in parallel), waiting until each is ready. */
  static async start(ids: readonly string[], env: Record<string, string> = {}, readyMs?: number): Promise<TestCluster> {
    const harness = await ClusterHarness.start({ name: 'e2e', replicaEnv: { STREAM_CHECK_MS: '300', ...env } });
    const cluster = new TestCluster(harness, readyMs);
    try {
      await Promise.all(ids.map((id) => cluster.startReplica(id)));
    } catch (e) {
      await harness.dispose('logs');
      throw e;
    }
    return cluster;
  }

  get replicas(): Map<string, AppHandle> {
    return this.harness.replicas;
  }

  /** The nats-server (tests kill and restart it). */
  get nats(): NatsServerHandle {
    return this.harness.nats.nodes[0];
  }

  get nc(): NatsConnection {
    return this.harness.nc;
  }

  /** Replica `id`'s data dir (the same across restarts). */
  dataDir(id: string): string {
    return this.harness.dataDir(id);
  }

  /** Starts (or restarts, on the same data dir) one replica and waits until it serves writes. */
  startReplica(id: string, extraEnv: Record<string, string> = {}): Promise<AppHandle> {
    return this.harness.startReplica(id, extraEnv, this.readyMs);
  }

  /** Sends a request to `crdt.api.<command>` (any replica) or to one replica. */
  request(command: string, body: unknown, replica?: string, timeoutMs = 10_000): Promise<Reply> {
    return this.harness.request(replica, command, body, timeoutMs);
  }

  /** Like `request`, but fails the test with the error when the reply is not ok. */
  async ok(command: string, body: unknown, replica?: string): Promise<Reply> {
    const r = await this.request(command, body, replica);
    if (!r.ok) throw new Error(`${command} ${JSON.stringify(body)} at ${replica ?? 'any'} failed: ${JSON.stringify(r.error)}`);
    return r;
  }

  /**
   * Like `ok`, retrying (bounded) while the replica answers a retryable refusal a replica
   * gives right after it started or joined: UNAVAILABLE (still catching up with the
   * stream) or CLOCK_SKEW (no peer has confirmed its clock yet; a restart counts as a
   * clock step until one does).
   */
  async okWhenReady(command: string, body: unknown, replica: string, timeoutMs = 15_000): Promise<Reply> {
    let r = await this.request(command, body, replica);
    for (const until = Date.now() + timeoutMs; !r.ok && (r.error?.code === 'UNAVAILABLE' || r.error?.code === 'CLOCK_SKEW') && Date.now() < until; ) {
      await sleep(200);
      r = await this.request(command, body, replica);
    }
    if (!r.ok) throw new Error(`${command} ${JSON.stringify(body)} at ${replica} failed: ${JSON.stringify(r.error)}`);
    return r;
  }

  /**
   * Waits until every named replica reports the same applied vector, nothing waiting in
   * its causal buffer and an empty outbox: the cluster has converged (a round may be running).
   */
  async converged(ids: readonly string[], timeoutMs = 30_000): Promise<Reply[]> {
    const c = await this.harness.convergence(ids, timeoutMs, { modes: ['Work', 'Sync', 'Ready'] });
    if (!c.ok) throw new Error(`replicas did not converge within ${timeoutMs} ms: ${JSON.stringify(c.statuses)}`);
    return c.statuses;
  }

  /** Stops everything; the logs stay (under the OS temp dir) for a failed run to be read, the data goes. */
  async stop(): Promise<void> {
    await this.harness.dispose('logs');
  }
}

/** Waits `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
