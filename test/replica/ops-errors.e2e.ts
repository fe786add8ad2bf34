import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, startApp, startNatsServer, type AppHandle, type NatsServerHandle, type TempDir } from '#testing';

/**
 * What an operator sees when the replica cannot do its job (issue 9): a dead NATS is
 * logged with a retry count; a JetStream too small for the op stream gives the server's
 * own error and the setting to lower; LOG_LEVEL filters lines.
 */
describe('replica operations errors', () => {
  let dir: TempDir;
  const apps: AppHandle[] = [];
  let server: NatsServerHandle | undefined;
  beforeEach(() => (dir = makeTempDir('ops-errors')));
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((a) => a.dispose()));
    await server?.dispose();
    server = undefined;
    dir.remove();
  });

  function replica(env: Record<string, string>): AppHandle {
    const app = startApp('replica', { REPLICA_ID: 'r1', DATA_DIR: join(dir.path, 'r1'), ...env });
    apps.push(app);
    return app;
  }

  it('ops - NATS unreachable: every attempt is logged with its number, then the process gives up with NATS_UNREACHABLE', async () => {
    const app = replica({ NATS_URL: 'nats://127.0.0.1:1', NATS_CONNECT_WAIT_MS: '2500' });
    const first = await app.waitForLog((l) => l.msg === 'NATS unreachable; retrying');
    expect(first).toMatchObject({ level: 'warn', nats: 'nats://127.0.0.1:1', attempt: 1 });
    expect(typeof first.error).toBe('string');
    await app.waitForLog((l) => l.msg === 'NATS unreachable; retrying' && l.attempt === 3);
    const exit = await app.exited;
    expect(exit.code).toBe(1);
    const last = app.logs().map((l) => JSON.parse(l) as Record<string, unknown>).pop()!;
    expect(last).toMatchObject({ level: 'error', msg: 'replica failed to start', code: 'NATS_UNREACHABLE' });
  }, 30_000);

  it('ops - a JetStream whose max_file_store is smaller than the stream: the server error and the setting to lower; a smaller CRDT_STREAM_BYTES_MAX works', async () => {
    const conf = join(dir.path, 'small.conf');
    writeFileSync(conf, `jetstream { max_file_store: 64MB }\n`);
    server = await startNatsServer({ configFile: conf });
    const big = replica({ NATS_URL: server.url });
    const err = await big.waitForLog((l) => l.msg === 'op stream cannot be created', 20_000);
    expect(err).toMatchObject({ level: 'error', code: 10047, error: expect.stringContaining('insufficient storage resources'), maxBytes: 8 * 1024 ** 3 });
    expect(String(err.hint)).toContain('CRDT_STREAM_BYTES_MAX');
    await big.stop();

    const small = replica({ NATS_URL: server.url, CRDT_STREAM_BYTES_MAX: String(16 * 1024 * 1024) });
    await small.waitForLog((l) => l.msg === 'ready', 20_000);
    expect(small.logs().some((l) => l.includes('op stream cannot be created'))).toBe(false);
  }, 60_000);

  it('ops - LOG_LEVEL=warn drops info lines (no ready line), keeps warnings', async () => {
    const app = replica({ NATS_URL: 'nats://127.0.0.1:1', NATS_CONNECT_WAIT_MS: '1000', LOG_LEVEL: 'warn' });
    await app.waitForLog((l) => l.msg === 'NATS unreachable; retrying');
    await app.exited;
    expect(app.logs().every((l) => (JSON.parse(l) as { level: string }).level !== 'info')).toBe(true);
    const bad = replica({ LOG_LEVEL: 'chatty', DATA_DIR: join(dir.path, 'r2') });
    expect((await bad.exited).code).toBe(1);
    expect(bad.logs().join('\n')).toContain('LOG_LEVEL must be one of info, warn, error');
  }, 30_000);
});
