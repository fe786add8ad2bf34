import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { natsAuthFromEnv } from '#runtime';
import { prepareClusterSecurity } from './cluster-security';

const root = mkdtempSync(join(tmpdir(), 'crdt-cluster-security-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('cluster security', () => {
  it('launcher - fresh credentials in <data root>/security, each app given its own by file, never by value', () => {
    const sec = prepareClusterSecurity(join(root, 'data'), ['r1', 'r2', 'r3'], { prefix: 'crdt', streamName: 'CRDT_OPS' }, {});
    expect(sec.dir).toBe(join(root, 'data', 'security'));
    expect(sec.natsArgs).toEqual(['-c', join(sec.dir, 'nats-server.conf')]);
    expect(statSync(join(sec.dir, 'nats-server.conf')).mode & 0o777).toBe(0o600);
    const r2 = sec.replicaEnv('r2');
    expect(r2).toMatchObject({ NATS_USER: 'replica-r2', NATS_PASSWORD: '', NATS_INBOX_PREFIX: '_INBOX.replica-r2' });
    expect(statSync(r2.NATS_PASSWORD_FILE).mode & 0o777).toBe(0o600);
    // What the app reads from that environment (an inherited NATS_PASSWORD is blanked, not clashing).
    const auth = natsAuthFromEnv({ NATS_PASSWORD: 'inherited', ...r2 });
    expect(auth.user).toBe('replica-r2');
    expect(readFileSync(join(sec.dir, 'nats-server.conf'), 'utf8')).toContain(`password: "${auth.pass}"`);
    expect(sec.coordinatorEnv().NATS_USER).toBe('coordinator');
    expect(() => sec.replicaEnv('r9')).toThrow(/no credential/);
    const d = sec.discovery();
    expect(d.client.user).toBe('client');
    expect(d.admin.user).toBe('admin');
    expect(readFileSync(join(sec.dir, 'admin.password'), 'utf8').trim()).toBe(d.admin.password);
    expect(sec.crdtctlEnv(root)).toBe('NATS_USER=admin NATS_PASSWORD_FILE=data/security/admin.password');
    expect(sec.crdtctlEnv('/elsewhere')).toContain(`NATS_PASSWORD_FILE=${join(sec.dir, 'admin.password')}`);
    // A second start draws new passwords.
    const again = prepareClusterSecurity(join(root, 'data'), ['r1'], {}, {});
    expect(again.discovery().admin.password).not.toBe(d.admin.password);
  });

  it('launcher - TLS for the started server from NATS_SERVER_TLS_CERT and NATS_SERVER_TLS_KEY, both or neither', () => {
    const sec = prepareClusterSecurity(join(root, 'tls'), ['r1'], {}, { NATS_SERVER_TLS_CERT: '/p/server.pem', NATS_SERVER_TLS_KEY: '/p/server.key' });
    expect(readFileSync(sec.natsArgs[1], 'utf8')).toContain('cert_file: "/p/server.pem"');
    expect(() => prepareClusterSecurity(join(root, 'tls2'), ['r1'], {}, { NATS_SERVER_TLS_CERT: '/p/server.pem' })).toThrow(/go together/);
  });
});
