import { randomBytes } from 'node:crypto';
import { natsAuthFromEnv, readLogLevel, type LogLevel, type NatsAuthOptions } from '#runtime';
import { DEFAULT_COORDINATOR_CONFIG, DEFAULT_ROUND_LIMITS, DEFAULT_ROUND_SCHEDULE, type CoordinatorConfig } from '#coordination';

/** Everything a coordinator process reads from its environment, parsed once at start. */
export interface CoordinatorSettings {
  readonly natsUrl: string;
  /** Credentials and TLS (NATS_USER, NATS_PASSWORD[_FILE], NATS_TLS_*); empty for an open server. */
  readonly natsAuth: NatsAuthOptions;
  readonly prefix: string;
  /** The op stream rounds purge. */
  readonly streamName: string;
  /** The KV bucket holding the leader lease. */
  readonly leaseBucket: string;
  /** JetStream replicas of the lease bucket (3 on a three-node NATS cluster). */
  readonly leaseBucketReplicas: number;
  readonly coordinator: CoordinatorConfig;
  /** Lines below this level are not written. */
  readonly logLevel: LogLevel;
  /** How long the first NATS connection is retried before the process gives up; 0 = forever. */
  readonly natsConnectWaitMs: number;
}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min = 0): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min) throw new Error(`${name} must be an integer ≥ ${min}, got ${JSON.stringify(raw)}`);
  return n;
}

/**
 * Reads the settings; throws naming the variable when one is malformed. Every variable,
 * with its default and meaning, is in the README's coordinator table.
 *
 * Rounds run every minute by default so a deployment compacts without anyone asking (a
 * scheduled round is skipped when no event arrived since the last one); the threshold
 * catches bursts sooner.
 */
export function readCoordinatorSettings(env: NodeJS.ProcessEnv = process.env): CoordinatorSettings {
  const id = env.COORDINATOR_ID || `c-${randomBytes(4).toString('hex')}`;
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw new Error(`COORDINATOR_ID must be 1-64 letters, digits, _ or -, got ${JSON.stringify(id)}`);
  const prefix = env.CRDT_PREFIX || 'crdt';
  const leaseBucket = env.COORDINATOR_BUCKET || `${prefix.replace(/[^A-Za-z0-9_-]/g, '_')}-coordinator`;
  if (!/^[A-Za-z0-9_-]+$/.test(leaseBucket)) throw new Error(`COORDINATOR_BUCKET may hold only letters, digits, _ and -, got ${JSON.stringify(leaseBucket)}`);
  const round = {
    ...DEFAULT_ROUND_LIMITS,
    freezeTimeoutMs: int(env, 'ROUND_FREEZE_TIMEOUT_MS', DEFAULT_ROUND_LIMITS.freezeTimeoutMs, 1),
    cutTimeoutMs: int(env, 'ROUND_CUT_TIMEOUT_MS', DEFAULT_ROUND_LIMITS.cutTimeoutMs, 1),
    commitTimeoutMs: int(env, 'ROUND_COMMIT_TIMEOUT_MS', DEFAULT_ROUND_LIMITS.commitTimeoutMs, 1),
    freezeLeaseMs: int(env, 'FREEZE_LEASE_MS', DEFAULT_ROUND_LIMITS.freezeLeaseMs, 1),
  };
  const longestPhaseMs = Math.max(round.freezeTimeoutMs, round.cutTimeoutMs, round.commitTimeoutMs, round.controlTimeoutMs);
  if (round.freezeLeaseMs <= longestPhaseMs) {
    // A lease shorter than a phase's wait thaws replicas in the middle of a healthy but slow phase.
    throw new Error(`FREEZE_LEASE_MS (${round.freezeLeaseMs}) must be longer than the longest phase timeout (${longestPhaseMs})`);
  }
  const leaseMs = int(env, 'LEASE_MS', DEFAULT_COORDINATOR_CONFIG.leaseMs, 30);
  return {
    natsUrl: env.NATS_URL || 'nats://127.0.0.1:4222',
    natsAuth: natsAuthFromEnv(env),
    prefix,
    streamName: env.CRDT_STREAM || 'CRDT_OPS',
    leaseBucket,
    leaseBucketReplicas: int(env, 'COORDINATOR_BUCKET_REPLICAS', 1, 1),
    coordinator: {
      ...DEFAULT_COORDINATOR_CONFIG,
      id,
      leaseMs,
      heartbeatTimeoutMs: int(env, 'HEARTBEAT_TIMEOUT_MS', DEFAULT_COORDINATOR_CONFIG.heartbeatTimeoutMs, 1),
      schedule: {
        ...DEFAULT_ROUND_SCHEDULE,
        intervalMs: int(env, 'ROUND_INTERVAL_MS', DEFAULT_ROUND_SCHEDULE.intervalMs),
        opLogThreshold: int(env, 'ROUND_OPLOG_THRESHOLD', DEFAULT_ROUND_SCHEDULE.opLogThreshold),
      },
      round,
    },
    logLevel: readLogLevel(env),
    natsConnectWaitMs: int(env, 'NATS_CONNECT_WAIT_MS', 300_000),
  };
}
