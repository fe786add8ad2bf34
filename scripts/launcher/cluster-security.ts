import { isAbsolute, join, relative } from 'node:path';
import { discoveryCredentials, type AppCredential, writeSecureNatsFiles, type SecureNatsFiles, type SecurityNames, type TlsFiles } from '#runtime';

/**
 * `npm start`'s part of issue 9's access control: fresh credentials for the embedded
 * nats-server at every start (in `<data root>/security`, files mode 0600), the arguments
 * that make the server enforce them, and each app's own credential for its environment.
 * The launcher only calls this; the rules are in libs/runtime/src/security.
 *
 * TLS: with NATS_SERVER_TLS_CERT and NATS_SERVER_TLS_KEY (PEM files) the server accepts only
 * TLS connections; give the apps NATS_TLS_CA (the CA that signed the certificate), which
 * they inherit from the launcher's environment.
 */
export interface ClusterSecurity {
  /** Arguments for nats-server (`-c <config>`). */
  readonly natsArgs: readonly string[];
  /** Where the config and password files are. */
  readonly dir: string;
  /** The environment of the coordinator. */
  coordinatorEnv(): Record<string, string>;
  /** The environment of replica `id` (one of the ids given at start). */
  replicaEnv(id: string): Record<string, string>;
  /** The `credentials` section of the discovery file (`cluster.json`): client and admin users and passwords. */
  discovery(): ReturnType<typeof discoveryCredentials>;
  /** The variables to put before `npx crdtctl` (admin; the password by file, never printed). */
  crdtctlEnv(root: string): string;
}

/** Reads the server-side TLS settings of the launcher; undefined when TLS is off. */
function serverTls(env: NodeJS.ProcessEnv): TlsFiles | undefined {
  const cert = env.NATS_SERVER_TLS_CERT || undefined;
  const key = env.NATS_SERVER_TLS_KEY || undefined;
  if (cert === undefined && key === undefined) return undefined;
  if (cert === undefined || key === undefined) throw new Error('NATS_SERVER_TLS_CERT and NATS_SERVER_TLS_KEY go together');
  return { certFile: cert, keyFile: key };
}

/** Generates fresh credentials and the server config under `<dataRoot>/security`. */
export function prepareClusterSecurity(dataRoot: string, replicaIds: readonly string[], names: Partial<SecurityNames>, env: NodeJS.ProcessEnv): ClusterSecurity {
  const files: SecureNatsFiles = writeSecureNatsFiles({ dir: join(dataRoot, 'security'), replicaIds, names, tls: serverTls(env) });
  const { credentials } = files.plan;
  // By file, not by value: a password in an environment shows in `ps e` and crash reports.
  // An inherited NATS_PASSWORD is blanked, or it would clash with the file.
  const envOf = (c: AppCredential) => ({ NATS_USER: c.user, NATS_PASSWORD: '', NATS_PASSWORD_FILE: files.passwordFile(c.user), NATS_INBOX_PREFIX: c.inboxPrefix });
  return {
    natsArgs: ['-c', files.configFile],
    dir: files.dir,
    coordinatorEnv: () => envOf(credentials.coordinator),
    replicaEnv: (id) => {
      const c = credentials.replicas[id];
      if (!c) throw new Error(`no credential for replica ${id}`);
      return envOf(c);
    },
    discovery: () => discoveryCredentials(credentials),
    crdtctlEnv: (root) => {
      const file = files.passwordFile(credentials.admin.user);
      const rel = relative(root, file);
      return `NATS_USER=${credentials.admin.user} NATS_PASSWORD_FILE=${rel.startsWith('..') || isAbsolute(rel) ? file : rel}`;
    },
  };
}
