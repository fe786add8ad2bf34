import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '#testing';
import { TestCluster } from '../support/cluster';

/**
 * crdtctl's strong writes and linearizable reads (docs/protocol.md §17) against a real
 * cluster: one nats-server with JetStream (an op stream with one replica, where strong
 * writes are on), three replica processes, and crdtctl itself as a process
 * (`node bin/crdtctl.js`, the built CLI), so the exit codes are the process's own.
 */

interface Run {
  readonly line: string;
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** Longest one crdtctl process may take, ms (its own request timeout is 10 s). */
const CRDTCTL_RUN_MS_MAX = 30_000;

describe('crdtctl strong consistency', () => {
  let cluster: TestCluster;
  /** The session as run, for the log: each command line and what it printed. */
  const session: string[] = [];

  beforeAll(async () => {
    cluster = await TestCluster.start(['r1', 'r2', 'r3'], {}, 60_000);
    // A replica right after its start may refuse writes for a moment (UNAVAILABLE, CLOCK_SKEW): wait until each takes one.
    for (const id of ['r1', 'r2', 'r3']) await cluster.okWhenReady('update', { key: `warm.${id}`, type: 'pn-counter', op: { type: 'increment' } }, id, 30_000);
  }, 150_000);
  afterAll(async () => {
    console.log(`crdtctl strong session:\n${session.join('\n')}`);
    await cluster?.stop();
  });

  /** Runs `crdtctl ARGS` as a process against the cluster; `stdinText` feeds the shell. */
  function crdtctl(args: readonly string[], stdinText?: string): Promise<Run> {
    const line = `$ crdtctl ${args.map((a) => (/^[\w.=:+-]+$/.test(a) ? a : `'${a}'`)).join(' ')}`;
    return new Promise((resolve, reject) => {
      // Only what crdtctl needs: no credentials or cluster file of the machine it runs on.
      const env = { PATH: process.env.PATH ?? '', NATS_URL: cluster.nats.url, DATA_ROOT: join(REPO_ROOT, 'no-such-data-root') };
      const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'crdtctl.js'), ...args], { cwd: REPO_ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => (out += String(d)));
      child.stderr.on('data', (d) => (err += String(d)));
      const timer = setTimeout(() => child.kill('SIGKILL'), CRDTCTL_RUN_MS_MAX);
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        session.push(line, ...(stdinText !== undefined ? [`  (stdin: ${JSON.stringify(stdinText)})`] : []), ...`${out}${err}`.split('\n').filter((l) => l !== ''), `(exit ${code ?? signal})`);
        resolve({ line, code: code ?? -1, out, err });
      });
      child.stdin.end(stdinText ?? '');
    });
  }

  /** The revision in a strong write's or linearizable read's line. */
  function revisionIn(text: string): number {
    const m = / at revision (\d+)/.exec(text);
    if (!m) throw new Error(`no revision in ${JSON.stringify(text)}`);
    return Number(m[1]);
  }

  it('crdtctl strong - a strong put names its revision, a compare-and-set at it wins, one at the old revision gets CONFLICT naming the current one, and a linearizable get shows the latest', async () => {
    const first = await crdtctl(['put', 'cfg.mode', 'blue', '--consistency', 'strong', '--replica', 'r1']);
    expect(first).toMatchObject({ code: 0, err: '' });
    expect(first.out).toMatch(/^updated cfg\.mode \(lww-register\) as event r1#\d+ at revision \d+\n$/);
    const n = revisionIn(first.out);
    expect(n).toBeGreaterThan(0);

    const cas = await crdtctl(['put', 'cfg.mode', 'green', '--consistency', 'strong', '--expect', String(n), '--replica', 'r2']);
    expect(cas).toMatchObject({ code: 0, err: '' });
    expect(cas.out).toMatch(/^updated cfg\.mode \(lww-register\) as event r2#\d+ at revision \d+\n$/);
    const m = revisionIn(cas.out);
    expect(m).toBeGreaterThan(n);

    // The same compare-and-set again, at the old revision, from a third replica: refused, nothing applied.
    const stale = await crdtctl(['put', 'cfg.mode', 'red', '--consistency', 'strong', '--expect', String(n), '--replica', 'r3']);
    expect(stale.code).toBe(1);
    expect(stale.out).toBe('');
    expect(stale.err).toBe(
      `error CONFLICT: key "cfg.mode" is at revision ${m}, not ${n}; nothing was applied\n` +
        `hint: another strong write came first; read it (\`get cfg.mode --consistency linearizable\`) and, if yours still applies, send it with --expect ${m}\n`,
    );

    // Read linearizably from the replica that lost: it shows the winner, at its revision.
    const read = await crdtctl(['get', 'cfg.mode', '--consistency', 'linearizable', '--replica', 'r3']);
    expect(read).toMatchObject({ code: 0, out: `cfg.mode (lww-register) at revision ${m} = "green"\n`, err: '' });
    // Any replica, by the api subject.
    expect(await crdtctl(['get', 'cfg.mode', '--consistency', 'linearizable'])).toMatchObject({ code: 0, out: `cfg.mode (lww-register) at revision ${m} = "green"\n` });

    // A strong delete is a compare-and-set too: at the old revision it deletes nothing; at the current one the key is gone everywhere.
    const staleDel = await crdtctl(['del', 'cfg.mode', '--consistency', 'strong', '--expect', String(n), '--replica', 'r1']);
    expect(staleDel).toMatchObject({ code: 1, out: '' });
    expect(staleDel.err).toMatch(new RegExp(`^error CONFLICT: key "cfg\\.mode" is at revision ${m}, not ${n}; nothing was applied\n`));
    const del = await crdtctl(['del', 'cfg.mode', '--consistency', 'strong', '--expect', String(m), '--replica', 'r1']);
    expect(del).toMatchObject({ code: 0, err: '' });
    expect(del.out).toMatch(/^deleted cfg\.mode \(lww-register\) as event r1#\d+ at revision \d+; /);
    expect(revisionIn(del.out)).toBeGreaterThan(m);
    const gone = await crdtctl(['get', 'cfg.mode', '--consistency', 'linearizable', '--replica', 'r2']);
    expect(gone.code).toBe(1);
    expect(gone.err).toMatch(/^error NOT_FOUND: key "cfg\.mode" does not exist/);
  }, 120_000);

  it('crdtctl strong - --json shows the replies as they are; --after and --timeout work with strong writes and linearizable reads', async () => {
    const w = await crdtctl(['put', 'cfg.json', '{"a":1}', '--consistency', 'strong', '--json']);
    expect(w.code).toBe(0);
    const written = JSON.parse(w.out) as { ok: boolean; revision: number; token: string; type: string };
    expect(written).toMatchObject({ ok: true, key: 'cfg.json', type: 'lww-register', revision: expect.any(Number), token: expect.any(String) });

    const u = await crdtctl(['update', 'cfg.json', '{"type":"set","value":{"a":2}}', '--consistency', 'strong', '--expect', String(written.revision), '--after', written.token, '--timeout', '8000', '--replica', 'r2']);
    expect(u.code).toBe(0);
    const rev = revisionIn(u.out);
    expect(rev).toBeGreaterThan(written.revision);

    const c = await crdtctl(['update', 'cfg.json', '{"type":"set","value":{"a":3}}', '--consistency', 'strong', '--expect', String(written.revision), '--json', '--replica', 'r1']);
    expect(c.code).toBe(1);
    expect(JSON.parse(c.out)).toEqual({ ok: false, error: { code: 'CONFLICT', message: expect.stringContaining(`revision ${rev}`) }, revision: rev });

    const g = await crdtctl(['get', 'cfg.json', '--consistency', 'linearizable', '--json', '--after', written.token, '--timeout', '8000', '--replica', 'r3']);
    expect(g.code).toBe(0);
    expect(JSON.parse(g.out)).toMatchObject({ ok: true, key: 'cfg.json', type: 'lww-register', value: { a: 2 }, revision: rev });
  }, 120_000);

  it('crdtctl strong - the shell takes the same flags; usage errors exit 2 and a counter refuses strong writes', async () => {
    const sh = await crdtctl(['shell'], ['put cfg.shell one --consistency strong', 'get cfg.shell --consistency linearizable', 'put cfg.shell two --consistency strong --expect 0', 'exit'].join('\n') + '\n');
    expect(sh.code).toBe(0);
    const [put, get] = sh.out.trim().split('\n');
    expect(put).toMatch(/^updated cfg\.shell \(lww-register\) as event r\d#\d+ at revision \d+$/);
    expect(get).toBe(`cfg.shell (lww-register) at revision ${revisionIn(put)} = "one"`);
    expect(sh.err).toMatch(new RegExp(`^error CONFLICT: key "cfg\\.shell" is at revision ${revisionIn(put)}, not 0; nothing was applied\n`));

    const usage = await crdtctl(['put', 'cfg.mode', 'x', '--expect', '3']);
    expect(usage).toMatchObject({ code: 2, out: '', err: '--expect N (a compare-and-set) needs --consistency strong\nsee `crdtctl help`\n' });

    expect((await crdtctl(['+1', 'hits', '--replica', 'r1'])).code).toBe(0);
    const counter = await crdtctl(['update', 'hits', '{"type":"increment","by":1}', '--consistency', 'strong', '--replica', 'r1']);
    expect(counter.code).toBe(1);
    expect(counter.err).toMatch(/^error STRONG_UNSUPPORTED: .*\nhint: only lww-register keys/);
  }, 120_000);
});
