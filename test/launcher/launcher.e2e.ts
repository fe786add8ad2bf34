import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, pollUntil, REPO_ROOT, type TempDir } from '#testing';
import type { ClusterFile } from '#runtime/cluster-file';

/**
 * `npm start` as a user runs it (real npm, real launcher, nats-server and app processes;
 * build first): it writes the discovery file when ready, crdtctl finds the cluster through
 * it without NATS_URL, LOG_FORMAT=json output is JSON and nothing else, a second launcher
 * on the same data root is refused, and a signal sent to the npm process alone (not its
 * group) stops every process and removes the file and the lock.
 */

interface Started {
  readonly npm: ChildProcess;
  readonly lines: string[];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `npm start` in its own process group, so that a signal to its pid reaches npm alone. */
function npmStart(dataRoot: string, extraEnv: Record<string, string> = {}): Started {
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_ROOT: dataRoot, REPLICAS: '1', LOG_FORMAT: 'json', ROUND_INTERVAL_MS: '0', ...extraEnv };
  delete env.NATS_URL;
  const npm = spawn('npm', ['start', '--silent'], { cwd: REPO_ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  for (const s of [npm.stdout!, npm.stderr!]) {
    let partial = '';
    s.setEncoding('utf8');
    s.on('data', (c: string) => {
      const parts = (partial + c).split('\n');
      partial = parts.pop()!;
      lines.push(...parts);
    });
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => npm.once('close', (code, signal) => r({ code, signal })));
  return { npm, lines, exited };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until<T>(what: string, f: () => T | undefined, timeoutMs: number, lines?: string[]): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`${what} not within ${timeoutMs} ms${lines ? `\n--- output ---\n${lines.slice(-30).join('\n')}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits for the discovery file; returns its content. */
function readyFile(dataRoot: string, s: Started): Promise<ClusterFile> {
  return until('cluster.json', () => (existsSync(join(dataRoot, 'cluster.json')) ? (JSON.parse(readFileSync(join(dataRoot, 'cluster.json'), 'utf8')) as ClusterFile) : undefined), 120_000, s.lines);
}

function allPids(f: ClusterFile): number[] {
  return [f.pid, f.nats.pid!, ...Object.values(f.apps).map((a) => a.pid!)];
}

/** Stops whatever is left (a failed test must not leave a cluster running). */
function killAll(f: ClusterFile | undefined, s: Started | undefined): void {
  for (const pid of f ? allPids(f) : []) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  if (s?.npm.pid) {
    try {
      process.kill(-s.npm.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

describe('npm start', () => {
  let dir: TempDir;
  let started: Started | undefined;
  let file: ClusterFile | undefined;
  beforeEach(() => {
    dir = makeTempDir('launcher');
    started = undefined;
    file = undefined;
  });
  afterEach(() => {
    killAll(file, started);
    dir.remove();
  });

  it('launcher - cluster.json when ready, crdtctl uses it, JSON-only output, a second launcher refused, SIGTERM to npm alone stops everything', async () => {
    const dataRoot = join(dir.path, 'data');
    const s = (started = npmStart(dataRoot));
    const f = (file = await readyFile(dataRoot, s));

    // The discovery file: 0600, the keys the issue names, the live processes.
    expect(statSync(join(dataRoot, 'cluster.json')).mode & 0o777).toBe(0o600);
    expect(f).toMatchObject({ v: 1, prefix: 'crdt', nats: { url: expect.stringMatching(/^nats:\/\/127\.0\.0\.1:\d+$/), monitoring: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/) } });
    expect(f.nats.url).not.toBe('nats://127.0.0.1:4222');
    expect(Object.keys(f.apps).sort()).toEqual(['c1', 'r1']);
    for (const pid of allPids(f)) expect(alive(pid)).toBe(true);
    // Each app's HTTP (HTTP_PORT=0 from the launcher) is in the file, and serves readiness.
    for (const [name, app] of Object.entries(f.apps)) {
      expect([name, app.http]).toEqual([name, expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/)]);
      const ready = await pollUntil(async () => (await fetch(`${app.http}/health/ready`, { signal: AbortSignal.timeout(20_000) })).status === 200, 60_000, 200);
      expect([name, ready]).toEqual([name, true]);
    }

    // crdtctl without NATS_URL finds this cluster (not the system NATS on 4222).
    const ctlEnv: NodeJS.ProcessEnv = { ...process.env, DATA_ROOT: dataRoot };
    delete ctlEnv.NATS_URL;
    const status = await until(
      'crdtctl status naming c1 as leader',
      () => {
        const r = spawnSync(process.execPath, [join(REPO_ROOT, 'bin/crdtctl.js'), 'status'], { cwd: REPO_ROOT, env: ctlEnv, encoding: 'utf8' });
        return r.status === 0 && r.stdout.includes('c1') ? r : undefined;
      },
      20_000,
    );
    expect(status.stdout).toContain('r1');

    // A second launcher on the same data root: refused at once, naming the lock and the holder.
    const dataBefore = readdirSync(dataRoot).sort();
    const second = spawnSync(process.execPath, [join(REPO_ROOT, 'dist/scripts/cluster.js')], { cwd: REPO_ROOT, env: { ...process.env, DATA_ROOT: dataRoot, LOG_FORMAT: 'json', NATS_URL: '' }, encoding: 'utf8', timeout: 20_000 });
    expect(second.status).toBe(1);
    const refusal = JSON.parse(second.stderr.trim().split('\n').pop()!) as Record<string, unknown>;
    expect(refusal).toMatchObject({ level: 'error', app: 'cluster', code: 'DATA_DIR_LOCKED', lockFile: join(dataRoot, 'crdt.lock'), holderPid: f.pid });
    expect(String(refusal.msg)).toContain(`pid ${f.pid}`);
    expect(second.stdout).toBe(''); // it started nothing
    expect(readdirSync(dataRoot).sort()).toEqual(dataBefore);
    expect(JSON.parse(readFileSync(join(dataRoot, 'cluster.json'), 'utf8'))).toEqual(f);

    // SIGTERM to the npm process only (it runs in its own group; nobody else is signalled).
    process.kill(s.npm.pid!, 'SIGTERM');
    await until('every process of the cluster to exit', () => allPids(f).every((p) => !alive(p)), 30_000, s.lines);
    await s.exited;
    expect(existsSync(join(dataRoot, 'cluster.json'))).toBe(false);
    expect(existsSync(join(dataRoot, 'crdt.lock'))).toBe(false);

    // LOG_FORMAT=json: every line of the whole run parses as one JSON object.
    const out = s.lines.filter((l) => l !== '');
    expect(out.length).toBeGreaterThan(10);
    for (const l of out) {
      let v: unknown;
      expect(() => (v = JSON.parse(l))).not.toThrow();
      expect(typeof v === 'object' && v !== null && !Array.isArray(v)).toBe(true);
    }
    expect(out.some((l) => l.includes('"app":"nats"'))).toBe(true);
    expect(out.some((l) => l.includes('"msg":"shutdown requested"') && l.includes('"replica":"r1"'))).toBe(true);
  }, 180_000);

  it('launcher - SIGINT to the npm process alone stops everything too', async () => {
    const dataRoot = join(dir.path, 'data');
    const s = (started = npmStart(dataRoot));
    const f = (file = await readyFile(dataRoot, s));
    process.kill(s.npm.pid!, 'SIGINT');
    await until('every process of the cluster to exit', () => allPids(f).every((p) => !alive(p)), 30_000, s.lines);
    expect(existsSync(join(dataRoot, 'cluster.json'))).toBe(false);
    expect(existsSync(join(dataRoot, 'crdt.lock'))).toBe(false);
  }, 180_000);

  it('launcher - when npm is killed outright (SIGKILL), the launcher notices and stops the cluster', async () => {
    const dataRoot = join(dir.path, 'data');
    const s = (started = npmStart(dataRoot));
    const f = (file = await readyFile(dataRoot, s));
    process.kill(s.npm.pid!, 'SIGKILL');
    await until('every process of the cluster to exit', () => allPids(f).every((p) => !alive(p)), 30_000);
    expect(existsSync(join(dataRoot, 'cluster.json'))).toBe(false);
  }, 180_000);
});
