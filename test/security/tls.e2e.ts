import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { subjectsFor } from '#protocol';
import { natsAuthFromEnv, writeSecureNatsFiles, type SecureNatsFiles } from '#runtime';
import { connectClient, pollUntil, requestJson, startApp, startNatsServer, type AppHandle, type NatsServerHandle } from '#testing';

/**
 * TLS is one setting away: the generated config with a `tls` block (certificate made here
 * with openssl: a CA and a server certificate for 127.0.0.1), and apps given NATS_TLS_CA.
 */

const s = subjectsFor('crdt');

/** A CA and a server certificate it signed, for 127.0.0.1 and localhost. */
function makeCertificates(dir: string): { ca: string; cert: string; key: string } {
  const f = (n: string) => join(dir, n);
  const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=crdt-test-ca', '-keyout', f('ca.key'), '-out', f('ca.pem')]);
  run(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', f('server.key'), '-out', f('server.csr')]);
  const ext = f('san.ext');
  writeFileSync(ext, 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  run(['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '1', '-extfile', ext, '-out', f('server.pem')]);
  return { ca: f('ca.pem'), cert: f('server.pem'), key: f('server.key') };
}

describe('tls', () => {
  let dir: string;
  let server: NatsServerHandle;
  let files: SecureNatsFiles;
  let pem: { ca: string; cert: string; key: string };
  let replica: AppHandle | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'crdt-tls-'));
    pem = makeCertificates(dir);
    files = writeSecureNatsFiles({ dir: join(dir, 'security'), replicaIds: ['r1'], tls: { certFile: pem.cert, keyFile: pem.key } });
    server = await startNatsServer({ configFile: files.configFile });
  }, 60_000);

  afterAll(async () => {
    await replica?.dispose();
    await server?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('tls - a client with NATS_TLS_CA connects; without it the server certificate is not trusted', async () => {
    const env = { ...files.envFor(files.plan.credentials.client), NATS_TLS_CA: pem.ca };
    const nc = await connectClient(server.url, { ...natsAuthFromEnv(env), maxReconnectAttempts: 0 });
    expect(nc.info?.tls_required).toBe(true);
    await nc.close();
    const untrusted = await connectClient(server.url, { ...natsAuthFromEnv(files.envFor(files.plan.credentials.client)), maxReconnectAttempts: 0, timeout: 3_000 }).then(
      async (c) => {
        await c.close();
        return 'connected!';
      },
      (e: Error) => `${e.message} ${String((e.cause as Error | undefined)?.message ?? '')}`,
    );
    process.stdout.write(`without NATS_TLS_CA: ${untrusted}\n`);
    expect(untrusted).not.toBe('connected!');
  }, 30_000);

  it('tls - a replica with its credential and NATS_TLS_CA starts and answers over TLS', async () => {
    replica = startApp('replica', { NATS_URL: server.url, REPLICA_ID: 'r1', DATA_DIR: join(dir, 'r1'), ...files.envFor(files.plan.credentials.replicas.r1), NATS_TLS_CA: pem.ca }, { logDir: dir });
    await replica.waitForLog((l) => l.msg === 'ready', 20_000);
    const client = await connectClient(server.url, natsAuthFromEnv({ ...files.envFor(files.plan.credentials.client), NATS_TLS_CA: pem.ca }));
    try {
      expect(await pollUntil(async () => (await requestJson<{ mode?: string }>(client, s.replica('r1', 'status'), {}, 2_000).catch(() => undefined))?.mode === 'Work', 20_000, 50)).toBe(true);
      const w = await requestJson<{ ok: boolean }>(client, s.api('update'), { key: 'tls', type: 'pn-counter', op: { type: 'increment', by: 2 } });
      expect(w.ok).toBe(true);
    } finally {
      await client.close();
    }
  }, 60_000);
});
