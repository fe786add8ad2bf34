import { join, resolve } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { ClusterHarness, parseJsonLine, startApp, type AppHandle, type NatsServerHandle, type TempDir } from '#testing';
import { PROFILE_SIGNAL } from './profile-signal';

/**
 * The cluster under test, on the shared harness (libs/testing): one nats-server with
 * JetStream on a free port, replica processes (`dist/apps/replica/src/main.js`) with their
 * SQLite files in one temp dir, and a client connection. Everything it starts is stopped,
 * and the temp dir removed, by `dispose`.
 */

/** A reply of the client protocol. */
export type Reply = { ok: boolean; error?: { code: string; message: string }; [k: string]: unknown };

/** A replica's `status` reply. */
export interface ReplicaStatus extends Reply {
  readonly replica: string;
  readonly mode: string;
  readonly applied: Record<string, number>;
  readonly outboxDepth: number;
  readonly waiting: number;
  readonly streamSeq: number;
  readonly opLogLength: number;
}

/** Warnings or errors of one kind that a replica logged. */
export interface ReplicaLogProblem {
  readonly replica: string;
  readonly level: string;
  readonly msg: string;
  count: number;
  /** Time and fields of the first one. */
  readonly first: string;
}

/**
 * How long a replica may take to log "ready" and then to reach Work mode, unless the
 * options say: on a shared, busy machine three Nest apps starting at once can take longer.
 */
const START_WAIT_MS = 30_000;
/** Status requests during start and convergence polls. */
const STATUS_TIMEOUT_MS = 2_000;
/** Output lines of each process printed when a run fails. */
const FAILURE_TAIL_LINES = 15;

/** dist/bench/cluster (this file's compiled home) → dist. */
const DIST_ROOT = resolve(__dirname, '..', '..');

/** Options of `BenchCluster.start`. */
export interface BenchClusterOptions {
  /** Replica ids, started in parallel. */
  readonly ids: readonly string[];
  /** Extra environment of every replica. */
  readonly env?: Record<string, string>;
  /** When set, replicas run with a CPU profiler and write profiles here on `writeProfiles()`. */
  readonly cpuProfileDir?: string;
  /** Overrides START_WAIT_MS. */
  readonly startWaitMs?: number;
}

/** A real cluster for the benchmark. */
export class BenchCluster {
  private readonly helpers: AppHandle[] = [];
  private disposed = false;

  private constructor(
    readonly harness: ClusterHarness,
    private readonly opts: BenchClusterOptions,
  ) {}

  get replicas(): Map<string, AppHandle> {
    return this.harness.replicas;
  }

  get nats(): NatsServerHandle {
    return this.harness.nats.nodes[0];
  }

  get nc(): NatsConnection {
    return this.harness.nc;
  }

  get dir(): TempDir {
    return this.harness.dir;
  }

  /** Starts nats-server and the replicas; on any failure stops what was started and rethrows. */
  static async start(opts: BenchClusterOptions, onCreated: (c: BenchCluster) => void): Promise<BenchCluster> {
    const harness = await ClusterHarness.start({
      name: 'bench-cluster',
      // No async stack traces: nats.js would otherwise build an Error per request to keep the
      // caller's stack, client-side work that is no part of what is measured.
      client: { name: 'bench-cluster', noAsyncTraces: true },
      replicaEnv: { ...(opts.cpuProfileDir ? { BENCH_CPU_PROFILE_DIR: opts.cpuProfileDir } : {}), ...opts.env },
      dist: DIST_ROOT,
    });
    const cluster = new BenchCluster(harness, opts);
    onCreated(cluster);
    const nodeArgs = opts.cpuProfileDir ? ['-r', join(DIST_ROOT, 'bench', 'cluster', 'cpu-profile-preload.js')] : [];
    await Promise.all(opts.ids.map((id) => harness.startReplica(id, {}, opts.startWaitMs ?? START_WAIT_MS, { name: id, nodeArgs })));
    return cluster;
  }

  /** Starts a helper process (a compiled script under dist/bench/cluster) and waits for its ready line. */
  async startHelper(name: string, scriptName: string, env: Record<string, string>): Promise<AppHandle> {
    // The entry argument only picks a default script, which `script` replaces.
    const app = startApp('replica', { NATS_URL: this.nats.url, ...env }, { script: join(DIST_ROOT, 'bench', 'cluster', scriptName), logDir: this.harness.logDir, name });
    this.helpers.push(app);
    await app.waitForLog((l) => l.msg === 'ready', this.opts.startWaitMs ?? START_WAIT_MS);
    return app;
  }

