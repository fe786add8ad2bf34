import { DEFAULT_ROUND_LIMITS, type RoundLimits } from './round-runner';
import { DEFAULT_ROUND_SCHEDULE, type RoundScheduleConfig } from './round-scheduler';

/** Tunables of a coordinator (units last in names). */
export interface CoordinatorConfig {
  /** This coordinator's id (in the lease, logs and events). */
  readonly id: string;
  /** The leader lease's length; renewed every third of it. */
  readonly leaseMs: number;
  /** A replica silent for longer than this is no longer a member. */
  readonly heartbeatTimeoutMs: number;
  /** Most replicas tracked. */
  readonly membersMax: number;
  /** Round results kept for `status` and `rounds`. */
  readonly historyMax: number;
  /** Most bytes of the round history as stored (the oldest results are dropped to fit). */
  readonly historyStoredBytesMax: number;
  /** Round results `status` lists. */
  readonly statusRoundsMax: number;
  /** On stop, how long to let a running round finish before releasing the lease anyway. */
  readonly stopRoundWaitMs: number;
  readonly schedule: RoundScheduleConfig;
  readonly round: RoundLimits;
}

/** Defaults; `id` has none. */
export const DEFAULT_COORDINATOR_CONFIG: Omit<CoordinatorConfig, 'id'> = {
  leaseMs: 3_000,
  heartbeatTimeoutMs: 1_500,
  membersMax: 1_000,
  historyMax: 100,
  historyStoredBytesMax: 256 * 1024,
  statusRoundsMax: 10,
  stopRoundWaitMs: 15_000,
  schedule: DEFAULT_ROUND_SCHEDULE,
  round: DEFAULT_ROUND_LIMITS,
};
