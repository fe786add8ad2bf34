/**
 * Stable codes of the coordinator's failed replies and aborted rounds. `crdtctl` and
 * operators switch on these; messages are for people. `retryable` says whether the same
 * request may succeed later unchanged.
 */
export const COORDINATION_ERROR_CODES = {
  BAD_REQUEST: { retryable: false, meaning: 'the admin request is not JSON, or a field is of the wrong type' },
  NOT_LEADER: { retryable: true, meaning: 'this coordinator does not hold the leader lease (now, or any more: it lost it during the round)' },
  STOPPING: { retryable: true, meaning: 'the coordinator is shutting down' },
  NO_MEMBERS: { retryable: true, meaning: 'no replica has sent a heartbeat recently, so there is nobody to compact' },
  REPLICA_STARTING: { retryable: true, meaning: 'a live replica is still catching up with the stream; the round was not started and no write was held' },
  TIMEOUT: { retryable: true, meaning: 'a replica did not answer a round phase within its bounded wait' },
  UNREACHABLE: { retryable: true, meaning: 'nobody answers for a replica that sent heartbeats (it stopped, or lost its connection)' },
  REFUSED: { retryable: true, meaning: 'a replica answered a round phase with an error (its own code and message are in the failure)' },
  BAD_REPLY: { retryable: false, meaning: 'a replica answered with something that is not a reply of the round protocol' },
  DIGEST_MISMATCH: { retryable: false, meaning: 'replicas reached the same cut with different states: a replication bug; the differing keys are named' },
  INTERNAL: { retryable: true, meaning: 'an unexpected failure inside the coordinator; it was logged' },
} as const;

/** One of the coordinator's error codes. */
export type CoordinationErrorCode = keyof typeof COORDINATION_ERROR_CODES;

/** A failed coordinator reply, exactly as sent on the wire. */
export interface CoordinationErrorReply {
  readonly ok: false;
  readonly error: { readonly code: CoordinationErrorCode; readonly message: string };
}

/** Builds a failed coordinator reply. */
export function coordinationError(code: CoordinationErrorCode, message: string): CoordinationErrorReply {
  return { ok: false, error: { code, message } };
}
