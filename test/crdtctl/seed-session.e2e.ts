import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { main } from '#app-crdtctl/main';
import { startApp, type AppHandle } from '#testing';
import { sleep, TestCluster } from '../support/cluster';

/**
 * crdtctl in seed 000's forms against a real cluster: nats-server with JetStream, three
 * replica processes and a coordinator (no scheduled rounds, so `sync` runs the only ones).
 */
describe('crdtctl seed session', () => {
  let cluster: TestCluster;
  let coordinator: AppHandle;
  let env: Record<string, string>;

  beforeAll(async () => {
    cluster = await TestCluster.start(['r1', 'r2', 'r3'], {}, 60_000);
    coordinator = startApp(
      'coordinator',
      { NATS_URL: cluster.nats.url, COORDINATOR_ID: 'c1', ROUND_INTERVAL_MS: '0', ROUND_OPLOG_THRESHOLD: '0', LEASE_MS: '1500' },
      { logDir: cluster.harness.logDir, name: `coordinator-c1-${Date.now()}` },
    );
    await coordinator.waitForLog((l) => l.msg === 'ready', 60_000);
    env = { NATS_URL: cluster.nats.url };
    // Wait until the coordinator leads, so that `sync` runs at once.
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const s = await run(['status', '--json']);
      if (s.code === 0 && /"isLeader":true/.test(s.out)) break;
      await sleep(200);
    }
  }, 150_000);
  afterAll(async () => {
    await coordinator?.stop(5_000).catch(() => undefined);
    await cluster?.stop();
  });

  async function run(argv: string[], stdinText?: string): Promise<{ code: number; out: string; err: string }> {
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = '';
    let err = '';
    stdout.on('data', (d) => (out += String(d)));
    stderr.on('data', (d) => (err += String(d)));
    if (stdinText !== undefined) stdin.end(stdinText);
    const code = await main(argv, env, { stdin, stdout, stderr });
    return { code, out, err };
  }

  it('crdtctl seed session - the shell takes the seed forms, and --replica talks to one replica', async () => {
    const script = [
      'create x',
      '+5 x',
      '-2 x',
      '3 x',
      'get x',
      'variables',
      'variables x',
      'history x',
      'before x',
      'sync x',
      'before x',
      '+1 x',
      'peers x',
      'status x',
      'missing',
      'missing x',
      'populate y',
      'put color blue',
      'get color',
      'update x {"type":"add","value":1}',
      'del color',
      'get color',
      'exit',
    ].join('\n');
    const r = await run(['shell'], `${script}\n`);
    console.log(`crdtctl shell session:\n${r.out}\n--- stderr ---\n${r.err}`);
    expect(r.code).toBe(0);
    expect(r.out).toContain('created x (pn-counter)');
    expect(r.out).toContain('x (pn-counter) = 6');
    expect(r.out).toMatch(/KEY +TYPE +VALUE\nx +pn-counter +6\n/); // `variables` before any other key
    expect(r.out).toMatch(/x \(pn-counter\): 4 events since round 0\/0/);
    expect(r.err).toContain('error NOT_FOUND: key "x" did not exist at the last compaction round (0/0)');
    expect(r.err).toContain('hint: `before KEY` shows the value fixed by the last compaction round; `sync` runs a round now');
    expect(r.out).toMatch(/round \d+\/1 committed \(manual\)/);
    expect(r.out).toMatch(/x \(pn-counter\) at round \d+\/1 = 6/);
    expect(r.out).toMatch(/REPLICA +VALUE OF x\nr1 +7\nr2 +7\nr3 +7/);
    expect(r.out).toMatch(/REPLICA +WAITING +MISSING\nr1 +0 +-\nr2 +0 +-\nr3 +0 +-/);
    expect(r.out).toMatch(/populate y: 1000 pn-counter ops in 2 batches/);
    expect(r.out).toContain('color (lww-register) = "blue"');
    expect(r.err).toContain('hint: a pn-counter takes {"type":"increment","by":1} or {"type":"decrement","by":1}');
    expect(r.out).toMatch(/deleted color \(lww-register\) as event r\d#\d+/);
    expect(r.err).toContain('error NOT_FOUND: key "color" does not exist');
    // Every error shows one hint, and no line says `usage: usage:`.
    expect(r.err).not.toContain('usage: usage:');
    const hints = r.err.split('\n').filter((l) => l.startsWith('hint:'));
    expect(new Set(hints).size).toBe(hints.length);

    const one = await run(['get', 'x', '--replica', 'r2', '--consistency', 'latest']);
    expect(one).toMatchObject({ code: 0, out: 'x (pn-counter) = 7\n' });
    const raw = await run(['req', 'crdt.replica.r3.get', '{"key":"x"}']);
    expect(JSON.parse(raw.out)).toMatchObject({ ok: true, key: 'x', value: 7 });
    const status = await run(['status', '--replica', 'r1']);
    expect(status.out).toMatch(/^replica r1: mode Work, 3 keys, last round \d+\/1/);
    const absent = await run(['get', 'x', '--replica', 'r9']);
    expect(absent.code).toBe(1);
  }, 120_000);
});
