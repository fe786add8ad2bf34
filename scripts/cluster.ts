/**
 * `npm start`: the whole cluster on one machine. Starts nats-server with JetStream (unless
 * NATS_URL points at one already), the coordinator and three replicas as child processes,
 * prefixes their log lines with their names, tells where everything listens and how to
 * reach it with crdtctl, and on Ctrl-C stops the apps (SIGTERM, SIGKILL after a bound)
 * and then nats-server.
 *
 * Environment: NATS_URL (use this NATS instead of starting one), NATS_PORT (client port
 * of the started server; default a free one), CRDT_PREFIX (default crdt), CRDT_STREAM
 * (default CRDT_OPS), REPLICAS (1..9, default 3), DATA_ROOT (default ./data),
 * LOG_FORMAT=json (print the apps' JSON lines as they are), NATS_SERVER_BIN,
 * NATS_SERVER_TLS_CERT + NATS_SERVER_TLS_KEY (the started server takes TLS only; give the
 * apps NATS_TLS_CA). The started server enforces fresh credentials (launcher/cluster-security.ts).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { Child } from './launcher/child';
import { formatChildLine, isReadyLine } from './launcher/log-format';
import { prepareClusterSecurity, type ClusterSecurity } from './launcher/cluster-security';
import { findNatsServer, NATS_INSTALL_HINT, portAccepts, readPortsFile } from './launcher/nats-server';

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
const tty = process.stdout.isTTY === true;
const children: Child[] = [];
let stopping = false;

function say(msg: string): void {
  process.stdout.write(`${tty ? '\x1b[1m' : ''}cluster | ${msg}${tty ? '\x1b[0m' : ''}\n`);
}

function fail(msg: string): never {
  process.stderr.write(`cluster | ${msg}\n`);
  process.exit(1);
}

function lineWriter(name: string, index: number): (line: string) => void {
  const fmt = { nameWidth: 7, color: tty ? COLORS[index % COLORS.length] : undefined, raw: env.LOG_FORMAT === 'json' };
  return (line) => process.stdout.write(`${formatChildLine(name, line, fmt)}\n`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Starts nats-server with JetStream on a free (or NATS_PORT) port; resolves with its client URL. */
async function startNats(dataDir: string, security: ClusterSecurity): Promise<{ url: string; monitoring?: string }> {
  const bin = findNatsServer(env);
  if (!bin) fail(`nats-server is not installed: ${NATS_INSTALL_HINT}`);
  const storeDir = join(dataDir, 'nats');
  mkdirSync(storeDir, { recursive: true });
  const portsDir = mkdtempSync(join(tmpdir(), 'crdt-cluster-ports-'));
  process.once('exit', () => rmSync(portsDir, { recursive: true, force: true }));
  const port = env.NATS_PORT ?? '-1';
  const nats = new Child('nats', bin, ['-a', '127.0.0.1', '-p', port, '-m', '-1', '-js', '-sd', storeDir, '--ports_file_dir', portsDir, ...security.natsArgs], env, lineWriter('nats', 0));
  children.push(nats);
  const deadline = Date.now() + NATS_START_TIMEOUT_MS;
  while (Date.now() < deadline && nats.running) {
    const ports = nats.pid !== undefined ? readPortsFile(portsDir, nats.pid) : undefined;
    if (ports && (await portAccepts(ports.client))) {
      void nats.exited.then((e) => {
        if (!stopping) say(`nats-server exited (code ${e.code}, signal ${e.signal}); the apps will keep trying to reconnect`);
      });
      return { url: `nats://127.0.0.1:${ports.client}`, monitoring: ports.monitoring ? `http://127.0.0.1:${ports.monitoring}` : undefined };
    }
    await sleep(50);
  }
  await nats.stop(STOP_TIMEOUT_MS);
  fail(`nats-server did not start within ${NATS_START_TIMEOUT_MS} ms (see its lines above)${port !== '-1' ? `; is port ${port} free?` : ''}`);
}

/** Stops the apps, then nats-server; a second signal kills everything at once. */
async function shutdown(reason: string, code: number): Promise<never> {
  if (stopping) {
    for (const c of children) c.signal('SIGKILL');
    process.exit(code);
  }
  stopping = true;
  say(`${reason}: stopping (again to kill at once)`);
  const apps = children.filter((c) => c.name !== 'nats');
  await Promise.all(apps.map((c) => c.stop(STOP_TIMEOUT_MS)));
  const nats = children.find((c) => c.name === 'nats');
  if (nats) await nats.stop(STOP_TIMEOUT_MS);
  say('stopped');
  process.exit(code);
}

