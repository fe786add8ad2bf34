import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { trackChild, waitForExit, within } from './child-registry';
import { freePorts, pollUntil, portAccepts } from './free-port';
import { makeTempDir, type TempDir } from './temp-dir';

/**
 * Real nats-server processes for tests (after nats.js's `nst/src/launcher.ts`): each on
 * a port the server picks, with its own JetStream store dir, killable and restartable on
 * the same port and store so clients reconnect to the same URL and find their streams.
 */

/** Where Debian puts the binary (`apt-get install nats-server`). */
const DEBIAN_BIN = '/usr/sbin/nats-server';
/** How long a start may take before it is reported as failed. */
const START_TIMEOUT_MS = 15_000;
/** How long `stop` waits after its signal before it sends SIGKILL. */
const STOP_TIMEOUT_MS = 10_000;

/** The nats-server binary is not installed (or `NATS_SERVER_BIN` names nothing runnable). */
export class NatsServerMissingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NatsServerMissingError';
  }
}

/** A nats-server did not start: it exited, or never opened its port in time. */
export class NatsServerStartError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'NatsServerStartError';
  }
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The nats-server binary: `NATS_SERVER_BIN` when set, else /usr/sbin/nats-server, else
 * `nats-server` on PATH. Throws `NatsServerMissingError` with install instructions.
 */
export function findNatsServer(env: NodeJS.ProcessEnv = process.env, debianBin = DEBIAN_BIN): string {
  const configured = env.NATS_SERVER_BIN;
  if (configured) {
    if (isExecutable(configured)) return configured;
    throw new NatsServerMissingError(`NATS_SERVER_BIN=${configured} is not an executable file; point it at a nats-server binary or unset it`);
  }
  if (isExecutable(debianBin)) return debianBin;
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, 'nats-server'))) return join(dir, 'nats-server');
  }
  throw new NatsServerMissingError(
    'nats-server is not installed: tests need a real one. Install it with `apt-get install nats-server` ' +
      '(Debian/Ubuntu), or put the release binary from github.com/nats-io/nats-server on PATH, ' +
      'or set NATS_SERVER_BIN to its path',
  );
}

/** Options of `startNatsServer`. */
export interface NatsServerOptions {
  /** JetStream store dir; a fresh temp dir (removed by `dispose`) when absent. */
  readonly storeDir?: string;
  /** Client port; when absent the server picks a free one. */
  readonly port?: number;
  /** Enables JetStream (default true). */
  readonly jetstream?: boolean;
  /** A config file to load (`-c`); the cluster helper writes one per node. */
  readonly configFile?: string;
  /** Extra command-line arguments. */
  readonly args?: readonly string[];
  /** How long a start may take, ms. */
  readonly startTimeoutMs?: number;
  /** Environment of the server; process.env when absent (NATS_SERVER_BIN is read from it). */
  readonly env?: NodeJS.ProcessEnv;
  /** Address to listen on and to reach it at (default 127.0.0.1; a network lab host's address). */
  readonly host?: string;
  /** A command prefix the server runs under (a network lab's `prefix(host)`). */
  readonly wrap?: readonly string[];
}

/** A running (or stopped) nats-server. */
export interface NatsServerHandle {
  /** `nats://<host>:<port>` (host 127.0.0.1 unless given); the same across restarts. */
  readonly url: string;
  readonly port: number;
  /** Pid of the current process (changes on restart). */
  readonly pid: number;
  readonly storeDir: string;
  /** The server's log (stdout and stderr), appended across restarts. */
  readonly logFile: string;
  readonly running: boolean;
  /** Sends `signal`, waits for the exit (SIGKILL after `timeoutMs`). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<void>;
  /** SIGKILL: a crash, with no chance to flush or say goodbye. */
  kill(): Promise<void>;
  /** Stops the server if it runs, then starts it again on the same port and store dir. */
  restart(): Promise<void>;
  /** SIGSTOP / SIGCONT: a hung server whose sockets stay open. */
  pause(): void;
  resume(): void;
  /** The last `lines` lines of the log, for failure messages. */
  logTail(lines?: number): string;
  /** Stops the server and removes the temp dirs it made. */
  dispose(): Promise<void>;
}

/** Starts a nats-server (JetStream on by default) on a free port with its own store dir. */
export async function startNatsServer(opts: NatsServerOptions = {}): Promise<NatsServerHandle> {
  const server = new NatsServer(findNatsServer(opts.env), opts);
  try {
    await server.start();
  } catch (e) {
    await server.dispose();
    throw e;
  }
  return server;
}

