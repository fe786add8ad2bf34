import { readFileSync, existsSync } from 'node:fs';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { ClusterHarness, connectClient, requestJson, type AppHandle, type NatsClusterHandle, type NetworkLab, type TempDir } from '#testing';

/**
 * The real topology of the fault suite: a three-node NATS cluster with JetStream, the op
 * stream, lease bucket and snapshot store replicated three times, three replica
 * processes each on its own SQLite file, and two coordinators (one leads, one stands
 * by). Every process can be crashed, stopped and restarted; every handle ever started is
 * kept so that the logs of dead processes can be read at the end.
 *
 * With a network lab (root only), the processes live on three hosts, each a network
 * namespace: host hN runs NATS node nN, replica rN and coordinator cN (if any), so a
 * partition between hosts cuts real TCP connections between real processes. The test
 * process stays outside and reaches every host; its writers to rN go through nN first
 * (clients beside their replica), so a replica cut off from the others keeps taking
 * writes from its side of the partition.
 */

/** A reply of the client or admin protocol. */
export type Reply = { ok: boolean; error?: { code: string; message: string }; [k: string]: unknown };

/** Bounds of the topology's waits (units last). */
export interface ClusterLimits {
  readonly replicaReadyMs: number;
  readonly coordinatorReadyMs: number;
  /** A standby must lead within this after the leader dies (a few leases). */
  readonly takeoverMs: number;
  /** Every JetStream asset has a leader and current followers again after a node restart. */
  readonly jetstreamHealthyMs: number;
  readonly statusTimeoutMs: number;
  /** Bound of a `sync` request: a round is at most freeze 4 s + cut 6 s + commit 10 s + resume 2 s. */
  readonly syncTimeoutMs: number;
}

/** Defaults. */
export const DEFAULT_CLUSTER_LIMITS: ClusterLimits = {
  replicaReadyMs: 45_000,
  coordinatorReadyMs: 30_000,
  takeoverMs: 15_000,
  jetstreamHealthyMs: 30_000,
  statusTimeoutMs: 2_000,
  syncTimeoutMs: 40_000,
};

/** The lease a coordinator holds; short so that a take-over fits a short run. */
export const LEASE_MS = 1_500;

/** The health of one JetStream asset after a node restart. */
export interface StreamHealth {
  readonly name: string;
  readonly leader: string | undefined;
  readonly lagging: string[];
}

export class FaultCluster {
  /** Replicas currently stopped with SIGSTOP. */
  readonly paused = new Set<string>();
  /** Processes the suite crashed on purpose (any other exit is a finding). */
  readonly crashed = new Set<AppHandle>();
  /** Per replica: a client connection that prefers the replica's own host's node (lab mode). */
  private readonly local = new Map<string, NatsConnection>();

  private constructor(
    /** The shared cluster harness (libs/testing) this suite's topology is built on. */
    readonly harness: ClusterHarness,
    readonly replicaIds: readonly string[],
    readonly coordinatorIds: readonly string[],
    readonly limits: ClusterLimits,
    readonly lab: NetworkLab | undefined,
  ) {}

  get dir(): TempDir {
    return this.harness.dir;
  }

  get nats(): NatsClusterHandle {
    return this.harness.nats;
  }

  get nc(): NatsConnection {
    return this.harness.nc;
  }

  get replicas(): Map<string, AppHandle> {
    return this.harness.replicas;
  }

  get coordinators(): Map<string, AppHandle> {
    return this.harness.coordinators;
  }

  /** Every process ever started, in start order (dead ones too), for the logs. */
  get history(): AppHandle[] {
    return this.harness.history;
  }

  /** Starts NATS, waits for JetStream's meta leader, then the replicas, then the coordinators (the first one leads). */
  static async start(replicaIds: readonly string[], coordinatorIds: readonly string[], limits: ClusterLimits = DEFAULT_CLUSTER_LIMITS, lab?: NetworkLab): Promise<FaultCluster> {
    // On a lab network a silently dropped link is only noticed by missed pings: ping often.
    const quickPings = lab ? { pingInterval: 1_000, maxPingOut: 3 } : {};
    const harness = await ClusterHarness.start({
      name: 'faults',
      natsNodes: 3,
      lab,
      client: quickPings,
      replicaEnv: { CRDT_STREAM_REPLICAS: '3' },
      coordinatorEnv: { CRDT_STREAM_REPLICAS: '3', ROUND_INTERVAL_MS: '0', LEASE_MS: String(LEASE_MS), COORDINATOR_BUCKET_REPLICAS: '3' },
      // FAULTS_DIST: a directory laid out like dist, to run the suite against a candidate build.
      ...(process.env.FAULTS_DIST ? { dist: process.env.FAULTS_DIST } : {}),
    });
    const cluster = new FaultCluster(harness, replicaIds, coordinatorIds, limits, lab);
    try {
      if (lab) {
        const urls = harness.nats.urls;
        for (const [i, id] of replicaIds.entries()) {
          const own = urls[i % urls.length];
          cluster.local.set(id, await connectClient([own, ...urls.filter((u) => u !== own)].join(','), { noRandomize: true, ...quickPings }));
        }
      }
      await Promise.all(replicaIds.map((id) => cluster.startReplica(id)));
      const [lead, ...standbys] = coordinatorIds;
      const first = await cluster.startCoordinator(lead);
      await first.waitForLog((e) => e.msg === 'new term: members resumed', limits.coordinatorReadyMs);
      for (const id of standbys) await cluster.startCoordinator(id);
      return cluster;
    } catch (e) {
      await cluster.dispose(false);
      throw e;
    }
  }

