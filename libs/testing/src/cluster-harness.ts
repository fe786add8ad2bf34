import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { NatsConnection, NodeConnectionOptions } from '@nats-io/transport-node';
import { REPO_ROOT, startApp, type AppHandle, type AppOptions } from './app-process';
import { connectClient, requestJson, waitForJetStream } from './nats-client';
import { startNatsCluster, startNatsServer, type NatsClusterHandle } from './nats-server';
import type { NetworkLab } from './network-lab';
import { makeTempDir, type TempDir } from './temp-dir';

/**
 * The one cluster harness of the tests, the fault suite and the benchmarks: real
 * nats-servers (one, or a three-node JetStream cluster, optionally spread over the hosts
 * of a network lab), replica and coordinator processes from the build on their own
 * SQLite files under one temp dir, a client connection, and the probes every suite needs
 * (status, convergence, coordinator requests). Suites add what is theirs (fault
 * injection, round events, profiles) around it.
 */

/** A reply of the client or admin protocol. */
export type HarnessReply = { ok: boolean; error?: { code: string; message: string }; [k: string]: unknown };

/** Options of `ClusterHarness.start`. */
export interface ClusterHarnessOptions {
  /** NATS nodes: 1 (default) or a 3-node JetStream cluster. */
  readonly natsNodes?: 1 | 3;
  /** Spreads node N, replica N and coordinator N over lab host hN (needs `natsNodes: 3`). */
  readonly lab?: NetworkLab;
  /** Prefix of the temp dir (under the OS temp dir). */
  readonly name?: string;
  /** Environment of every replica, and of every coordinator, on top of NATS_URL. */
  readonly replicaEnv?: Record<string, string>;
  readonly coordinatorEnv?: Record<string, string>;
  /** A directory laid out like `dist` whose apps run (default: this build's). */
  readonly dist?: string;
  /** Options of the harness's own client connection. */
  readonly client?: Partial<NodeConnectionOptions>;
}

/** Bounds of the harness's waits (units last). */
export const HARNESS_LIMITS = {
  /** A replica logs "ready" and reaches Work mode within this. */
  replicaReadyMs: 30_000,
  coordinatorReadyMs: 30_000,
  statusTimeoutMs: 2_000,
  jetstreamReadyMs: 30_000,
} as const;

/**
 * The build the apps run from. Compiled, this file is dist/libs/testing/src, and REPO_ROOT
 * (three levels up) is dist itself; from sources it is the repository, whose build is dist.
 */
export function defaultDist(): string {
  return basename(REPO_ROOT) === 'dist' && existsSync(join(REPO_ROOT, 'apps')) ? REPO_ROOT : join(REPO_ROOT, 'dist');
}

/** Outcome of a convergence wait. */
export interface Convergence {
  readonly ok: boolean;
  /** `performance.now()` when it held (or when the wait ended). */
  readonly atMs: number;
  readonly statuses: HarnessReply[];
}

export class ClusterHarness {
  readonly replicas = new Map<string, AppHandle>();
  readonly coordinators = new Map<string, AppHandle>();
  /** Every process ever started, in start order (dead ones too), for the logs. */
  readonly history: AppHandle[] = [];
  readonly logDir: string;
  private readonly dist: string;

  private constructor(
    readonly dir: TempDir,
    readonly nats: NatsClusterHandle,
    readonly nc: NatsConnection,
    private readonly opts: ClusterHarnessOptions,
  ) {
    this.logDir = join(dir.path, 'logs');
    mkdirSync(this.logDir, { recursive: true });
    this.dist = opts.dist ?? defaultDist();
  }

