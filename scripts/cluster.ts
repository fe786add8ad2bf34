/**
 * `npm start`: the whole cluster on one machine. Locks the data root (one launcher per
 * data root), starts nats-server with JetStream (unless NATS_URL points at one already),
 * the coordinator and the replicas as child processes, shows their log lines, writes the
 * discovery file `<data root>/cluster.json` once every app is ready, and on SIGINT or
 * SIGTERM (or when the process that started it goes away) stops the apps (SIGTERM,
 * SIGKILL after a bound), then nats-server, removes the discovery file and the lock.
 *
 * Environment (the README's launcher table has every variable): NATS_URL, NATS_PORT,
 * NATS_SERVER_BIN, CRDT_PREFIX, CRDT_STREAM, REPLICAS, DATA_ROOT, LOG_FORMAT, LOG_LEVEL,
 * NATS_SERVER_TLS_CERT + NATS_SERVER_TLS_KEY (the started server takes TLS only; give the
 * apps NATS_TLS_CA); the apps' own variables are passed on to them. The started server
 * enforces fresh credentials (launcher/cluster-security.ts).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { clusterFilePath, isDataDirLockedError, lockDataDir, removeClusterFile, writeClusterFile, type ClusterApp, type ClusterCredential, type DataDirLock } from '#runtime';
import { Child } from './launcher/child';
import { prepareClusterSecurity, type ClusterSecurity } from './launcher/cluster-security';
import { formatChildLine, httpUrlOfLine, isReadyLine, jsonChildLine } from './launcher/log-format';
import { findNatsServer, NATS_INSTALL_HINT, portAccepts, readPortsFile } from './launcher/nats-server';
import { watchParent } from './launcher/parent-watch';

/** How long a child may take to stop after SIGTERM before it is killed. */
const STOP_TIMEOUT_MS = 10_000;
/** How long nats-server may take to open its port. */
const NATS_START_TIMEOUT_MS = 15_000;
/** After this long without every app ready, say which are still starting. */
const READY_WARN_MS = 30_000;
const REPLICAS_MAX = 9;

/** Name-column colours (cyan, green, yellow, magenta, blue, red), when stdout is a terminal. */
const COLORS = [36, 32, 33, 35, 34, 31];

const root = process.cwd();
const env = process.env;
const json = env.LOG_FORMAT === 'json';
const tty = process.stdout.isTTY === true && !json;
const children: Child[] = [];
let stopping = false;
let lock: DataDirLock | undefined;
let dataRoot: string | undefined;

/** The launcher's own lines: bold `cluster | ...`, or JSON lines with LOG_FORMAT=json. */
function say(msg: string, fields: Record<string, unknown> = {}, level = 'info'): void {
  if (json) process.stdout.write(JSON.stringify({ t: new Date().toISOString(), level, msg, app: 'cluster', ...fields }) + '\n');
  else process.stdout.write(`${tty ? '\x1b[1m' : ''}cluster | ${msg}${tty ? '\x1b[0m' : ''}\n`);
}

function fail(msg: string, fields: Record<string, unknown> = {}): never {
  if (json) process.stderr.write(JSON.stringify({ t: new Date().toISOString(), level: 'error', msg, app: 'cluster', ...fields }) + '\n');
  else process.stderr.write(`cluster | ${msg}\n`);
  process.exit(1);
}

