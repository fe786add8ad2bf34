import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startApp, type AppHandle } from './app-process';
import { makeTempDir, type TempDir } from './temp-dir';

/** A stand-in app: logs JSON lines like the real ones, ticks, and exits cleanly on SIGTERM. */
const FAKE_APP = `
const log = (msg, f = {}) => console.log(JSON.stringify({ level: 'info', msg, ...f }));
log('starting', { id: process.env.REPLICA_ID });
let n = 0;
const t = setInterval(() => log('tick', { n: n++ }), 20);
setTimeout(() => log('ready', { id: process.env.REPLICA_ID }), 50);
console.error('a line on stderr');
process.on('SIGTERM', () => { clearInterval(t); log('stopping'); process.exit(0); });
if (process.env.CRASH) setTimeout(() => process.exit(3), 30);
`;

describe('app process launcher', () => {
  let dir: TempDir;
  let script: string;
  let app: AppHandle | undefined;

  beforeAll(() => {
    dir = makeTempDir('fake-app');
    script = join(dir.path, 'fake-app.js');
    writeFileSync(script, FAKE_APP);
  });
  afterAll(() => dir.remove());
  afterEach(async () => {
    await app?.dispose();
    app = undefined;
  });

  it('app-process - waits for a JSON log line and keeps stdout and stderr', async () => {
    app = startApp('replica', { REPLICA_ID: 'r9' }, { script });
    expect(app.name).toBe('replica-r9');
    const ready = await app.waitForLog((e) => e.msg === 'ready', 5_000);
    expect(ready).toMatchObject({ level: 'info', msg: 'ready', id: 'r9' });
    await app.waitForLine(/a line on stderr/, 5_000);
    expect(app.logs()[0]).toContain('"starting"');
  });

  it('app-process - stop sends SIGTERM and resolves with a clean exit', async () => {
    app = startApp('replica', { REPLICA_ID: 'r1' }, { script });
    await app.waitForLine(/"ready"/, 5_000);
    const exit = await app.stop();
    expect(exit).toEqual({ code: 0, signal: null });
    expect(app.running).toBe(false);
    expect(app.logs().some((l) => l.includes('"stopping"'))).toBe(true);
  });

  it('app-process - kill is a crash (SIGKILL)', async () => {
    app = startApp('coordinator', { COORDINATOR_ID: 'c1' }, { script });
    await app.waitForLine(/"ready"/, 5_000);
    app.kill();
    await expect(app.exited).resolves.toEqual({ code: null, signal: 'SIGKILL' });
  });

  it('app-process - pause stops output and resume continues it', async () => {
    app = startApp('replica', {}, { script });
    await app.waitForLine(/"ready"/, 5_000);
    app.pause();
    await new Promise((r) => setTimeout(r, 100)); // lines already in the pipe may still arrive
    const paused = app.lineCount();
    await new Promise((r) => setTimeout(r, 200));
    expect(app.lineCount()).toBe(paused);
    app.resume();
    await app.waitForLine(/"tick"/, 5_000, paused);
    // A paused process still stops cleanly: stop continues it first.
    app.pause();
    await expect(app.stop(5_000)).resolves.toEqual({ code: 0, signal: null });
  });

  it('app-process - waiting fails with the last lines when the process exits first', async () => {
    app = startApp('replica', { CRASH: '1' }, { script });
    await expect(app.waitForLine(/never printed/, 5_000)).rejects.toThrow(/exited \(code 3.*\n[\s\S]*"starting"/);
  });

  it('app-process - waiting is bounded in time', async () => {
    app = startApp('replica', {}, { script });
    await expect(app.waitForLine(/never printed/, 200)).rejects.toThrow(/within 200 ms/);
  });

  it('app-process - a missing build fails clearly', () => {
    expect(() => startApp('replica', {}, { script: join(dir.path, 'nope.js') })).toThrow(/npm run build/);
  });
});