  /** Starts NATS (waiting for JetStream) and connects; apps are started by the caller. */
  static async start(opts: ClusterHarnessOptions = {}): Promise<ClusterHarness> {
    if (opts.lab && opts.natsNodes !== 3) throw new Error('a network lab spreads a 3-node NATS cluster: set natsNodes: 3');
    const dir = makeTempDir(opts.name ?? 'cluster');
    let nats: NatsClusterHandle | undefined;
    let nc: NatsConnection | undefined;
    try {
      nats =
        opts.natsNodes === 3
          ? await startNatsCluster(3, {
              name: opts.name ?? 'crdt-test',
              ...(opts.lab ? { hosts: [0, 1, 2].map((i) => opts.lab!.address(hostName(i))), wrap: (i: number) => opts.lab!.prefix(hostName(i)) } : {}),
            })
          : singleNode(await startNatsServer({ storeDir: join(dir.path, 'jetstream') }));
      nc = await connectClient(nats.url, opts.client);
      if (!(await waitForJetStream(nc, HARNESS_LIMITS.jetstreamReadyMs))) {
        throw new Error(`JetStream did not answer within ${HARNESS_LIMITS.jetstreamReadyMs} ms:\n${nats.nodes.map((n) => n.logTail(10)).join('\n')}`);
      }
      return new ClusterHarness(dir, nats, nc, opts);
    } catch (e) {
      await nc?.close().catch(() => undefined);
      await nats?.dispose();
      dir.remove();
      throw e;
    }
  }

  /** The lab host of the Nth replica or coordinator. */
  hostOf(id: string, kind: 'replica' | 'coordinator'): string {
    const ids = [...(kind === 'replica' ? this.replicas : this.coordinators).keys()];
    const i = ids.indexOf(id);
    return hostName((i >= 0 ? i : ids.length) % 3);
  }

  /** A replica's data dir (the same across restarts). */
  dataDir(id: string): string {
    return join(this.dir.path, 'data', id);
  }

  /** Starts (or restarts on its data dir) replica `id` without waiting. */
  spawnReplica(id: string, env: Record<string, string> = {}, opts: Omit<AppOptions, 'script'> & { host?: string } = {}): AppHandle {
    const host = opts.host ?? (this.opts.lab ? this.hostOf(id, 'replica') : undefined);
    const app = startApp(
      'replica',
      { NATS_URL: this.nats.url, REPLICA_ID: id, DATA_DIR: this.dataDir(id), ...this.opts.replicaEnv, ...env },
      {
        logDir: this.logDir,
        name: `replica-${id}-${this.history.length + 1}`,
        script: join(this.dist, 'apps', 'replica', 'src', 'main.js'),
        ...(host && this.opts.lab ? { wrap: this.opts.lab.prefix(host) } : {}),
        ...opts,
      },
    );
    this.replicas.set(id, app);
    this.history.push(app);
    return app;
  }

  /** Starts (or restarts) replica `id` and waits until it serves writes (Work mode). */
  async startReplica(id: string, env: Record<string, string> = {}, readyMs: number = HARNESS_LIMITS.replicaReadyMs, opts: Omit<AppOptions, 'script'> = {}): Promise<AppHandle> {
    const app = this.spawnReplica(id, env, opts);
    await this.untilWork(id, app, readyMs);
    return app;
  }

  /** Waits until a started replica logs ready and reports Work mode. */
  async untilWork(id: string, app: AppHandle, readyMs: number = HARNESS_LIMITS.replicaReadyMs): Promise<void> {
    const deadline = Date.now() + readyMs;
    await app.waitForLog((l) => l.msg === 'ready', readyMs);
    let last: HarnessReply | undefined;
    while (Date.now() < deadline) {
      last = await this.status(id).catch(() => undefined);
      if (last?.ok && last.mode === 'Work') return;
      await sleep(50);
    }
    throw new Error(`replica ${id} did not reach Work mode within ${readyMs} ms (last status ${JSON.stringify(last)}):\n${app.logs().slice(-10).join('\n')}`);
  }

  /** Starts (or restarts) coordinator `id` without waiting. */
  spawnCoordinator(id: string, env: Record<string, string> = {}): AppHandle {
    const host = this.opts.lab ? this.hostOf(id, 'coordinator') : undefined;
    const app = startApp(
      'coordinator',
      { NATS_URL: this.nats.url, COORDINATOR_ID: id, ...this.opts.coordinatorEnv, ...env },
      {
        logDir: this.logDir,
        name: `coordinator-${id}-${this.history.length + 1}`,
        script: join(this.dist, 'apps', 'coordinator', 'src', 'main.js'),
        ...(host && this.opts.lab ? { wrap: this.opts.lab.prefix(host) } : {}),
      },
    );
    this.coordinators.set(id, app);
    this.history.push(app);
    return app;
  }

