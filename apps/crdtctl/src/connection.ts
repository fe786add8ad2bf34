import { resolve } from 'node:path';
import { readClusterFile, type ClusterCredential } from '#runtime/cluster-file';

/**
 * Where crdtctl connects (issue 9, the discovery file):
 * 1. `NATS_URL` when set (and `CRDT_PREFIX`, default crdt): an explicit choice wins;
 * 2. otherwise `<DATA_ROOT>/cluster.json` (DATA_ROOT default `./data`), which `npm start`
 *    writes once its cluster is ready and removes on a clean stop, with the URL, the
 *    subject prefix and, when the launcher made them, credentials;
 * 3. otherwise nothing: crdtctl never guesses `nats://127.0.0.1:4222`, where another
 *    program's server may listen, and says how to point it at a cluster instead.
 */

/** A resolved connection. */
export interface ResolvedConnection {
  readonly url: string;
  readonly prefix: string;
  /** What the URL came from, for messages. */
  readonly source: 'NATS_URL' | 'cluster-file';
  /** The discovery file used, when `source` is cluster-file. */
  readonly file?: string;
  /** Credentials per role from the discovery file, when it has them. */
  readonly credentials?: Readonly<Record<string, ClusterCredential>>;
}

/** No connection could be resolved: stable code and lines for people. */
export interface UnresolvedConnection {
  readonly code: 'NO_CLUSTER' | 'STALE_CLUSTER_FILE' | 'BAD_CLUSTER_FILE';
  readonly lines: readonly string[];
}

/** True when a process with this pid runs (the launcher that wrote the file). */
function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Resolves the connection from the environment and, failing `NATS_URL`, the discovery file. */
export function resolveConnection(env: NodeJS.ProcessEnv, cwd = process.cwd(), isRunning: (pid: number) => boolean = processRuns): ResolvedConnection | UnresolvedConnection {
  if (env.NATS_URL) return { url: env.NATS_URL, prefix: env.CRDT_PREFIX || 'crdt', source: 'NATS_URL' };
  const dataRoot = resolve(cwd, env.DATA_ROOT || 'data');
  const read = readClusterFile(dataRoot);
  const how = 'start a cluster with `npm start` (it writes that file), set DATA_ROOT to its data root, or set NATS_URL (e.g. NATS_URL=nats://127.0.0.1:4222 for docker-compose)';
  if (!read.ok) {
    if (read.problem === 'MISSING') return { code: 'NO_CLUSTER', lines: [`error: NATS_URL is not set and there is no cluster file ${read.file}`, `hint: ${how}`] };
    return { code: 'BAD_CLUSTER_FILE', lines: [`error: NATS_URL is not set and ${read.message}`, `hint: ${how}`] };
  }
  const c = read.content;
  if (!isRunning(c.pid)) {
    return {
      code: 'STALE_CLUSTER_FILE',
      lines: [`error: ${read.file} is left over from a cluster that is gone (its launcher, pid ${c.pid}, no longer runs)`, `hint: ${how}`],
    };
  }
  return { url: c.nats.url, prefix: env.CRDT_PREFIX || c.prefix, source: 'cluster-file', file: read.file, credentials: c.credentials };
}

/** True when the resolution failed. */
export function isUnresolved(r: ResolvedConnection | UnresolvedConnection): r is UnresolvedConnection {
  return 'code' in r;
}
