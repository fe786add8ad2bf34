import type { ResumeBroadcast, RoundPhase } from '#protocol/round-messages';
import type { ClockPort, LogPort } from '#replication/ports';

/**
 * The ports the coordinator is built from (STYLE.md, principle 5). Production binds core
 * NATS request/reply, a JetStream KV bucket and the JetStream management API; the unit
 * specs bind in-memory replicas, an in-memory lease store and a manual clock.
 */

export type { ClockPort, LogPort, ResumeBroadcast };

/** The per-replica round requests (`<prefix>.replica.<id>.<phase>`; the protocol's command table lists them). */
export type ReplicaPhase = RoundPhase;

/** Why a request to a replica got no reply. */
export type ReplicaRequestFailure = 'TIMEOUT' | 'NO_RESPONDERS' | 'TRANSPORT';

/**
 * A request to one replica got no reply (an I/O failure, not a refusal: refusals are
 * `{ok:false}` replies). Keeps the transport's error as `cause`.
 */
export class ReplicaRequestError extends Error {
  constructor(
    readonly failure: ReplicaRequestFailure,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'ReplicaRequestError';
  }
}

/** True when `e` is a `ReplicaRequestError`. */
export function isReplicaRequestError(e: unknown): e is ReplicaRequestError {
  return e instanceof Error && e.name === 'ReplicaRequestError' && 'failure' in e;
}

/** What a round needs from the world. */
export interface RoundPorts {
  /**
   * Sends one plain-JSON request to replica `replicaId` and resolves with its parsed reply.
   * Rejects (preferably with `ReplicaRequestError`) when no reply comes within `timeoutMs`.
   */
  request(replicaId: string, phase: ReplicaPhase, body: Record<string, unknown>, timeoutMs: number): Promise<unknown>;
  /** Publishes `<prefix>.round.resume` to every replica, members or not (fire and forget). */
  broadcastResume(body: ResumeBroadcast): void;
  /** Purges the op stream, keeping messages with sequence ≥ `keepFromSeq`. Rejects on failure. */
  purgeStream(keepFromSeq: number): Promise<void>;
  /** Publishes one round progress event (`<prefix>.rounds.events`, fire and forget). */
  emit(event: Record<string, unknown>): void;
  readonly clock: ClockPort;
  readonly log: LogPort;
}

/** The leader lease's value, as stored under the key `leader`. */
export interface LeaseRecord {
  /** The holder's coordinator id; empty when the lease was released. */
  readonly id: string;
  /** The leadership term: higher on every change of leader. */
  readonly epoch: number;
  /** The holder's wall clock when it lapses (informational; expiry is judged by silence). */
  readonly expiresAtMs: number;
}

/** The lease's stored entry. */
export interface LeaseEntry {
  /** Undefined when the entry is deleted or does not parse. */
  readonly value: LeaseRecord | undefined;
  /** The store's revision of the entry (compare-and-set token). */
  readonly revision: number;
}

/**
 * A compare-and-set register holding the leader lease (a NATS KV key in production).
 * A lost race is an expected outcome (`undefined`); an unreachable store rejects.
 */
export interface LeaseStorePort {
  /** The current entry; undefined when the key was never written. */
  read(): Promise<LeaseEntry | undefined>;
  /** Writes the entry only if the key is absent (or deleted); the new revision, or undefined when another writer was first. */
  create(value: LeaseRecord): Promise<number | undefined>;
  /** Writes the entry only if its revision is still `revision`; the new revision, or undefined when it moved. */
  update(value: LeaseRecord, revision: number): Promise<number | undefined>;
}
