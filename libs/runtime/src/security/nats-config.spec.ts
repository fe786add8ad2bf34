import { describe, expect, it } from '@jest/globals';
import { renderNatsConfig, securityPlan, credentialEnv } from './nats-config';
import { defaultSecurityNames, permissionsOf, type Permissions } from './nats-permissions';

/** NATS subject matching (`*` one token, `>` the rest), to ask the generated lists questions. */
function matches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const t = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return t.length > i;
    if (i >= t.length || (p[i] !== '*' && p[i] !== t[i])) return false;
  }
  return p.length === t.length;
}
const allows = (list: readonly string[], subject: string) => list.some((p) => matches(p, subject));

const names = defaultSecurityNames('crdt', 'CRDT_OPS');
let counter = 0;
const password = () => `password-${String(++counter).padStart(8, '0')}`;

describe('nats permissions', () => {
  const client = permissionsOf('client', names, 'client');
  const admin = permissionsOf('admin', names, 'admin');
  const coordinator = permissionsOf('coordinator', names, 'coordinator');
  const r1 = permissionsOf('replica', names, 'replica-r1', 'r1');

  it('matcher - behaves as NATS wildcards do', () => {
    expect(matches('a.>', 'a.b.c')).toBe(true);
    expect(matches('a.>', 'a')).toBe(false);
    expect(matches('a.*.c', 'a.b.c')).toBe(true);
    expect(matches('a.*.c', 'a.b.d')).toBe(false);
  });

  it('client - may send client commands, read change notices and its own inbox, nothing else', () => {
    for (const ok of ['crdt.api.get', 'crdt.api.update', 'crdt.replica.r1.get', 'crdt.replica.r9.before-sync']) expect(allows(client.publish, ok)).toBe(true);
    for (const no of ['crdt.ops.r1', 'crdt.replica.r1.freeze', 'crdt.replica.r1.commit', 'crdt.replica.r1.resend', 'crdt.round.resume', 'crdt.coordinator.sync', 'crdt.heartbeat', 'crdt.changes.k', '$JS.API.INFO', '$JS.API.STREAM.PURGE.CRDT_OPS', '$KV.crdt-coordinator.leader', '$O.CRDT_OPS_SNAPSHOTS.M.x', '_INBOX.admin.x']) {
      expect(allows(client.publish, no)).toBe(false);
    }
    expect(client.subscribe).toEqual(['crdt.changes.>', '_INBOX.client.>']);
  });

  it('admin - adds the coordinator admin subjects, heartbeats and round events, and no JetStream', () => {
    expect(allows(admin.publish, 'crdt.coordinator.sync')).toBe(true);
    expect(allows(admin.subscribe, 'crdt.heartbeat')).toBe(true);
    expect(allows(admin.subscribe, 'crdt.rounds.events')).toBe(true);
    for (const no of ['crdt.ops.r1', 'crdt.replica.r1.freeze', 'crdt.round.resume', '$JS.API.INFO', '$KV.crdt-coordinator.leader']) expect(allows(admin.publish, no)).toBe(false);
    expect(allows(admin.subscribe, 'crdt.coordinator.sync')).toBe(false);
  });

  it('replica - publishes ops only on its own subject, uses its stream and the snapshot store, not the lease', () => {
    expect(allows(r1.publish, 'crdt.ops.r1')).toBe(true);
    expect(allows(r1.publish, 'crdt.ops.r2')).toBe(false);
    for (const ok of ['$JS.API.STREAM.INFO.CRDT_OPS', '$JS.API.CONSUMER.CREATE.CRDT_OPS', '$O.CRDT_OPS_SNAPSHOTS.C.x', 'crdt.heartbeat', 'crdt.changes.k', 'crdt.replica.r2.resend', '_INBOX.client.x']) {
      expect(allows(r1.publish, ok)).toBe(true);
    }
    for (const no of ['$JS.API.STREAM.PURGE.CRDT_OPS', '$JS.API.STREAM.DELETE.CRDT_OPS', '$KV.crdt-coordinator.leader', '$JS.API.STREAM.INFO.KV_crdt-coordinator', 'crdt.round.resume', 'crdt.replica.r2.freeze', 'crdt.coordinator.sync', 'crdt.api.get']) {
      expect(allows(r1.publish, no)).toBe(false);
    }
    expect(allows(r1.subscribe, 'crdt.replica.r1.freeze')).toBe(true);
    expect(allows(r1.subscribe, 'crdt.replica.r2.freeze')).toBe(false);
    expect(allows(r1.subscribe, 'crdt.ops.r2')).toBe(false);
  });

  it('coordinator - sends round messages, purges the op stream, owns the lease bucket, publishes no ops', () => {
    for (const ok of ['crdt.replica.r1.freeze', 'crdt.round.resume', 'crdt.rounds.events', '$JS.API.STREAM.PURGE.CRDT_OPS', '$KV.crdt-coordinator.leader', '$JS.API.STREAM.CREATE.KV_crdt-coordinator', 'crdt.coordinator.status']) {
      expect(allows(coordinator.publish, ok)).toBe(true);
    }
    for (const no of ['crdt.ops.r1', '$JS.API.STREAM.DELETE.CRDT_OPS', '$O.CRDT_OPS_SNAPSHOTS.C.x', '$JS.API.STREAM.CREATE.CRDT_OPS']) expect(allows(coordinator.publish, no)).toBe(false);
    expect(allows(coordinator.subscribe, 'crdt.coordinator.sync')).toBe(true);
  });

  it('roles - only replicas and the coordinator touch JetStream, KV or the object store', () => {
    const js = (p: Permissions) => [...p.publish, ...p.subscribe].filter((s) => s.startsWith('$'));
    expect(js(client)).toEqual([]);
    expect(js(admin)).toEqual([]);
    expect(js(r1).length).toBeGreaterThan(0);
    expect(js(coordinator).length).toBeGreaterThan(0);
  });

  it('names - another prefix, stream and buckets move every subject', () => {
    const other = { prefix: 'shop', streamName: 'SHOP_OPS', snapshotBucket: 'SNAPS', leaseBucket: 'LEASE' };
    const p = permissionsOf('replica', other, 'replica-a', 'a');
    expect(allows(p.publish, 'shop.ops.a')).toBe(true);
    expect(allows(p.publish, 'crdt.ops.a')).toBe(false);
    expect(allows(p.publish, '$O.SNAPS.M.latest')).toBe(true);
    expect(allows(p.publish, '$JS.API.CONSUMER.MSG.NEXT.SHOP_OPS.x')).toBe(true);
  });
});

