/** Tunables of a replica; every queue, batch and wait is bounded (units last in names). */
export interface ReplicaLimits {
  /** Events the causal buffer holds back waiting for dependencies. */
  readonly causalPendingMax: number;
  /** Open bounded waits (`after`, `latest`, `ack`). */
  readonly waitsMax: number;
  /** Writes held during a round's freeze. */
  readonly heldWritesMax: number;
  /** How long a write is held during a freeze before it is refused with `FROZEN`. */
  readonly holdMs: number;
  /** Events in one group commit. */
  readonly eventsPerCommitMax: number;
  /**
   * How long other replicas' events (read from the stream) may wait for their group commit
   * when nothing else is committing: they are durable in the stream already, and a crash
   * before the commit only reads them again from the stored position. Own writes, rounds
   * and a backlog of `eventsPerCommitMax` commit at once (and take the waiting ones along).
   * 0: commit them at once too.
   */
  readonly remoteCommitDelayMs: number;
  /** Outbox: events in memory, per message, bytes per message, retry back-off. */
  readonly outboxMemoryEventsMax: number;
  readonly publishBatchEventsMax: number;
  readonly publishBatchBytesMax: number;
  readonly publishRetryMsMin: number;
  readonly publishRetryMsMax: number;
  /** Heartbeat period, and how long a silent peer counts as live. */
  readonly heartbeatMs: number;
  /** Stale state-digest terms brought up to date per heartbeat in Work mode (so a round's cut finds few left). */
  readonly digestRefreshKeysPerBeat: number;
  /** Least time between two progress heartbeats (sent after applying events). */
  readonly progressBeatMs: number;
  readonly peerTimeoutMs: number;
  /** After events wait this long for a missing dependency, ask its origin to resend. */
  readonly resendAfterMs: number;
  /** Most events a `history` reply lists. */
  readonly historyEventsMax: number;
  /** How long a freeze waits for the outbox to drain, and a cut for the events it needs. */
  readonly freezeFlushMs: number;
  readonly cutWaitMs: number;
  /** Op-log events deleted per step when a round truncates (steps yield to other work in between). */
  readonly truncateRowsPerStep: number;
  readonly truncatePauseMs: number;
  /**
   * Maximum clock offset (CockroachDB's `--max-offset`): the HLC never moves further than
   * this ahead of the wall clock; a remote event further ahead is held until the clock
   * catches up; a replica whose clock is this far from its peers' takes no writes (`CLOCK_SKEW`).
   */
  readonly clockOffsetMaxMs: number;
  /** A remote event further ahead than this is refused (never applied, never counted as delivered), not held. */
  readonly clockOffsetHardMaxMs: number;
  /** A wall-clock step larger than this between two readings stops writes until a peer's heartbeat confirms the clock. */
  readonly clockJumpMaxMs: number;
  /** How long writes wait for that confirmation (after a step, or a start with peers) before the replica trusts its clock anyway. */
  readonly clockConfirmWaitMs: number;
  /** A blind strong write (no `expect`) refused because another strong write came first is stamped again and retried at most this many times. */
  readonly strongAttemptsMax: number;
  /**
   * How long a strong publish whose outcome is unknown (no ack, no refusal) is retried with
   * the same message id in one go; past it the replica logs and goes on trying (the write
   * is pending on disk, and the next own seq is held until its outcome is known).
   */
  readonly strongSettleMs: number;
  /** Pause between retries of a strong publish whose outcome is unknown. */
  readonly strongRetryMs: number;
  /**
   * Strong writes and linearizable reads on an op stream with more than one JetStream
   * replica: `refuse` (they answer `STRONG_UNAVAILABLE`) unless the operator knows the
   * deployment's nats-server checks `Nats-Expected-Last-Subject-Sequence` atomically on a
   * replicated stream (`trust-server`). nats-server 2.9.10 does not: concurrent publishes
   * expecting the same last sequence are all stored (docs/protocol.md §17).
   */
  readonly strongOnReplicatedStream: StrongOnReplicatedStream;
}

/** See `ReplicaLimits.strongOnReplicatedStream`. */
export type StrongOnReplicatedStream = 'refuse' | 'trust-server';

/** Defaults, sized for a replica on one core with SQLite on local disk. */
export const DEFAULT_REPLICA_LIMITS: ReplicaLimits = {
  causalPendingMax: 100_000,
  waitsMax: 10_000,
  heldWritesMax: 10_000,
  holdMs: 2_000,
  eventsPerCommitMax: 10_000,
  remoteCommitDelayMs: 10,
  outboxMemoryEventsMax: 50_000,
  publishBatchEventsMax: 1_000,
  publishBatchBytesMax: 512 * 1024,
  publishRetryMsMin: 50,
  publishRetryMsMax: 2_000,
  heartbeatMs: 200,
  digestRefreshKeysPerBeat: 5_000,
  progressBeatMs: 5,
  peerTimeoutMs: 1_500,
  resendAfterMs: 1_000,
  historyEventsMax: 1_000,
  freezeFlushMs: 3_000,
  cutWaitMs: 5_000,
  truncateRowsPerStep: 2_000,
  truncatePauseMs: 5,
  clockOffsetMaxMs: 500,
  clockOffsetHardMaxMs: 60_000,
  clockJumpMaxMs: 2_000,
  clockConfirmWaitMs: 60_000,
  strongAttemptsMax: 16,
  strongSettleMs: 60_000,
  strongRetryMs: 200,
  strongOnReplicatedStream: 'refuse',
};
