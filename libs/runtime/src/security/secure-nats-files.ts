import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { credentialEnv, securityPlan, type AppCredential, type ClusterCredentials, type SecurityPlan, type TlsFiles } from './nats-config';
import type { SecurityNames } from './nats-permissions';

/**
 * Fresh credentials on disk for a nats-server the launcher starts: the config (with the
 * passwords) and one password file per user, all mode 0600 in a 0700 directory, rewritten
 * at every start so a password never outlives the cluster run that used it.
 */

/** Bytes of randomness per password (32 base64url characters). */
const PASSWORD_BYTES = 24;

/** A fresh random password. */
export function newPassword(): string {
  return randomBytes(PASSWORD_BYTES).toString('base64url');
}

/** The written files and what they hold. */
export interface SecureNatsFiles {
  /** The directory holding everything (mode 0700). */
  readonly dir: string;
  /** nats-server's config: pass it with `-c`. */
  readonly configFile: string;
  readonly plan: SecurityPlan;
  /** The password file of `user` (for NATS_PASSWORD_FILE and the hints the launcher prints). */
  passwordFile(user: string): string;
  /** The environment that makes an app connect as `credential`. */
  envFor(credential: AppCredential): Record<string, string>;
}

/** Options of `writeSecureNatsFiles`. */
export interface SecureNatsFilesOptions {
  /** Where to write (created; e.g. `<data root>/security`). */
  readonly dir: string;
  readonly replicaIds: readonly string[];
  readonly names?: Partial<SecurityNames>;
  readonly tls?: TlsFiles;
  /** Draws passwords; `newPassword` when absent. */
  readonly newPassword?: () => string;
}

function writePrivate(path: string, text: string): void {
  // Removed first: a mode given to writeFileSync applies only when the file is created.
  rmSync(path, { force: true });
  writeFileSync(path, text, { mode: 0o600, flag: 'wx' });
}

/** Generates fresh credentials and the config that enforces the roles, and writes them under `dir`. */
export function writeSecureNatsFiles(opts: SecureNatsFilesOptions): SecureNatsFiles {
  mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
  chmodSync(opts.dir, 0o700);
  const plan = securityPlan({ replicaIds: opts.replicaIds, names: opts.names, newPassword: opts.newPassword ?? newPassword, tls: opts.tls });
  const configFile = join(opts.dir, 'nats-server.conf');
  writePrivate(configFile, plan.configText);
  const all = allCredentials(plan.credentials);
  for (const c of all) writePrivate(join(opts.dir, `${c.user}.password`), `${c.password}\n`);
  return {
    dir: opts.dir,
    configFile,
    plan,
    passwordFile: (user) => {
      if (!all.some((c) => c.user === user)) throw new Error(`no user ${user} in ${opts.dir}`);
      return join(opts.dir, `${user}.password`);
    },
    envFor: (c) => credentialEnv(c),
  };
}

/** Every credential of a cluster, replicas last. */
export function allCredentials(c: ClusterCredentials): AppCredential[] {
  return [c.client, c.admin, c.coordinator, ...Object.values(c.replicas)];
}

/** The `credentials` section of the discovery file (`cluster.json`): what a person or crdtctl logs in with. */
export function discoveryCredentials(c: ClusterCredentials): { client: { user: string; password: string }; admin: { user: string; password: string } } {
  return { client: { user: c.client.user, password: c.client.password }, admin: { user: c.admin.user, password: c.admin.password } };
}