  /** Where the app logs are. */
  get logDir(): string {
    return this.harness.logDir;
  }

  /** The lab host a replica or coordinator runs on (the Nth of its kind on host hN). */
  hostOf(id: string): string {
    const i = this.replicaIds.indexOf(id);
    return hostName(i >= 0 ? i : this.coordinatorIds.indexOf(id));
  }

  /**
   * Control requests (status, rounds, JetStream health) normally go through `nc`; while a
   * host is cut off they go through the connection beside a replica on the other side,
   * so the test keeps seeing the majority (its own connection may sit on the cut node).
   */
  private steer: string | undefined;

  private get ctl(): NatsConnection {
    return (this.steer !== undefined ? this.local.get(this.steer) : undefined) ?? this.nc;
  }

  /** Sends control requests through the connection beside replica `id` (undefined: back to the shared one). */
  steerControlTo(id: string | undefined): void {
    this.steer = id;
  }

  /** The connection a client beside replica `id` uses (its host's node first, in lab mode). */
  clientFor(id: string): NatsConnection {
    return this.local.get(id) ?? this.nc;
  }

  /** Starts (or restarts on its disk) a replica and waits until it serves in Work mode. */
  async startReplica(id: string, readyMs = this.limits.replicaReadyMs): Promise<AppHandle> {
    const app = this.harness.spawnReplica(id);
    this.paused.delete(id);
    await this.untilWork(id, app, readyMs);
    return app;
  }

  /** Waits until a started replica logs ready and reports Work mode. */
  async untilWork(id: string, app: AppHandle, readyMs = this.limits.replicaReadyMs): Promise<void> {
    const deadline = Date.now() + readyMs;
    await app.waitForLog((l) => l.msg === 'ready', readyMs);
    let last: Reply | undefined;
    while (Date.now() < deadline) {
      last = await this.status(id).catch(() => undefined);
      if (last?.ok && last.mode === 'Work') return;
      await sleep(100);
    }
    throw new Error(`replica ${id} did not reach Work mode within ${readyMs} ms (last status ${JSON.stringify(last)}):\n${app.logs().slice(-10).join('\n')}`);
  }

  /** Starts (or restarts) a coordinator and waits for its ready line. */
  async startCoordinator(id: string): Promise<AppHandle> {
    return this.harness.startCoordinator(id, {}, this.limits.coordinatorReadyMs);
  }

  /** SIGKILLs a process on purpose and waits for it to be gone. */
  async crash(app: AppHandle): Promise<void> {
    this.crashed.add(app);
    app.kill('SIGKILL');
    await app.exited;
  }