async function main(): Promise<void> {
  const entries = { replica: join(root, 'dist/apps/replica/src/main.js'), coordinator: join(root, 'dist/apps/coordinator/src/main.js') };
  for (const path of Object.values(entries)) {
    if (!existsSync(path)) fail(`${relative(root, path)} is missing: build first with \`npm run build\` (npm start does) and run from the repository root`);
  }
  const replicas = Number(env.REPLICAS ?? 3);
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > REPLICAS_MAX) fail(`REPLICAS must be 1 to ${REPLICAS_MAX}`);
  const dataRoot = resolve(env.DATA_ROOT ?? 'data');
  const prefix = env.CRDT_PREFIX || 'crdt';
  const stream = env.CRDT_STREAM || 'CRDT_OPS';

  process.on('SIGINT', () => void shutdown('Ctrl-C', 0));
  process.on('SIGTERM', () => void shutdown('SIGTERM', 0));
  // Children run in their own process groups; never leave one behind, whatever happens here.
  process.on('exit', () => {
    for (const c of children) c.signal('SIGKILL');
  });

  let natsUrl = env.NATS_URL;
  let monitoring: string | undefined;
  // Fresh credentials for the server started here; a NATS given by NATS_URL is used as it is.
  let security: ClusterSecurity | undefined;
  if (natsUrl) {
    say(`using NATS at ${natsUrl} (NATS_URL is set; no nats-server started)`);
  } else {
    security = prepareClusterSecurity(dataRoot, Array.from({ length: replicas }, (_, i) => `r${i + 1}`), { prefix, streamName: stream }, env);
    ({ url: natsUrl, monitoring } = await startNats(dataRoot, security));
    say(`access control on: each app has its own NATS user; credentials in ${relative(root, security.dir) || security.dir} (mode 0600)`);
    say(`nats-server with JetStream listens on ${natsUrl} (data in ${relative(root, join(dataRoot, 'nats')) || '.'}${monitoring ? `, monitoring on ${monitoring}` : ''})`);
  }

  const appEnv = { ...env, NATS_URL: natsUrl, CRDT_PREFIX: prefix, CRDT_STREAM: stream };
  const specs = [
    { name: 'c1', entry: entries.coordinator, env: { ...appEnv, COORDINATOR_ID: 'c1', ...security?.coordinatorEnv() } as NodeJS.ProcessEnv, dataDir: undefined as string | undefined },
    ...Array.from({ length: replicas }, (_, i) => {
      const id = `r${i + 1}`;
      const dataDir = join(dataRoot, id);
      mkdirSync(dataDir, { recursive: true });
      return { name: id, entry: entries.replica, env: { ...appEnv, REPLICA_ID: id, DATA_DIR: dataDir, ...security?.replicaEnv(id) } as NodeJS.ProcessEnv, dataDir };
    }),
  ];
  const started = Date.now();
  const waiting = new Set(specs.map((s) => s.name));
  const apps = specs.map((s, i) => {
    const write = lineWriter(s.name, i + 1);
    const child = new Child(s.name, process.execPath, ['--enable-source-maps', s.entry], s.env, (line) => {
      write(line);
      if (waiting.has(s.name) && isReadyLine(line)) {
        waiting.delete(s.name);
        if (waiting.size === 0) announce(natsUrl!, prefix, replicas, dataRoot, Date.now() - started, security);
      }
    });
    children.push(child);
    return child;
  });
  say(`started coordinator c1 and replicas ${specs.slice(1).map((s) => `${s.name} (data in ${relative(root, s.dataDir!)})`).join(', ')}; waiting for them to be ready`);

  setTimeout(() => {
    if (waiting.size > 0 && !stopping) say(`still waiting for ${[...waiting].join(', ')} to be ready after ${READY_WARN_MS / 1000} s; see their lines above`);
  }, READY_WARN_MS).unref();

  for (const app of apps) {
    void app.exited.then((e) => {
      if (stopping) return;
      say(`${app.name} exited (code ${e.code}, signal ${e.signal})`);
      if (apps.every((a) => !a.running)) void shutdown('every app has exited', 1);
    });
  }
}

function announce(natsUrl: string, prefix: string, replicas: number, dataRoot: string, tookMs: number, security?: ClusterSecurity): void {
  const urlEnv = `${natsUrl === 'nats://127.0.0.1:4222' ? '' : `NATS_URL=${natsUrl} `}${security ? `${security.crdtctlEnv(root)} ` : ''}`;
  const prefixEnv = prefix === 'crdt' ? '' : `CRDT_PREFIX=${prefix} `;
  say(`ready in ${tookMs} ms: coordinator c1 and ${replicas} replica${replicas === 1 ? '' : 's'} on ${natsUrl} (subjects ${prefix}.*, data in ${relative(root, dataRoot) || '.'})`);
  say(`try it:   ${urlEnv}${prefixEnv}npx crdtctl shell`);
  say(`          ${urlEnv}${prefixEnv}npx crdtctl status`);
  say('Ctrl-C stops everything');
}

main().catch((e: unknown) => {
  process.stderr.write(`cluster | failed: ${(e as Error)?.stack ?? e}\n`);
  void shutdown('failure', 1);
});