class NatsServer implements NatsServerHandle {
  readonly storeDir: string;
  readonly logFile: string;
  private readonly work: TempDir;
  private readonly ownStore: TempDir | undefined;
  private readonly portsDir: string;
  private child: ChildProcess | undefined;
  private fixedPort: number | undefined;

  constructor(
    private readonly bin: string,
    private readonly opts: NatsServerOptions,
  ) {
    this.work = makeTempDir('nats');
    this.portsDir = join(this.work.path, 'ports');
    mkdirSync(this.portsDir);
    this.logFile = join(this.work.path, 'nats-server.log');
    this.ownStore = opts.storeDir ? undefined : makeTempDir('nats-store');
    this.storeDir = opts.storeDir ?? this.ownStore!.path;
    mkdirSync(this.storeDir, { recursive: true });
    this.fixedPort = opts.port;
  }

  get port(): number {
    if (this.fixedPort === undefined) throw new Error('the server has not started yet');
    return this.fixedPort;
  }

  get url(): string {
    return `nats://${this.host}:${this.port}`;
  }

  private get host(): string {
    return this.opts.host ?? '127.0.0.1';
  }

  get pid(): number {
    return this.child?.pid ?? -1;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  private args(): string[] {
    const a: string[] = [];
    if (this.opts.configFile) a.push('-c', this.opts.configFile);
    // A restart keeps the port the first start got, so clients reconnect to the same URL.
    a.push('-a', this.host, '-p', this.fixedPort === undefined ? '-1' : String(this.fixedPort));
    a.push('--ports_file_dir', this.portsDir, '-P', join(this.work.path, 'nats-server.pid'));
    if (this.opts.jetstream ?? true) a.push('-js', '-sd', this.storeDir);
    a.push(...(this.opts.args ?? []));
    return a;
  }

  async start(): Promise<void> {
    if (this.running) throw new Error(`nats-server ${this.pid} is already running`);
    const timeoutMs = this.opts.startTimeoutMs ?? START_TIMEOUT_MS;
    const deadline = Date.now() + timeoutMs;
    // A restart on a fixed port can race the old socket's release; try again within the bound.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.spawnOnce(deadline);
        return;
      } catch (e) {
        const canRetry = this.fixedPort !== undefined && Date.now() + 200 < deadline && !this.running && attempt < 20;
        if (!canRetry) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  private async spawnOnce(deadline: number): Promise<void> {
    const log = openSync(this.logFile, 'a');
    let child: ChildProcess;
    try {
      const [cmd, ...pre] = [...(this.opts.wrap ?? []), this.bin];
      child = spawn(cmd, [...pre, ...this.args()], { stdio: ['ignore', log, log], env: this.opts.env ?? process.env });
    } finally {
      closeSync(log);
    }
    this.child = child;
    trackChild(child);
    let spawnError: Error | undefined;
    child.once('error', (e) => (spawnError = e));
    const exited = () => spawnError !== undefined || child.exitCode !== null || child.signalCode !== null;

    let port: number | undefined;
    const found = await pollUntil(() => {
      if (exited()) return true;
      port = this.readPortsFile(child.pid!);
      return port !== undefined;
    }, Math.max(0, deadline - Date.now()));
    if (!exited() && found && port !== undefined) {
      const p = port;
      const accepting = await pollUntil(() => exited() || portAccepts(p, 250, this.host), Math.max(0, deadline - Date.now()));
      if (accepting && !exited()) {
        this.fixedPort = p;
        return;
      }
    }
    const why = spawnError
      ? `could not run ${this.bin}: ${spawnError.message}`
      : exited()
        ? `nats-server exited (code ${child.exitCode}, signal ${child.signalCode})`
        : 'nats-server did not open its client port in time';
    if (!exited()) {
      child.kill('SIGKILL');
      await waitForExit(child);
    }
    throw new NatsServerStartError(`${why}; args: ${this.args().join(' ')}\n--- log tail (${this.logFile}) ---\n${this.logTail(30)}`, { cause: spawnError });
  }

  /** The client port from the server's ports file (`<exe>_<pid>.ports`), once written. */
  private readPortsFile(pid: number): number | undefined {
    const name = readdirSync(this.portsDir).find((f) => f.endsWith(`_${pid}.ports`));
    if (!name) return undefined;
    try {
      const ports = JSON.parse(readFileSync(join(this.portsDir, name), 'utf8')) as { nats?: string[] };
      const m = /:(\d+)$/.exec(ports.nats?.[0] ?? '');
      return m ? Number(m[1]) : undefined;
    } catch {
      return undefined; // written but not yet complete
    }
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = STOP_TIMEOUT_MS): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    child.kill('SIGCONT'); // a paused server would not act on SIGTERM
    child.kill(signal);
    if (!(await within(waitForExit(child), timeoutMs))) {
      child.kill('SIGKILL');
      await waitForExit(child);
    }
  }

  kill(): Promise<void> {
    return this.stop('SIGKILL');
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  pause(): void {
    if (this.running) this.child!.kill('SIGSTOP');
  }

  resume(): void {
    if (this.running) this.child!.kill('SIGCONT');
  }

  logTail(lines = 20): string {
    if (!existsSync(this.logFile)) return '(no log)';
    return readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  }

  async dispose(): Promise<void> {
    await this.stop();
    this.ownStore?.remove();
    this.work.remove();
  }
}

/** Options of `startNatsCluster`. */
export interface NatsClusterOptions {
  /** The cluster's name (every node's `cluster.name`). */
  readonly name?: string;
  /** Per-node start timeout, ms. */
  readonly startTimeoutMs?: number;
  readonly env?: NodeJS.ProcessEnv;
  /** Per node: the address it listens on and is reached at (default 127.0.0.1 for all). */
  readonly hosts?: readonly string[];
  /** Per node: a command prefix it runs under (a network lab's `prefix(host)`). */
  readonly wrap?: (node: number) => readonly string[];
}

/** A JetStream cluster of nats-servers (on 127.0.0.1 unless placed on lab hosts), each node individually stoppable. */
export interface NatsClusterHandle {
  readonly nodes: readonly NatsServerHandle[];
  /** Every node's client URL. */
  readonly urls: readonly string[];
  /** Comma-separated URLs, as a client's `servers` option or NATS_URL takes them. */
  readonly url: string;
  /** Stops every node. */
  stop(): Promise<void>;
  /** Stops every node and removes the temp dirs. */
  dispose(): Promise<void>;
}

/**
 * Starts `n` nats-servers clustered by routes, with JetStream clustering (each has a
 * `server_name`, a `cluster` block with a name, listen address and routes to all nodes).
 * Ports are picked free beforehand because every node's config names the others' route
 * ports. Callers wait for JetStream's meta leader themselves (see `waitForJetStream` in
 * nats-client.ts), since that needs a client.
 */
export async function startNatsCluster(n = 3, opts: NatsClusterOptions = {}): Promise<NatsClusterHandle> {
  const bin = findNatsServer(opts.env);
  const name = opts.name ?? 'crdt-test';
  const ports = await freePorts(2 * n);
  const clientPorts = ports.slice(0, n);
  const routePorts = ports.slice(n);
  const confDir = makeTempDir('nats-cluster');
  const hostOf = (i: number) => opts.hosts?.[i] ?? '127.0.0.1';
  const routes = routePorts.map((p, i) => `"nats-route://${hostOf(i)}:${p}"`).join(', ');
  const nodes: NatsServer[] = [];
  for (let i = 0; i < n; i++) {
    const store = join(confDir.path, `n${i + 1}-store`);
    mkdirSync(store);
    const file = join(confDir.path, `n${i + 1}.conf`);
    writeFileSync(
      file,
      [
        `server_name: "n${i + 1}"`,
        `jetstream { store_dir: "${store}" }`,
        'cluster {',
        `  name: "${name}"`,
        `  listen: "${hostOf(i)}:${routePorts[i]}"`,
        `  routes: [${routes}]`,
        '}',
        '',
      ].join('\n'),
    );
    // -js on the command line too: the config's jetstream block already enables it.
    nodes.push(
      new NatsServer(bin, { configFile: file, port: clientPorts[i], storeDir: store, jetstream: false, startTimeoutMs: opts.startTimeoutMs, env: opts.env, host: hostOf(i), wrap: opts.wrap?.(i) }),
    );
  }
  try {
    await Promise.all(nodes.map((s) => s.start()));
  } catch (e) {
    await Promise.all(nodes.map((s) => s.dispose()));
    confDir.remove();
    throw e;
  }
  const urls = nodes.map((s) => s.url);
  return {
    nodes,
    urls,
    url: urls.join(','),
    stop: async () => {
      await Promise.all(nodes.map((s) => s.stop()));
    },
    dispose: async () => {
      await Promise.all(nodes.map((s) => s.dispose()));
      confDir.remove();
    },
  };
}
