import type { VersionVector } from '#crdt/causality/version-vector';
import type { RoundId } from '#protocol/round-messages';
import type { CoordinationErrorCode } from './error-codes';
import type { ReplicaPhase } from './ports';

export type { RoundId };

/** Orders round ids: epochs first, then rounds (the replicas' order, see round-participant.ts). */
export function compareRoundIds(a: RoundId, b: RoundId): number {
  return a.epoch !== b.epoch ? a.epoch - b.epoch : a.round - b.round;
}

/** How a round can end. */
export const ROUND_OUTCOMES = ['committed', 'aborted'] as const;

/** How a round ended. */
export type RoundOutcome = (typeof ROUND_OUTCOMES)[number];

/** What can start a round. */
export const ROUND_TRIGGERS = ['manual', 'schedule', 'threshold'] as const;

/** What started a round. */
export type RoundTrigger = (typeof ROUND_TRIGGERS)[number];

/** Why one replica failed a phase. */
export interface RoundFailure {
  readonly replica?: string;
  readonly phase: ReplicaPhase | 'start';
  readonly code: CoordinationErrorCode;
  /** The replica's own error code when it refused (`REFUSED`). */
  readonly replicaCode?: string;
  readonly message: string;
}

/**
 * Durations of a round, milliseconds on the coordinator's clock. A phase the round did
 * not reach counts 0.
 */
export interface RoundTimings {
  /** First freeze sent → last freeze reply. */
  readonly freezeMs: number;
  /** Cut sent → last digest reply. */
  readonly cutMs: number;
  /** Commit sent → last commit reply. */
  readonly commitMs: number;
  /** Round start → round end (resume confirmed, stream purged). */
  readonly totalMs: number;
  /**
   * First freeze sent → resume sent: the longest any member held client writes in this
   * round. The figure the product reports as "freeze time".
   */
  readonly writesHeldMs: number;
}

/** The record of one round (the reply to `sync`, an entry of `rounds` and of `status`). */
export interface RoundResult {
  readonly epoch: number;
  readonly round: number;
  readonly outcome: RoundOutcome;
  readonly trigger: RoundTrigger;
  /** A sentence for people when aborted. */
  readonly reason?: string;
  /** The stable code of the first failure when aborted. */
  readonly code?: CoordinationErrorCode;
  /** Every failure seen (one per failing replica). */
  readonly failures?: readonly RoundFailure[];
  /** Member replica ids, sorted. */
  readonly members: readonly string[];
  /** The cut sent to the members (empty when the round aborted before it). */
  readonly cut: VersionVector;
  /** The digest all members agreed on. */
  readonly digest?: string;
  /** Each member's digest, when they differed. */
  readonly digests?: Readonly<Record<string, string>>;
  /** Keys whose per-key digests differ (at most `mismatchedKeysMax` of them). */
  readonly mismatchedKeys?: readonly string[];
  /** How many keys differ in all. */
  readonly mismatchedKeysTotal?: number;
  /**
   * Members whose digest differed from the majority's: the majority committed without them
   * and they re-join from its snapshot (the mismatch itself is in `digests` and `mismatchedKeys`).
   */
  readonly repaired?: readonly string[];
  /** The member that published the snapshot for joiners. */
  readonly publisher?: string;
  /** The stream was purged below this sequence (messages ≥ it are kept). */
  readonly keepFromSeq?: number;
  /** Why the purge failed (the round is committed all the same; the next one purges further). */
  readonly purgeError?: string;
  readonly timings: RoundTimings;
  /** Coordinator wall clock when the round started. */
  readonly startedAtMs: number;
  /** The coordinator that ran it. */
  readonly coordinator: string;
}

/** Phases reported on `<prefix>.rounds.events`, in the order a round reaches them. */
export const ROUND_EVENT_PHASES = ['started', 'frozen', 'cut', 'mismatch', 'committed', 'resumed', 'purged', 'done'] as const;

/** One of the phases reported on `<prefix>.rounds.events`. */
export type RoundEventPhase = (typeof ROUND_EVENT_PHASES)[number];

/** One round progress event, as published (`done` carries the whole result). */
export interface RoundEvent {
  readonly v: 1;
  readonly coordinator: string;
  readonly epoch: number;
  readonly round: number;
  readonly phase: RoundEventPhase;
  readonly atMs: number;
  readonly [field: string]: unknown;
}