  /**
   * Processes that exited although the suite did not crash or stop them, grouped by
   * process kind and the error they printed (a replica that cannot start on its disk
   * fails the same way on every attempt).
   */
  unexpectedExits(): string[] {
    const groups = new Map<string, string[]>();
    for (const a of this.history) {
      if (a.running || this.crashed.has(a)) continue;
      const lines = a.logs();
      const error = lines.find((l) => /Error:/.test(l)) ?? lines[lines.length - 1] ?? '(no output)';
      // Strip colour codes and the timestamp prefix Nest puts on its lines.
      const why = error.replace(/\u001b\[[0-9;]*m/g, '').replace(/^.*?(\w*Error:)/, '$1').slice(0, 300);
      const key = `${a.name.replace(/-\d+$/, '')}: ${why}`;
      groups.set(key, [...(groups.get(key) ?? []), a.name]);
    }
    return [...groups.entries()].map(([key, names]) => `${key} (exited on its own: ${names.join(', ')})`);
  }

  /** A replica's status. */
  status(id: string): Promise<Reply> {
    return requestJson<Reply>(this.ctl, `crdt.replica.${id}.status`, {}, this.limits.statusTimeoutMs);
  }

  /** Reads a key at one replica. */
  get(id: string, key: string): Promise<Reply> {
    return requestJson<Reply>(this.ctl, `crdt.replica.${id}.get`, { key }, 10_000);
  }

  /** Asks the leading coordinator for a round now; rejects when nobody answers. */
  sync(): Promise<Reply> {
    return requestJson<Reply>(this.ctl, 'crdt.coordinator.sync', {}, this.limits.syncTimeoutMs);
  }

  /** The leading coordinator's id as any coordinator reports it, polled within `timeoutMs`. */
  async leader(timeoutMs = 10_000): Promise<string | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const s = await requestJson<Reply>(this.ctl, 'crdt.coordinator.status', {}, 2_000).catch(() => undefined);
      if (s?.ok && typeof s.leader === 'string' && this.coordinators.get(s.leader)?.running) return s.leader;
      await sleep(100);
    }
    return undefined;
  }

  /** The replicas the leader currently counts as members. */
  async members(): Promise<string[] | undefined> {
    const s = await requestJson<Reply>(this.ctl, 'crdt.coordinator.status', {}, 2_000).catch(() => undefined);
    if (!s?.ok || s.isLeader !== true || !Array.isArray(s.members)) return undefined;
    return (s.members as { replica: string }[]).map((m) => m.replica);
  }

  /**
   * Waits until every JetStream asset (the op stream, the lease bucket, the snapshot
   * store) has a leader and every follower is current: a node that came back has caught
   * up, so the next node fault keeps a quorum that holds everything. Returns the assets
   * that are still unhealthy when the wait runs out.
   */
  async waitJetStreamHealthy(timeoutMs = this.limits.jetstreamHealthyMs): Promise<StreamHealth[]> {
    const deadline = Date.now() + timeoutMs;
    let unhealthy: StreamHealth[] = [];
    while (Date.now() < deadline) {
      try {
        const jsm = await jetstreamManager(this.ctl, { timeout: 2_000 });
        unhealthy = [];
        for await (const info of jsm.streams.list()) {
          const c = info.cluster;
          const lagging = (c?.replicas ?? []).filter((p) => !p.current || p.offline).map((p) => `${p.name}${p.offline ? ' (offline)' : ''} lag ${p.lag ?? '?'}`);
          const peers = (c?.replicas?.length ?? 0) + (c?.leader ? 1 : 0);
          if (!c?.leader || lagging.length > 0 || peers < info.config.num_replicas) unhealthy.push({ name: info.config.name, leader: c?.leader, lagging });
        }
        if (unhealthy.length === 0) return [];
      } catch (e) {
        unhealthy = [{ name: `(JetStream API: ${String((e as Error)?.message ?? e)})`, leader: undefined, lagging: [] }];
      }
      await sleep(250);
    }
    return unhealthy;
  }

  /** The op stream's last sequence. */
  async streamLastSeq(): Promise<number> {
    const jsm = await jetstreamManager(this.ctl, { timeout: 2_000 });
    return (await jsm.streams.info('CRDT_OPS')).state.last_seq;
  }

  /**
   * Brings back everything a fault left down: NATS nodes, stopped or dead replicas,
   * coordinators. Never throws: what could not be brought back is listed in `failed`
   * (a replica that cannot start on its own disk is a finding, not a reason to stop).
   */
  async healAll(): Promise<{ done: string[]; failed: string[] }> {
    const done: string[] = [];
    const failed: string[] = [];
    if (this.lab) {
      try {
        this.lab.healAll();
      } catch (e) {
        failed.push(`healing the network failed: ${String((e as Error)?.message ?? e)}`);
      }
    }
    const attempt = async (what: string, fn: () => Promise<unknown>) => {
      try {
        await fn();
        done.push(what);
      } catch (e) {
        failed.push(`${what} failed: ${String((e as Error)?.message ?? e).split('\n').slice(0, 4).join(' | ')}`);
      }
    };
    for (const [i, node] of this.nats.nodes.entries()) {
      if (!node.running) await attempt(`restarted NATS n${i + 1}`, () => node.restart());
    }
    for (const id of [...this.paused]) {
      this.replicas.get(id)?.resume();
      this.paused.delete(id);
      done.push(`continued ${id}`);
    }
    for (const id of this.replicaIds) {
      if (!this.replicas.get(id)?.running) await attempt(`restarted ${id}`, () => this.startReplica(id));
    }
    for (const id of this.coordinatorIds) {
      if (!this.coordinators.get(id)?.running) await attempt(`restarted coordinator ${id}`, () => this.startCoordinator(id));
    }
    return { done, failed };
  }

  /** The replicas whose process runs now. */
  liveReplicas(): string[] {
    return this.replicaIds.filter((id) => this.replicas.get(id)?.running && !this.paused.has(id));
  }

  /** The whole log of every process ever started under `kind`, as lines. */
  logLines(kind: 'replica' | 'coordinator'): { process: string; line: string }[] {
    const out: { process: string; line: string }[] = [];
    for (const app of this.history) {
      if (!app.name.startsWith(`${kind}-`)) continue;
      // The file holds every line (memory keeps only the newest); it may lag the last few while the process runs.
      const text = existsSync(app.logFile) ? readFileSync(app.logFile, 'utf8') : app.logs().join('\n');
      for (const line of text.split('\n')) if (line) out.push({ process: app.name, line });
    }
    return out;
  }

  /** Stops every process; keeps the temp dir (logs, data) when `keep`. */
  async dispose(keep: boolean): Promise<void> {
    this.lab?.healAll();
    for (const c of this.local.values()) await c.close().catch(() => undefined);
    for (const id of this.paused) this.replicas.get(id)?.resume();
    // When kept, the nodes' logs stay beside their store dirs for the failure to be read.
    await this.harness.dispose(keep ? 'all' : 'nothing');
  }
}

/** The lab host of the Nth replica or coordinator (as the harness places them). */
function hostName(i: number): string {
  return `h${i + 1}`;
}

/** Waits `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
