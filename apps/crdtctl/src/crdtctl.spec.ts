import { PassThrough } from 'node:stream';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectClient, startNatsServer, type NatsServerHandle } from '#testing';
import { EXIT } from './command';
import { main } from './main';

/**
 * crdtctl end to end over a real nats-server. The replicas and the coordinator are stood
 * in for by small responders on the protocol's subjects, so these tests pin the CLI's
 * requests, output and exit codes without a running cluster.
 */

interface Run {
  code: number;
  out: string;
  err: string;
}

async function run(argv: string[], env: Record<string, string>, stdinText?: string, signal?: AbortSignal): Promise<Run> {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => (out += String(d)));
  stderr.on('data', (d) => (err += String(d)));
  if (stdinText !== undefined) stdin.end(stdinText);
  const code = await main(argv, env, { stdin, stdout, stderr, signal });
  return { code, out, err };
}

describe('crdtctl over NATS', () => {
  let server: NatsServerHandle;
  let nc: NatsConnection;
  let env: Record<string, string>;
  /** Requests the stub replica got: [command, body]. */
  let seen: Array<[string, Record<string, unknown>]>;
  let counter: number;

  beforeAll(async () => {
    server = await startNatsServer({ jetstream: false });
    nc = await connectClient(server.url);
  });
  afterAll(async () => {
    await nc.close();
    await server.dispose();
  });
  beforeEach(() => {
    env = { NATS_URL: server.url, CRDT_PREFIX: `t${Math.random().toString(36).slice(2, 8)}` };
    seen = [];
    counter = 0;
  });

  /** A stub replica: a pn-counter store of one key `x`, on `<prefix>.api.*`. */
  function stubReplica(): () => void {
    const sub = nc.subscribe(`${env.CRDT_PREFIX}.api.*`, {
      queue: 'replicas',
      callback: (_e, m) => {
        const command = m.subject.split('.').pop()!;
        const body = m.json<Record<string, unknown>>();
        seen.push([command, body]);
        const token = `v1.t${seen.length}`;
        if (command === 'update') {
          const ops = (body.ops ?? [body.op]) as Array<{ type: string; by: number }>;
          for (const op of ops) counter += op.type === 'increment' ? op.by : -op.by;
          m.respond(JSON.stringify({ ok: true, key: body.key, type: 'pn-counter', seq: seen.length, token }));
        } else if (command === 'get' && body.key === 'x') {
          m.respond(JSON.stringify({ ok: true, key: 'x', type: 'pn-counter', value: counter, token }));
        } else if (command === 'keys') {
          m.respond(JSON.stringify({ ok: true, keys: [{ key: 'x', type: 'pn-counter' }], truncated: false }));
        } else {
          m.respond(JSON.stringify({ ok: false, error: { code: 'NOT_FOUND', message: `key ${JSON.stringify(body.key)} does not exist` } }));
        }
      },
    });
    return () => sub.unsubscribe();
  }

  it('crdtctl - exits 3 with a hint when NATS cannot be reached', async () => {
    const r = await run(['get', 'x'], { NATS_URL: 'nats://127.0.0.1:1' });
    expect(r.code).toBe(EXIT.UNREACHABLE);
    expect(r.err).toMatch(/cannot reach NATS at nats:\/\/127.0.0.1:1/);
    expect(r.err).toMatch(/npm start/);
  });

  it('crdtctl - exits 1 with the no-responders hint when no replica runs', async () => {
    const r = await run(['get', 'x'], env);
    expect(r.code).toBe(EXIT.ERROR);
    expect(r.err).toContain(`error: no replica answers on ${env.CRDT_PREFIX}.api.*`);
    expect(r.err).toContain('hint: is the cluster running? try `npm start`');
  });

  it('crdtctl - exits 2 on a usage error without connecting', async () => {
    const r = await run(['update', 'x', 'nonsense'], { NATS_URL: 'nats://127.0.0.1:1' });
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.err).toMatch(/OP_JSON is not JSON/);
  });

  it('crdtctl - get, update and error replies', async () => {
    const stop = stubReplica();
    try {
      let r = await run(['update', 'x', '{"type":"increment","by":4}', '--type', 'pn-counter', '--ack', 'stream'], env);
      expect(r).toMatchObject({ code: 0, out: 'updated x (pn-counter) as event #1, acknowledged by the stream\n' });
      expect(seen[0]).toEqual(['update', { key: 'x', op: { type: 'increment', by: 4 }, type: 'pn-counter', ack: 'stream' }]);
      r = await run(['get', 'x'], env);
      expect(r).toMatchObject({ code: 0, out: 'x (pn-counter) = 4\n' });
      r = await run(['get', 'x', '--json'], env);
      expect(JSON.parse(r.out)).toMatchObject({ ok: true, value: 4 });
      r = await run(['get', 'nope'], env);
      expect(r.code).toBe(EXIT.ERROR);
      expect(r.err).toMatch(/^error NOT_FOUND: key "nope" does not exist\nhint: create it first/);
    } finally {
      stop();
    }
  });

  it('crdtctl - a strong write sends consistency and expect; with no reply in time it says the outcome is unknown, not "retry"', async () => {
    // A replica that takes the request and never answers (as one whose stream has not said whether it stored the write).
    const sub = nc.subscribe(`${env.CRDT_PREFIX}.api.update`, { callback: (_e, m) => void seen.push(['update', m.json<Record<string, unknown>>()]) });
    try {
      const r = await run(['put', 'cfg.mode', 'green', '--consistency', 'strong', '--expect', '4', '--timeout', '200'], env);
      expect(seen).toEqual([['update', { key: 'cfg.mode', op: { type: 'set', value: 'green' }, type: 'lww-register', consistency: 'strong', expect: 4 }]]);
      expect(r.code).toBe(EXIT.ERROR);
      expect(r.out).toBe('');
      expect(r.err).toMatch(/^error: no reply on t\w+\.api\.update within 200 ms\nhint: the strong write may or may not take effect: `get cfg\.mode --consistency linearizable` tells which/);
      // An eventual write keeps the plain hint.
      const e = await run(['put', 'cfg.mode', 'green', '--timeout', '200'], env);
      expect(e.err).toMatch(/hint: the replica may be busy, paused or cut off; retry, or raise --timeout/);
    } finally {
      sub.unsubscribe();
    }
  });

  it('crdtctl - the shell takes short forms and reads its own writes', async () => {
    const stop = stubReplica();
    try {
      const r = await run(['shell'], env, '+5 x\n-2 x\nget x\nbogus\nvariables\nexit\n');
      expect(r.code).toBe(EXIT.OK);
      expect(r.out).toContain('x (pn-counter) = 3');
      expect(r.out).toMatch(/KEY +TYPE +VALUE\nx +pn-counter +3/);
      expect(r.err).toMatch(/unknown command "bogus"/);
      expect(seen[0]).toEqual(['update', { key: 'x', op: { type: 'increment', by: 5 }, type: 'pn-counter' }]);
      // Later requests wait for the token of the shell's last write.
      expect(seen[1]).toEqual(['update', { key: 'x', op: { type: 'decrement', by: 2 }, type: 'pn-counter', after: 'v1.t1' }]);
      expect(seen[2]).toEqual(['get', { key: 'x', after: 'v1.t2' }]);
    } finally {
      stop();
    }
  });

  it('crdtctl - the shell leaves when its stop signal fires (SIGTERM of a container whose main process it is)', async () => {
    const stop = stubReplica();
    try {
      const ctl = new AbortController();
      // stdin stays open: only the signal can end this shell.
      const stdin = new PassThrough();
      const stdout = new PassThrough();
      let out = '';
      stdout.on('data', (d) => (out += String(d)));
      const done = main(['shell'], env, { stdin, stdout, stderr: new PassThrough(), signal: ctl.signal });
      stdin.write('+5 x\n');
      while (!out.includes('updated x')) await new Promise((r) => setTimeout(r, 10));
      ctl.abort();
      await expect(done).resolves.toBe(EXIT.OK);
      expect(seen.map(([c]) => c)).toEqual(['update']);
    } finally {
      stop();
    }
  });

  it('crdtctl - populate sends batches of at most 500 ops and reports the value', async () => {
    const stop = stubReplica();
    try {
      const r = await run(['populate', 'x', '--count', '1201'], env);
      expect(r.code).toBe(EXIT.OK);
      const updates = seen.filter(([c]) => c === 'update').map(([, b]) => (b.ops as unknown[]).length);
      expect(updates).toEqual([500, 500, 201]);
      expect(seen.filter(([c]) => c === 'update').every(([, b]) => b.type === 'pn-counter')).toBe(true);
      expect(r.out).toMatch(/^populate x: 1201 pn-counter ops in 3 batches, \d+ ms \(\d+ ops\/s\)\nx = -?\d+\n$/);
      expect(r.out).toContain(`x = ${counter}`);
    } finally {
      stop();
    }
  });

  it('crdtctl - status falls back to heartbeats when no coordinator answers', async () => {
    const beat = (replica: string, applied: Record<string, number>) =>
      JSON.stringify({ v: 1, replica, mode: 'Work', applied, opLogLength: 7, outboxDepth: 0, streamSeq: 9, keys: 1, epoch: 1, round: 2, sentMs: Date.now() });
    const timer = setInterval(() => {
      nc.publish(`${env.CRDT_PREFIX}.heartbeat`, beat('r1', { r1: 5 }));
      nc.publish(`${env.CRDT_PREFIX}.heartbeat`, beat('r2', { r1: 3 }));
    }, 100);
    try {
      const r = await run(['status'], env);
      expect(r.code).toBe(EXIT.OK);
      expect(r.out).toMatch(/no coordinator answered/);
      expect(r.out).toMatch(/r1 +Work +0 +7/);
      expect(r.out).toMatch(/r2 +Work +2 +7/);
      const peers = await run(['peers'], env);
      expect(peers.out).toMatch(/r1 +Work/);
    } finally {
      clearInterval(timer);
    }
    const none = await run(['status'], env);
    expect(none.code).toBe(EXIT.ERROR);
    expect(none.err).toMatch(/no coordinator answers .* and no replica heartbeats/);
  });

  it('crdtctl - sync prints each phase as it happens, then the result', async () => {
    const base = { v: 1, coordinator: 'c1', epoch: 1, round: 1 };
    const result = { ...base, outcome: 'committed', trigger: 'manual', members: ['r1'], cut: {}, timings: { freezeMs: 1, cutMs: 2, commitMs: 3, totalMs: 9, writesHeldMs: 8 }, startedAtMs: Date.now(), coordinator: 'c1' };
    const sub = nc.subscribe(`${env.CRDT_PREFIX}.coordinator.sync`, {
      callback: (_e, m) => {
        for (const phase of ['started', 'frozen', 'cut', 'committed', 'resumed']) {
          nc.publish(`${env.CRDT_PREFIX}.rounds.events`, JSON.stringify({ ...base, phase, atMs: Date.now() }));
        }
        nc.publish(`${env.CRDT_PREFIX}.rounds.events`, JSON.stringify({ ...base, phase: 'done', atMs: Date.now(), result }));
        m.respond(JSON.stringify({ ok: true, result }));
      },
    });
    try {
      const r = await run(['sync'], env);
      expect(r.code).toBe(EXIT.OK);
      const phases = r.out.split('\n').filter((l) => l.startsWith('+')).map((l) => /round 1\/1 (\w+)/.exec(l)?.[1]);
      expect(phases).toEqual(['started', 'frozen', 'cut', 'committed', 'resumed', 'done']);
      expect(r.out).toMatch(/round 1\/1 committed \(manual\) in 9 ms/);
    } finally {
      sub.unsubscribe();
    }
    const noCoordinator = await run(['sync'], env);
    expect(noCoordinator.code).toBe(EXIT.ERROR);
    expect(noCoordinator.err).toContain(`no coordinator answers on ${env.CRDT_PREFIX}.coordinator.*`);
  });

  it('crdtctl - watch prints change notices until stopped', async () => {
    const ctl = new AbortController();
    const running = run(['watch'], { ...env }, undefined, ctl.signal);
    await new Promise((r) => setTimeout(r, 300));
    // Each replica announces the change it applied; watch shows it once.
    for (let i = 0; i < 3; i++) nc.publish(`${env.CRDT_PREFIX}.changes.x`, JSON.stringify({ key: 'x', type: 'pn-counter', origin: 'r1', seq: 7 }));
    nc.publish(`${env.CRDT_PREFIX}.changes.y`, JSON.stringify({ key: 'y', type: 'or-set', origin: 'r2', seq: 1 }));
    await nc.flush();
    await new Promise((r) => setTimeout(r, 200));
    ctl.abort();
    const r = await running;
    expect(r.code).toBe(EXIT.OK);
    const lines = r.out.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} {2}x \(pn-counter\) {2}by r1#7$/);
    expect(lines[1]).toMatch(/y \(or-set\) {2}by r2#1$/);
  });
});