  /** Starts (or restarts) coordinator `id` and waits for its ready line. */
  async startCoordinator(id: string, env: Record<string, string> = {}, readyMs: number = HARNESS_LIMITS.coordinatorReadyMs): Promise<AppHandle> {
    const app = this.spawnCoordinator(id, env);
    await app.waitForLog((l) => l.msg === 'ready', readyMs);
    return app;
  }

  /** A client command at one replica (`crdt.replica.<id>.<command>`) or any (`crdt.api.<command>`). */
  request<T extends HarnessReply = HarnessReply>(replica: string | undefined, command: string, body: unknown, timeoutMs = 10_000, nc: NatsConnection = this.nc): Promise<T> {
    return requestJson<T>(nc, replica ? `crdt.replica.${replica}.${command}` : `crdt.api.${command}`, body, timeoutMs);
  }

  /** An admin request to the coordinators (`crdt.coordinator.<command>`). */
  coordinator<T extends HarnessReply = HarnessReply>(command: string, body: unknown = {}, timeoutMs = 10_000, nc: NatsConnection = this.nc): Promise<T> {
    return requestJson<T>(nc, `crdt.coordinator.${command}`, body, timeoutMs);
  }

  /** One replica's status. */
  status<T extends HarnessReply = HarnessReply>(id: string, nc: NatsConnection = this.nc): Promise<T> {
    return this.request<T>(id, 'status', {}, HARNESS_LIMITS.statusTimeoutMs, nc);
  }

  /**
   * Polls until every named replica reports the same applied vector, nothing waiting, an
   * empty outbox and one of `modes` (Work by default).
   */
  async convergence(ids: readonly string[], timeoutMs: number, opts: { intervalMs?: number; nc?: NatsConnection; modes?: readonly string[] } = {}): Promise<Convergence> {
    const { intervalMs = 100, nc = this.nc, modes = ['Work'] } = opts;
    const deadline = Date.now() + timeoutMs;
    let statuses: HarnessReply[] = [];
    while (Date.now() < deadline) {
      statuses = await Promise.all(
        ids.map((id) => this.status(id, nc).catch((e: unknown) => ({ ok: false, error: { code: 'NO_REPLY', message: String(e) } }) as HarnessReply)),
      );
      const ready = statuses.every((s) => s.ok && modes.includes(String(s.mode)) && s.waiting === 0 && s.outboxDepth === 0);
      const vectors = new Set(statuses.map((s) => sortedVector(s.applied)));
      if (ready && vectors.size === 1) return { ok: true, atMs: performance.now(), statuses };
      await sleep(intervalMs);
    }
    return { ok: false, atMs: performance.now(), statuses };
  }

  /**
   * Stops every process. `keep`: 'nothing' removes the temp dir; 'logs' keeps the app logs
   * only; 'all' keeps logs, data and the NATS stores, for a failure to be read.
   */
  async dispose(keep: 'nothing' | 'logs' | 'all' = 'nothing'): Promise<void> {
    await this.nc.close().catch(() => undefined);
    await Promise.all(this.history.map((a) => a.stop(5_000).catch(() => undefined)));
    if (keep === 'all') {
      await this.nats.stop();
      return;
    }
    await this.nats.dispose();
    if (keep === 'nothing') this.dir.remove();
    else for (const sub of ['data', 'jetstream']) rmSync(join(this.dir.path, sub), { recursive: true, force: true });
  }
}

/** A single server as a one-node cluster handle. */
function singleNode(server: Awaited<ReturnType<typeof startNatsServer>>): NatsClusterHandle {
  return {
    nodes: [server],
    get urls() {
      return [server.url];
    },
    get url() {
      return server.url;
    },
    stop: () => server.stop(),
    dispose: () => server.dispose(),
  };
}

/** The lab host of the Nth node, replica or coordinator. */
function hostName(i: number): string {
  return `h${i + 1}`;
}

/** A version vector as canonical text, zero entries dropped. */
export function sortedVector(v: unknown): string {
  if (!v || typeof v !== 'object') return JSON.stringify(v);
  return JSON.stringify(Object.fromEntries(Object.entries(v as Record<string, number>).filter(([, n]) => n !== 0).sort(([a], [b]) => (a < b ? -1 : 1))));
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
