import { readFileSync } from 'node:fs';
import { inboxPrefixOf } from './nats-permissions';

/**
 * The connection options every app (replica, coordinator, crdtctl) reads from its
 * environment. With none of these set the connection is open, as before (a server with no
 * authorization); with them, the app logs in as its user and keeps its replies under its
 * own inbox prefix, the only inbox its NATS permissions let it subscribe to.
 *
 * | variable | meaning |
 * |---|---|
 * | NATS_USER | user name |
 * | NATS_PASSWORD | its password |
 * | NATS_PASSWORD_FILE | a file holding the password (a Docker/Compose secret); instead of NATS_PASSWORD |
 * | NATS_INBOX_PREFIX | prefix of reply subjects; default `_INBOX.<NATS_USER>` when a user is set |
 * | NATS_TLS_CA | CA certificate (PEM file) that signed the server's; turns TLS on |
 * | NATS_TLS_CERT, NATS_TLS_KEY | client certificate and key (PEM files), for a server that verifies clients |
 */

/** The subset of nats.js connection options this sets. */
export interface NatsAuthOptions {
  user?: string;
  pass?: string;
  inboxPrefix?: string;
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
}

/** A malformed security setting; names the variable. */
export class NatsAuthSettingError extends Error {
  constructor(
    readonly variable: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(`${variable}: ${message}`, options);
    this.name = 'NatsAuthSettingError';
  }
}

/** Longest password file read, bytes (a password, not a document). */
const PASSWORD_FILE_BYTES_MAX = 4096;

function readPasswordFile(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new NatsAuthSettingError('NATS_PASSWORD_FILE', `cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
  if (text.length > PASSWORD_FILE_BYTES_MAX) throw new NatsAuthSettingError('NATS_PASSWORD_FILE', `${path} is larger than ${PASSWORD_FILE_BYTES_MAX} bytes; it should hold only the password`);
  // An editor's trailing newline is not part of the password.
  const password = text.replace(/\r?\n$/, '');
  if (password === '') throw new NatsAuthSettingError('NATS_PASSWORD_FILE', `${path} is empty`);
  return password;
}

function readable(variable: string, path: string): string {
  try {
    readFileSync(path);
  } catch (e) {
    throw new NatsAuthSettingError(variable, `cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
  return path;
}

/** Reads the security settings; throws `NatsAuthSettingError` naming the variable when one is malformed. */
export function natsAuthFromEnv(env: NodeJS.ProcessEnv = process.env): NatsAuthOptions {
  const out: NatsAuthOptions = {};
  const user = env.NATS_USER || undefined;
  if (env.NATS_PASSWORD && env.NATS_PASSWORD_FILE) throw new NatsAuthSettingError('NATS_PASSWORD_FILE', 'set either NATS_PASSWORD or NATS_PASSWORD_FILE, not both');
  const pass = env.NATS_PASSWORD || (env.NATS_PASSWORD_FILE ? readPasswordFile(env.NATS_PASSWORD_FILE) : undefined);
  if (pass !== undefined && user === undefined) throw new NatsAuthSettingError('NATS_USER', 'a password is set but no user');
  if (user !== undefined) {
    if (pass === undefined) throw new NatsAuthSettingError('NATS_PASSWORD', `user ${user} has no password (set NATS_PASSWORD or NATS_PASSWORD_FILE)`);
    out.user = user;
    out.pass = pass;
  }
  const inbox = env.NATS_INBOX_PREFIX || (user !== undefined ? inboxPrefixOf(user) : undefined);
  if (inbox !== undefined) {
    if (!/^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/.test(inbox)) throw new NatsAuthSettingError('NATS_INBOX_PREFIX', `${JSON.stringify(inbox)} is not a subject without wildcards`);
    out.inboxPrefix = inbox;
  }
  const ca = env.NATS_TLS_CA || undefined;
  const cert = env.NATS_TLS_CERT || undefined;
  const key = env.NATS_TLS_KEY || undefined;
  if ((cert === undefined) !== (key === undefined)) throw new NatsAuthSettingError(cert === undefined ? 'NATS_TLS_CERT' : 'NATS_TLS_KEY', 'NATS_TLS_CERT and NATS_TLS_KEY go together');
  if (ca !== undefined || cert !== undefined) {
    out.tls = {
      ...(ca !== undefined ? { caFile: readable('NATS_TLS_CA', ca) } : {}),
      ...(cert !== undefined ? { certFile: readable('NATS_TLS_CERT', cert), keyFile: readable('NATS_TLS_KEY', key!) } : {}),
    };
  }
  return out;
}

/** For log lines: who the app connects as, never the password. */
export function describeNatsAuth(o: NatsAuthOptions): string {
  return `${o.user !== undefined ? `user ${o.user}` : 'no credentials (open server)'}${o.tls ? ', TLS' : ''}`;
}
