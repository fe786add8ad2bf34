import { defaultSecurityNames, inboxPrefixOf, permissionsOf, type Permissions, type Role, type SecurityNames } from './nats-permissions';

/**
 * Renders a nats-server (2.9) configuration that enforces the store's roles, and the
 * credentials each app is given. Pure: the passwords come in (the caller draws them), text
 * and values come out, so the same input always gives the same file.
 */

/** A password in the file: a literal, or a nats-server config variable read from the server's environment (`$NAME`). */
export type PasswordSource = { readonly literal: string } | { readonly env: string };

/** One user of the generated config. */
export interface SecurityUser {
  readonly user: string;
  readonly role: Role;
  /** Set for replica users: the one op subject they may publish on. */
  readonly replicaId?: string;
  readonly password: PasswordSource;
}

/** The server's TLS block: client connections must use TLS; with `verify` they must show a certificate signed by `caFile`. */
export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile?: string;
  readonly verify?: boolean;
}

/** Input of `renderNatsConfig`. */
export interface NatsConfigSpec {
  readonly names: SecurityNames;
  readonly users: readonly SecurityUser[];
  /** JetStream store dir; no `jetstream` block when absent (the command line enables it). */
  readonly jetstreamStoreDir?: string;
  readonly tls?: TlsFiles;
  /** A first-line comment (what generated the file and when to regenerate it). */
  readonly header?: string;
}

/** Characters safe in a user name, a replica id and a variable name of the generated file. */
const NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

function quote(s: string): string {
  // nats-server's config strings take JSON's double-quoted escapes.
  return JSON.stringify(s);
}

function list(items: readonly string[], indent: string): string {
  return `[\n${items.map((i) => `${indent}  ${quote(i)}`).join(',\n')}\n${indent}]`;
}

function permissionsBlock(p: Permissions, indent: string): string {
  return [
    `${indent}permissions: {`,
    `${indent}  publish: { allow: ${list(p.publish, `${indent}  `)} }`,
    `${indent}  subscribe: { allow: ${list(p.subscribe, `${indent}  `)} }`,
    `${indent}}`,
  ].join('\n');
}

function passwordValue(p: PasswordSource): string {
  if ('env' in p) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(p.env)) throw new Error(`password variable ${JSON.stringify(p.env)} must be letters, digits and _`);
    return `$${p.env}`;
  }
  if (p.literal.length < 16) throw new Error('a password must have at least 16 characters');
  return quote(p.literal);
}

/** The configuration text. Throws on a malformed name or a duplicate user. */
export function renderNatsConfig(spec: NatsConfigSpec): string {
  const seen = new Set<string>();
  for (const u of spec.users) {
    if (!NAME_PATTERN.test(u.user)) throw new Error(`user name ${JSON.stringify(u.user)} must be 1-64 letters, digits, _ or -`);
    if (u.replicaId !== undefined && !NAME_PATTERN.test(u.replicaId)) throw new Error(`replica id ${JSON.stringify(u.replicaId)} must be 1-64 letters, digits, _ or -`);
    if (seen.has(u.user)) throw new Error(`user ${u.user} appears twice`);
    seen.add(u.user);
  }
  const out: string[] = [];
  if (spec.header) out.push(...spec.header.split('\n').map((l) => `# ${l}`), '');
  if (spec.jetstreamStoreDir !== undefined) out.push(`jetstream: { store_dir: ${quote(spec.jetstreamStoreDir)} }`, '');
  if (spec.tls) {
    out.push('tls: {', `  cert_file: ${quote(spec.tls.certFile)}`, `  key_file: ${quote(spec.tls.keyFile)}`);
    if (spec.tls.caFile) out.push(`  ca_file: ${quote(spec.tls.caFile)}`);
    if (spec.tls.verify) out.push('  verify: true');
    out.push('}', '');
  }
  out.push('authorization: {', '  users: [');
  spec.users.forEach((u, i) => {
    out.push('    {', `      # role: ${u.role}${u.replicaId !== undefined ? ` ${u.replicaId}` : ''}`, `      user: ${quote(u.user)}`, `      password: ${passwordValue(u.password)}`);
    out.push(permissionsBlock(permissionsOf(u.role, spec.names, u.user, u.replicaId), '      '));
    out.push(`    }${i < spec.users.length - 1 ? ',' : ''}`);
  });
  out.push('  ]', '}', '');
  return out.join('\n');
}

/** What one app is given to connect: its user, password and inbox prefix. */
export interface AppCredential {
  readonly user: string;
  readonly password: string;
  readonly inboxPrefix: string;
}

/** Every credential of a cluster. */
export interface ClusterCredentials {
  readonly client: AppCredential;
  readonly admin: AppCredential;
  readonly coordinator: AppCredential;
  /** By replica id. */
  readonly replicas: Readonly<Record<string, AppCredential>>;
}

/** Input of `securityPlan`. */
export interface SecurityPlanInput {
  readonly replicaIds: readonly string[];
  readonly names?: Partial<SecurityNames>;
  /** Draws one fresh password (the caller's randomness; called once per user). */
  readonly newPassword: () => string;
  readonly jetstreamStoreDir?: string;
  readonly tls?: TlsFiles;
}

/** A generated config and the credentials it accepts. */
export interface SecurityPlan {
  readonly configText: string;
  readonly credentials: ClusterCredentials;
  readonly names: SecurityNames;
}

/** The user name of replica `id`. */
export function replicaUser(id: string): string {
  return `replica-${id}`;
}

function credential(user: string, password: string): AppCredential {
  return { user, password, inboxPrefix: inboxPrefixOf(user) };
}

/** Users for the replica ids, a client, an admin and a coordinator, with fresh passwords, and the config that enforces their roles. */
export function securityPlan(input: SecurityPlanInput): SecurityPlan {
  const base = defaultSecurityNames(input.names?.prefix, input.names?.streamName);
  const names: SecurityNames = { ...base, ...stripUndefined(input.names ?? {}) };
  const credentials: ClusterCredentials = {
    client: credential('client', input.newPassword()),
    admin: credential('admin', input.newPassword()),
    coordinator: credential('coordinator', input.newPassword()),
    replicas: Object.fromEntries(input.replicaIds.map((id) => [id, credential(replicaUser(id), input.newPassword())])),
  };
  const users: SecurityUser[] = [
    { user: credentials.client.user, role: 'client', password: { literal: credentials.client.password } },
    { user: credentials.admin.user, role: 'admin', password: { literal: credentials.admin.password } },
    { user: credentials.coordinator.user, role: 'coordinator', password: { literal: credentials.coordinator.password } },
    ...input.replicaIds.map((id): SecurityUser => ({ user: replicaUser(id), role: 'replica', replicaId: id, password: { literal: credentials.replicas[id].password } })),
  ];
  const configText = renderNatsConfig({
    names,
    users,
    jetstreamStoreDir: input.jetstreamStoreDir,
    tls: input.tls,
    header: 'Generated by crdt-nats (libs/runtime/src/security): the store\'s roles as NATS users with permissions.\nHolds passwords: keep it mode 0600.',
  });
  return { configText, credentials, names };
}

/** The environment that makes an app connect as `c` (see `natsConnectionOptions`). */
export function credentialEnv(c: AppCredential): Record<string, string> {
  return { NATS_USER: c.user, NATS_PASSWORD: c.password, NATS_INBOX_PREFIX: c.inboxPrefix };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
