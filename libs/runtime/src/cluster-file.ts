import { chmodSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync, closeSync, fsyncSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The discovery file (issue 9): `npm start` writes `<data root>/cluster.json` (mode 0600:
 * it will hold credentials) once every app is ready, and removes it on a clean stop, so
 * that `crdtctl` finds the cluster without NATS_URL, and never a stranger's server on 4222.
 *
 * ```json
 * {"v": 1, "pid": 1234, "startedAt": "...", "prefix": "crdt", "stream": "CRDT_OPS",
 *  "nats": {"url": "nats://127.0.0.1:PORT", "monitoring": "http://127.0.0.1:PORT"},
 *  "credentials": {"client": {"user": "...", "password": "..."}, "admin": {...}},
 *  "apps": {"c1": {"pid": 1240}, "r1": {"pid": 1241, "dataDir": "...", "http": "http://127.0.0.1:PORT"}}}
 * ```
 * `credentials` is present only when the launcher made some; `http` only when an app serves it.
 */

/** The file's name inside the data root. */
export const CLUSTER_FILE_NAME = 'cluster.json';

/** A user and password, or a credentials file, for one role. */
export interface ClusterCredential {
  readonly user?: string;
  readonly password?: string;
  /** Path of a NATS `.creds` file. */
  readonly creds?: string;
}

/** One app of the cluster. */
export interface ClusterApp {
  readonly pid?: number;
  readonly dataDir?: string;
  /** Its HTTP base URL (health, metrics), when it serves one. */
  readonly http?: string;
}

/** The discovery file's content (version 1). */
export interface ClusterFile {
  readonly v: 1;
  /** The launcher's pid: the file is stale when no such process runs. */
  readonly pid: number;
  readonly startedAt: string;
  readonly prefix: string;
  readonly stream: string;
  /** The NATS to use; `pid` when the launcher started the server itself. */
  readonly nats: { readonly url: string; readonly monitoring?: string; readonly pid?: number };
  readonly credentials?: Readonly<Record<string, ClusterCredential>>;
  readonly apps: Readonly<Record<string, ClusterApp>>;
}

/** The discovery file's path for a data root. */
export function clusterFilePath(dataRoot: string): string {
  return join(dataRoot, CLUSTER_FILE_NAME);
}

/** Writes the file atomically (temp file, fsync, rename), mode 0600. */
export function writeClusterFile(dataRoot: string, content: ClusterFile): string {
  mkdirSync(dataRoot, { recursive: true });
  const file = clusterFilePath(dataRoot);
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, JSON.stringify(content, null, 2) + '\n');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  chmodSync(tmp, 0o600); // an existing temp file keeps its mode on open
  renameSync(tmp, file);
  return file;
}

/** Removes the file (never throws). */
export function removeClusterFile(dataRoot: string): void {
  rmSync(clusterFilePath(dataRoot), { force: true });
}

/** Why a discovery file cannot be used. Stable codes. */
export type ClusterFileProblem = 'MISSING' | 'UNREADABLE' | 'MALFORMED';

/** Reads and checks the file: the content, or the problem with a message for people. */
export function readClusterFile(dataRoot: string): { ok: true; file: string; content: ClusterFile } | { ok: false; file: string; problem: ClusterFileProblem; message: string } {
  const file = clusterFilePath(dataRoot);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { ok: false, file, problem: 'MISSING', message: `${file} does not exist` };
    return { ok: false, file, problem: 'UNREADABLE', message: `${file} cannot be read (${code ?? String(e)})` };
  }
  const content = parseClusterFile(text);
  if (!content) return { ok: false, file, problem: 'MALFORMED', message: `${file} is not a cluster file of version 1` };
  return { ok: true, file, content };
}

/** Parses the file's text; undefined when it is not a version-1 cluster file. */
export function parseClusterFile(text: string): ClusterFile | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const f = v as Record<string, unknown>;
  const nats = f.nats as Record<string, unknown> | undefined;
  if (f.v !== 1 || !Number.isSafeInteger(f.pid) || typeof nats !== 'object' || nats === null || typeof nats.url !== 'string') return undefined;
  if (typeof f.prefix !== 'string' || typeof f.apps !== 'object' || f.apps === null) return undefined;
  if (f.credentials !== undefined && (typeof f.credentials !== 'object' || f.credentials === null)) return undefined;
  return v as ClusterFile;
}