  /** `crdt.replica.<id>.<command>` with a JSON body; resolves with the parsed reply. */
  request<T extends Reply = Reply>(id: string, command: string, body: unknown, timeoutMs = 10_000): Promise<T> {
    return this.harness.request<T>(id, command, body, timeoutMs);
  }

  /** One replica's status. */
  status(id: string): Promise<ReplicaStatus> {
    return this.request<ReplicaStatus>(id, 'status', {}, STATUS_TIMEOUT_MS);
  }

  /**
   * Polls every `intervalMs` until all replicas report equal applied vectors, an empty
   * outbox and nothing waiting in the causal buffer. Resolves with the time it held
   * (performance.now()) and the statuses; rejects after `timeoutMs`.
   */
  async converged(timeoutMs: number, intervalMs = 10): Promise<{ atMs: number; statuses: ReplicaStatus[] }> {
    const c = await this.harness.convergence([...this.replicas.keys()], timeoutMs, { intervalMs, modes: ['Work', 'Sync', 'Ready'] });
    if (!c.ok) throw new Error(`replicas did not converge within ${timeoutMs} ms: ${JSON.stringify(c.statuses)}`);
    return { atMs: c.atMs, statuses: c.statuses as ReplicaStatus[] };
  }

  /** Asks every replica started with a profiler to write its profile, and waits for them. */
  async writeProfiles(timeoutMs = 10_000): Promise<string[]> {
    if (!this.opts.cpuProfileDir) return [];
    const files: string[] = [];
    for (const app of this.replicas.values()) {
      const since = app.lineCount();
      app.kill(PROFILE_SIGNAL);
      const line = await app.waitForLog((l) => l.msg === 'cpu profile written', timeoutMs, since);
      files.push(String(line.file));
    }
    return files;
  }

  /** The processes whose CPU time the benchmark reads: each replica, the helpers (the echo responder), the server and this client. */
  pids(): Map<string, number> {
    const m = new Map<string, number>();
    for (const [id, app] of this.replicas) m.set(id, app.pid);
    for (const app of this.helpers) m.set(app.name, app.pid);
    m.set('nats-server', this.nats.pid);
    m.set('client', process.pid);
    return m;
  }

  /**
   * Warnings and errors the replicas logged so far, counted by replica and message (a
   * benchmark run should log none; when it does, they often explain a bad figure).
   */
  logProblems(): ReplicaLogProblem[] {
    const out = new Map<string, ReplicaLogProblem>();
    for (const [id, app] of this.replicas) {
      for (const line of app.logs()) {
        const entry = parseJsonLine(line);
        if (!entry || (entry.level !== 'warn' && entry.level !== 'error')) continue;
        const msg = String(entry.msg);
        const k = `${id}\u0000${entry.level}\u0000${msg}`;
        const seen = out.get(k);
        if (seen) seen.count++;
        else {
          const { t, level, msg: _msg, app: _app, replica: _replica, ...fields } = entry;
          const detail = `${String(t)} ${JSON.stringify(fields)}`;
          out.set(k, { replica: id, level: String(level), msg, count: 1, first: detail.length > 200 ? `${detail.slice(0, 200)}...` : detail });
        }
      }
    }
    return [...out.values()];
  }

  /** The last lines of every process's output, for a failure report. */
  tails(): string {
    const parts: string[] = [];
    for (const app of [...this.replicas.values(), ...this.helpers]) {
      parts.push(`--- ${app.name} (pid ${app.pid}) ---\n${app.logs().slice(-FAILURE_TAIL_LINES).join('\n') || '(no output)'}`);
    }
    parts.push(`--- nats-server ---\n${this.nats.logTail(FAILURE_TAIL_LINES)}`);
    return parts.join('\n');
  }

  /** Stops every process, closes the client and removes the temp dir. Safe to call twice. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await Promise.all(this.helpers.map((a) => a.stop(5_000).catch(() => undefined)));
    await this.harness.dispose('nothing');
  }
}

/** Waits `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
