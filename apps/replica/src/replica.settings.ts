import { join } from 'node:path';
import type { StrongOnReplicatedStream } from '#replication';
import { natsAuthFromEnv, readLogLevel, type LogLevel, type NatsAuthOptions } from '#runtime';

/** Everything a replica process reads from its environment, parsed once at start. */
export interface ReplicaSettings {
  readonly natsUrl: string;
  /** Credentials and TLS (NATS_USER, NATS_PASSWORD[_FILE], NATS_TLS_*); empty for an open server. */
  readonly natsAuth: NatsAuthOptions;
  readonly prefix: string;
  readonly streamName: string;
  /** JetStream replicas of the op stream (3 on a three-node NATS cluster). */
  readonly streamReplicas: number;
  /** Bytes the op stream may hold; past it, publishes fail and outboxes wait for a round's purge. */
  readonly streamBytesMax: number;
  readonly snapshotBucket: string;
  readonly replicaId: string | undefined;
  readonly dataDir: string;
  readonly sqliteSynchronous: 'FULL' | 'NORMAL';
  /**
   * Run the SQLite store on a worker thread, so its commits' fsyncs leave the event loop
   * free. Off by default: on the two shared cores it was measured on (issue 11) the thread
   * hand-offs cost more than the sync they free the loop from.
   */
  readonly sqliteThread: boolean;
  readonly publishTimeoutMs: number;
  readonly streamCheckMs: number;
  /** Lines below this level are not written. */
  readonly logLevel: LogLevel;
  /** How long the first NATS connection is retried before the process gives up; 0 = forever. */
  readonly natsConnectWaitMs: number;
  /** Strong requests on a replicated op stream: refused, or trusted to the server (`ReplicaLimits.strongOnReplicatedStream`). */
  readonly strongOnReplicatedStream: StrongOnReplicatedStream;
}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
  return n;
}

/** Reads the settings; throws with the variable's name when one is malformed. */
export function readReplicaSettings(env: NodeJS.ProcessEnv = process.env): ReplicaSettings {
  const replicaId = env.REPLICA_ID || undefined;
  if (replicaId !== undefined && !/^[A-Za-z0-9_-]{1,64}$/.test(replicaId)) {
    throw new Error(`REPLICA_ID must be 1-64 letters, digits, _ or -, got ${JSON.stringify(replicaId)}`);
  }
  const sync = (env.SQLITE_SYNCHRONOUS ?? 'FULL').toUpperCase();
  if (sync !== 'FULL' && sync !== 'NORMAL') throw new Error('SQLITE_SYNCHRONOUS must be FULL or NORMAL');
  const strong = env.STRONG_ON_REPLICATED_STREAM || 'refuse';
  if (strong !== 'refuse' && strong !== 'trust-server') throw new Error(`STRONG_ON_REPLICATED_STREAM must be refuse or trust-server, got ${JSON.stringify(strong)}`);
  const thread = (env.SQLITE_THREAD ?? '0').trim();
  if (thread !== '0' && thread !== '1') throw new Error(`SQLITE_THREAD must be 1 (a store thread) or 0 (in-process), got ${JSON.stringify(env.SQLITE_THREAD)}`);
  const prefix = env.CRDT_PREFIX || 'crdt';
  const streamName = env.CRDT_STREAM || 'CRDT_OPS';
  return {
    natsUrl: env.NATS_URL || 'nats://127.0.0.1:4222',
    natsAuth: natsAuthFromEnv(env),
    prefix,
    streamName,
    streamReplicas: int(env, 'CRDT_STREAM_REPLICAS', 1),
    streamBytesMax: int(env, 'CRDT_STREAM_BYTES_MAX', 8 * 1024 ** 3),
    snapshotBucket: env.CRDT_SNAPSHOT_BUCKET || `${streamName}_SNAPSHOTS`,
    replicaId,
    dataDir: env.DATA_DIR || join(process.cwd(), 'data', replicaId ?? 'replica'),
    sqliteSynchronous: sync,
    sqliteThread: thread === '1',
    publishTimeoutMs: int(env, 'PUBLISH_TIMEOUT_MS', 5_000),
    streamCheckMs: int(env, 'STREAM_CHECK_MS', 1_000),
    logLevel: readLogLevel(env),
    natsConnectWaitMs: int(env, 'NATS_CONNECT_WAIT_MS', 300_000),
    strongOnReplicatedStream: strong,
  };
}