function lineWriter(name: string, index: number): (line: string) => void {
  if (json) return (line) => process.stdout.write(`${jsonChildLine(name, line, new Date().toISOString())}\n`);
  const fmt = { nameWidth: 7, color: tty ? COLORS[index % COLORS.length] : undefined };
  return (line) => process.stdout.write(`${formatChildLine(name, line, fmt)}\n`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** What the launcher's NATS gives the apps and the discovery file. */
interface NatsEndpoint {
  readonly url: string;
  readonly monitoring?: string;
  /** The server's pid when the launcher started it. */
  readonly pid?: number;
  /** Credentials per role, when the launcher made some (the discovery file lists them). */
  readonly credentials?: Readonly<Record<string, ClusterCredential>>;
}

/**
 * The nats-server command line: JetStream, loopback only, store under the data root.
 * (The one place to add a config file: `-c <file>`.)
 */
function natsServerArgs(storeDir: string, port: string, portsDir: string, security: ClusterSecurity): string[] {
  return ['-a', '127.0.0.1', '-p', port, '-m', '-1', '-js', '-sd', storeDir, '--ports_file_dir', portsDir, ...security.natsArgs];
}

/** Starts nats-server with JetStream on a free (or NATS_PORT) port; resolves with its client URL. */
async function startNats(root: string, security: ClusterSecurity): Promise<NatsEndpoint> {
  const bin = findNatsServer(env);
  if (!bin) fail(`nats-server is not installed: ${NATS_INSTALL_HINT}`);
  const storeDir = join(root, 'nats');
  mkdirSync(storeDir, { recursive: true });
  const portsDir = mkdtempSync(join(tmpdir(), 'crdt-cluster-ports-'));
  process.once('exit', () => rmSync(portsDir, { recursive: true, force: true }));
  const port = env.NATS_PORT ?? '-1';
  const nats = new Child('nats', bin, natsServerArgs(storeDir, port, portsDir, security), env, lineWriter('nats', 0));
  children.push(nats);
  const deadline = Date.now() + NATS_START_TIMEOUT_MS;
  while (Date.now() < deadline && nats.running) {
    const ports = nats.pid !== undefined ? readPortsFile(portsDir, nats.pid) : undefined;
    if (ports && (await portAccepts(ports.client))) {
      void nats.exited.then((e) => {
        if (!stopping) say(`nats-server exited (code ${e.code}, signal ${e.signal}); the apps will keep trying to reconnect`, { code: e.code, signal: e.signal }, 'warn');
      });
      return {
        url: `nats://127.0.0.1:${ports.client}`,
        monitoring: ports.monitoring ? `http://127.0.0.1:${ports.monitoring}` : undefined,
        pid: nats.pid,
        credentials: security.discovery(),
      };
    }
    await sleep(50);
  }
  await nats.stop(STOP_TIMEOUT_MS);
  fail(`nats-server did not start within ${NATS_START_TIMEOUT_MS} ms (see its lines above)${port !== '-1' ? `; is port ${port} free?` : ''}`);
}

/** Stops the apps, then nats-server; removes the discovery file and the lock. A second signal kills everything at once. */
async function shutdown(reason: string, code: number): Promise<never> {
  if (stopping) {
    for (const c of children) c.signal('SIGKILL');
    process.exit(code);
  }
  stopping = true;
  say(`${reason}: stopping (again to kill at once)`, { reason });
  if (dataRoot) removeClusterFile(dataRoot); // no client should find a cluster that is going away
  const apps = children.filter((c) => c.name !== 'nats');
  await Promise.all(apps.map((c) => c.stop(STOP_TIMEOUT_MS)));
  const nats = children.find((c) => c.name === 'nats');
  if (nats) await nats.stop(STOP_TIMEOUT_MS);
  lock?.release();
  say('stopped');
  process.exit(code);
}

/** One app the launcher starts: its name, entry script, environment and data directory. */
interface AppSpec {
  readonly name: string;
  readonly entry: string;
  readonly env: NodeJS.ProcessEnv;
  readonly dataDir?: string;
}

/**
 * The apps and their environment. Every app gets the launcher's environment plus the NATS
 * URL, prefix and stream; the coordinator its id; each replica its id and data directory.
 * (The one place to hand each app its own credentials.)
 */
function appSpecs(
  nats: NatsEndpoint,
  root: string,
  prefix: string,
  stream: string,
  replicas: number,
  entries: { replica: string; coordinator: string },
  security: ClusterSecurity | undefined,
): AppSpec[] {
  // Every app serves health and metrics (the coordinator also the dashboard) on a free
  // port (one fixed HTTP_PORT would clash between the apps); the URLs go into cluster.json.
  const common: NodeJS.ProcessEnv = { ...env, NATS_URL: nats.url, CRDT_PREFIX: prefix, CRDT_STREAM: stream, HTTP_PORT: '0' };
  return [
    { name: 'c1', entry: entries.coordinator, env: { ...common, COORDINATOR_ID: 'c1', ...security?.coordinatorEnv() } },
    ...Array.from({ length: replicas }, (_, i): AppSpec => {
      const id = `r${i + 1}`;
      const dataDir = join(root, id);
      return { name: id, entry: entries.replica, env: { ...common, REPLICA_ID: id, DATA_DIR: dataDir, ...security?.replicaEnv(id) }, dataDir };
    }),
  ];
}

async function main(): Promise<void> {
  const entries = { replica: join(root, 'dist/apps/replica/src/main.js'), coordinator: join(root, 'dist/apps/coordinator/src/main.js') };
  for (const path of Object.values(entries)) {
    if (!existsSync(path)) fail(`${relative(root, path)} is missing: build first with \`npm run build\` (npm start does) and run from the repository root`);
  }
  const replicas = Number(env.REPLICAS ?? 3);
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > REPLICAS_MAX) fail(`REPLICAS must be 1 to ${REPLICAS_MAX}`);
  const dataRootPath = resolve(env.DATA_ROOT ?? 'data');
  const prefix = env.CRDT_PREFIX || 'crdt';
  const stream = env.CRDT_STREAM || 'CRDT_OPS';

  // One launcher per data root (issue 8): the root holds nats-server's store and the
  // replicas' directories. A second `npm start` stops here, before it writes anything.
  try {
    lock = lockDataDir(dataRootPath, 'launcher (npm start)');
  } catch (e) {
    if (!isDataDirLockedError(e)) throw e;
    fail(`not started: ${e.message}`, { code: e.code, lockFile: e.lockFile, holderPid: e.holder?.pid ?? null });
  }
  dataRoot = dataRootPath;
  // A file left by a launcher that was killed outright names a cluster that is gone.
  removeClusterFile(dataRootPath);

  process.on('SIGINT', () => void shutdown('SIGINT', 0));
  process.on('SIGTERM', () => void shutdown('SIGTERM', 0));
  process.on('SIGHUP', () => void shutdown('SIGHUP', 0));
  // `npm start` may die without passing a signal on (SIGKILL): then this launcher would be
  // left running with parent 1. Stop with it.
  watchParent(() => void shutdown('the process that started the launcher is gone', 0));
  // Children run in their own process groups; never leave one behind, whatever happens here.
  process.on('exit', () => {
    for (const c of children) c.signal('SIGKILL');
    lock?.release();
  });

  let nats: NatsEndpoint;
  // Fresh credentials for the server started here; a NATS given by NATS_URL is used as it is.
  let security: ClusterSecurity | undefined;
  if (env.NATS_URL) {
    nats = { url: env.NATS_URL };
    say(`using NATS at ${nats.url} (NATS_URL is set; no nats-server started)`, { nats: nats.url });
  } else {
    security = prepareClusterSecurity(dataRootPath, Array.from({ length: replicas }, (_, i) => `r${i + 1}`), { prefix, streamName: stream }, env);
    nats = await startNats(dataRootPath, security);
    say(`access control on: each app has its own NATS user; credentials in ${relative(root, security.dir) || security.dir} (mode 0600)`, { security: security.dir });
    say(`nats-server with JetStream listens on ${nats.url} (data in ${relative(root, join(dataRootPath, 'nats')) || '.'}${nats.monitoring ? `, monitoring on ${nats.monitoring}` : ''})`, {
      nats: nats.url,
      monitoring: nats.monitoring,
    });
  }

  const specs = appSpecs(nats, dataRootPath, prefix, stream, replicas, entries, security);
  const startedAtMs = Date.now();
  const waiting = new Set(specs.map((s) => s.name));
  const httpUrls = new Map<string, string>();
  const apps = specs.map((s, i) => {
    const write = lineWriter(s.name, i + 1);
    const child = new Child(s.name, process.execPath, ['--enable-source-maps', s.entry], s.env, (line) => {
      write(line);
      const http = httpUrlOfLine(line);
      if (http) httpUrls.set(s.name, http);
      if (waiting.has(s.name) && isReadyLine(line)) {
        waiting.delete(s.name);
        if (waiting.size === 0 && !stopping) ready({ nats, prefix, stream, dataRoot: dataRootPath, specs, pids: appPids(), http: httpUrls }, Date.now() - startedAtMs);
      }
    });
    children.push(child);
    return child;
  });
  const appPids = () => new Map(apps.map((a) => [a.name, a.pid]));
  say(`started coordinator c1 and replicas ${specs.slice(1).map((s) => `${s.name} (data in ${relative(root, s.dataDir!)})`).join(', ')}; waiting for them to be ready`);

  setTimeout(() => {
    if (waiting.size > 0 && !stopping) say(`still waiting for ${[...waiting].join(', ')} to be ready after ${READY_WARN_MS / 1000} s; see their lines above`, { waiting: [...waiting] }, 'warn');
  }, READY_WARN_MS).unref();

  for (const app of apps) {
    void app.exited.then((e) => {
      if (stopping) return;
      say(`${app.name} exited (code ${e.code}, signal ${e.signal})`, { child: app.name, code: e.code, signal: e.signal }, 'warn');
      if (apps.every((a) => !a.running)) void shutdown('every app has exited', 1);
    });
  }
}

/** What the discovery file and the ready message tell. */
interface ReadyCluster {
  readonly nats: NatsEndpoint;
  readonly prefix: string;
  readonly stream: string;
  readonly dataRoot: string;
  readonly specs: readonly AppSpec[];
  readonly pids: ReadonlyMap<string, number | undefined>;
  /** Each app's HTTP base URL, from its `http listening` line. */
  readonly http: ReadonlyMap<string, string>;
}

/** Every app is ready: write the discovery file and tell how to reach the cluster. */
function ready(c: ReadyCluster, tookMs: number): void {
  const { nats, prefix, stream, dataRoot: root_ } = c;
  const replicas = c.specs.length - 1;
  const apps: Record<string, ClusterApp> = {};
  for (const s of c.specs) {
    const http = c.http.get(s.name);
    apps[s.name] = { pid: c.pids.get(s.name), ...(s.dataDir ? { dataDir: s.dataDir } : {}), ...(http ? { http } : {}) };
  }
  const file = writeClusterFile(root_, {
    v: 1,
    pid: process.pid,
    startedAt: new Date().toISOString(),
    prefix,
    stream,
    nats: { url: nats.url, ...(nats.monitoring ? { monitoring: nats.monitoring } : {}), ...(nats.pid ? { pid: nats.pid } : {}) },
    ...(nats.credentials ? { credentials: nats.credentials } : {}),
    apps,
  });
  const rel = relative(root, root_) || '.';
  const defaultRoot = resolve('data') === root_;
  const how = defaultRoot ? '' : `DATA_ROOT=${rel} `;
  say(`ready in ${tookMs} ms: coordinator c1 and ${replicas} replica${replicas === 1 ? '' : 's'} on ${nats.url} (subjects ${prefix}.*, data in ${rel})`, {
    readyMs: tookMs,
    nats: nats.url,
    prefix,
    dataRoot: root_,
    clusterFile: file,
  });
  say(`cluster file: ${relative(root, clusterFilePath(root_))} (crdtctl reads it when NATS_URL is not set)`);
  say(`try it:   ${how}npx crdtctl shell`);
  say(`          ${how}npx crdtctl status`);
  const dash = c.http.get('c1');
  if (dash) say(`dashboard: ${dash}/  (health: /health/ready, metrics: /metrics on every app's http in cluster.json)`, { dashboard: `${dash}/` });
  say('Ctrl-C stops everything');
}

main().catch((e: unknown) => {
  say(`failed: ${(e as Error)?.stack ?? e}`, {}, 'error');
  void shutdown('failure', 1);
});
