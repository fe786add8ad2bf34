import { afterAll, describe, expect, it } from '@jest/globals';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeNatsAuth, natsAuthFromEnv, NatsAuthSettingError } from './nats-auth-env';
import { discoveryCredentials, writeSecureNatsFiles } from './secure-nats-files';

const dir = mkdtempSync(join(tmpdir(), 'crdt-auth-env-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fails(env: NodeJS.ProcessEnv): NatsAuthSettingError {
  try {
    natsAuthFromEnv(env);
  } catch (e) {
    if (e instanceof NatsAuthSettingError) return e;
    throw e;
  }
  throw new Error('expected a NatsAuthSettingError');
}

describe('nats auth env', () => {
  it('env - nothing set means an open connection, as before', () => {
    expect(natsAuthFromEnv({})).toEqual({});
    expect(describeNatsAuth({})).toBe('no credentials (open server)');
  });

  it('env - a user and password, with the inbox prefix derived from the user', () => {
    expect(natsAuthFromEnv({ NATS_USER: 'replica-r1', NATS_PASSWORD: 'pw' })).toEqual({ user: 'replica-r1', pass: 'pw', inboxPrefix: '_INBOX.replica-r1' });
    expect(natsAuthFromEnv({ NATS_USER: 'u', NATS_PASSWORD: 'pw', NATS_INBOX_PREFIX: '_I.u' }).inboxPrefix).toBe('_I.u');
  });

  it('env - a password file (a compose secret), trailing newline dropped', () => {
    const f = join(dir, 'pw');
    writeFileSync(f, 's3cret\n');
    expect(natsAuthFromEnv({ NATS_USER: 'client', NATS_PASSWORD_FILE: f }).pass).toBe('s3cret');
  });

  it('env - malformed settings name their variable', () => {
    expect(fails({ NATS_USER: 'u' }).variable).toBe('NATS_PASSWORD');
    expect(fails({ NATS_PASSWORD: 'p' }).variable).toBe('NATS_USER');
    expect(fails({ NATS_USER: 'u', NATS_PASSWORD: 'p', NATS_PASSWORD_FILE: '/x' }).variable).toBe('NATS_PASSWORD_FILE');
    expect(fails({ NATS_USER: 'u', NATS_PASSWORD_FILE: join(dir, 'missing') }).message).toMatch(/NATS_PASSWORD_FILE: cannot read/);
    expect(fails({ NATS_USER: 'u', NATS_PASSWORD: 'p', NATS_INBOX_PREFIX: '_INBOX.*' }).variable).toBe('NATS_INBOX_PREFIX');
    expect(fails({ NATS_TLS_CERT: join(dir, 'pw') }).variable).toBe('NATS_TLS_KEY');
    expect(fails({ NATS_TLS_CA: join(dir, 'missing.pem') }).variable).toBe('NATS_TLS_CA');
  });

  it('env - TLS files turn TLS on', () => {
    const f = join(dir, 'ca.pem');
    writeFileSync(f, 'x');
    expect(natsAuthFromEnv({ NATS_TLS_CA: f })).toEqual({ tls: { caFile: f } });
    expect(describeNatsAuth(natsAuthFromEnv({ NATS_TLS_CA: f, NATS_USER: 'a', NATS_PASSWORD: 'b' }))).toBe('user a, TLS');
  });
});

describe('secure nats files', () => {
  it('files - config and one password file per user, all mode 0600 in a 0700 directory, fresh each time', () => {
    const sec = join(dir, 'security');
    const first = writeSecureNatsFiles({ dir: sec, replicaIds: ['r1', 'r2'] });
    expect(statSync(sec).mode & 0o777).toBe(0o700);
    const files = [first.configFile, ...['client', 'admin', 'coordinator', 'replica-r1', 'replica-r2'].map((u) => first.passwordFile(u))];
    for (const f of files) expect(statSync(f).mode & 0o777).toBe(0o600);
    expect(readFileSync(first.passwordFile('replica-r2'), 'utf8').trim()).toBe(first.plan.credentials.replicas.r2.password);
    expect(readFileSync(first.configFile, 'utf8')).toBe(first.plan.configText);
    // A file left readable by others is replaced, not rewritten in place (which would keep its mode).
    chmodSync(first.configFile, 0o644);
    const second = writeSecureNatsFiles({ dir: sec, replicaIds: ['r1', 'r2'] });
    expect(statSync(second.configFile).mode & 0o777).toBe(0o600);
    expect(second.plan.credentials.client.password).not.toBe(first.plan.credentials.client.password);
    expect(second.plan.credentials.client.password).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(() => second.passwordFile('nobody')).toThrow(/no user/);
    expect(natsAuthFromEnv({ ...second.envFor(second.plan.credentials.admin) }).user).toBe('admin');
    expect(discoveryCredentials(second.plan.credentials)).toEqual({
      client: { user: 'client', password: second.plan.credentials.client.password },
      admin: { user: 'admin', password: second.plan.credentials.admin.password },
    });
  });
});