describe('nats config', () => {
  it('plan - one user per replica and one per other role, each with a fresh password', () => {
    const plan = securityPlan({ replicaIds: ['r1', 'r2', 'r3'], newPassword: password });
    const users = [plan.credentials.client, plan.credentials.admin, plan.credentials.coordinator, ...Object.values(plan.credentials.replicas)];
    expect(users.map((u) => u.user)).toEqual(['client', 'admin', 'coordinator', 'replica-r1', 'replica-r2', 'replica-r3']);
    expect(new Set(users.map((u) => u.password)).size).toBe(6);
    for (const u of users) {
      expect(plan.configText).toContain(`user: "${u.user}"`);
      expect(plan.configText).toContain(`password: "${u.password}"`);
    }
    expect(credentialEnv(plan.credentials.replicas.r2)).toEqual({ NATS_USER: 'replica-r2', NATS_PASSWORD: plan.credentials.replicas.r2.password, NATS_INBOX_PREFIX: '_INBOX.replica-r2' });
  });

  it('render - the same input gives the same text', () => {
    const spec = { names, users: [{ user: 'client', role: 'client' as const, password: { literal: 'a-long-enough-password' } }] };
    expect(renderNatsConfig(spec)).toBe(renderNatsConfig(spec));
  });

  it('render - passwords may be server environment variables (the compose stack)', () => {
    const text = renderNatsConfig({ names, users: [{ user: 'client', role: 'client', password: { env: 'CRDT_CLIENT_PASSWORD' } }] });
    expect(text).toContain('password: $CRDT_CLIENT_PASSWORD');
  });

  it('render - a TLS block when asked, none otherwise', () => {
    const users = [{ user: 'client', role: 'client' as const, password: { literal: 'a-long-enough-password' } }];
    expect(renderNatsConfig({ names, users })).not.toContain('tls');
    const text = renderNatsConfig({ names, users, tls: { certFile: '/c/server.pem', keyFile: '/c/server.key', caFile: '/c/ca.pem', verify: true } });
    expect(text).toMatch(/tls: \{\n  cert_file: "\/c\/server.pem"\n  key_file: "\/c\/server.key"\n  ca_file: "\/c\/ca.pem"\n  verify: true\n\}/);
  });

  it('render - refuses names that would break the file or the subjects, duplicates and short passwords', () => {
    const ok = { user: 'client', role: 'client' as const, password: { literal: 'a-long-enough-password' } };
    expect(() => renderNatsConfig({ names, users: [{ ...ok, user: 'a"b' }] })).toThrow(/user name/);
    expect(() => renderNatsConfig({ names, users: [{ ...ok, role: 'replica', replicaId: 'r.1' }] })).toThrow(/replica id/);
    expect(() => renderNatsConfig({ names, users: [ok, ok] })).toThrow(/twice/);
    expect(() => renderNatsConfig({ names, users: [{ ...ok, password: { literal: 'short' } }] })).toThrow(/16 characters/);
    expect(() => renderNatsConfig({ names, users: [{ ...ok, password: { env: 'A-B' } }] })).toThrow(/variable/);
    expect(() => renderNatsConfig({ names, users: [{ ...ok, role: 'replica' }] })).toThrow(/replica id/);
  });
});
