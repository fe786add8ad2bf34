/**
 * Stable error codes of the client protocol. Clients switch on these; messages are for
 * people. `retryable` says whether the same request may succeed later unchanged.
 */
export const ERROR_CODES = {
  BAD_REQUEST: { retryable: false, meaning: 'the request is not JSON, or a field is missing or of the wrong type' },
  UNKNOWN_COMMAND: { retryable: false, meaning: 'the subject names no command of this protocol version' },
  NOT_FOUND: { retryable: false, meaning: 'the key does not exist (create it, or pass "type" with the update)' },
  TYPE_MISMATCH: { retryable: false, meaning: 'the key exists with another CRDT type' },
  UNKNOWN_TYPE: { retryable: false, meaning: 'the CRDT type name is not in the catalogue' },
  INVALID_OP: { retryable: false, meaning: 'the op does not fit the key\'s type, or its values are out of range' },
  INVALID_OPTIONS: { retryable: false, meaning: 'the create options are wrong for the type' },
  TOO_LARGE: { retryable: false, meaning: 'the request, key, batch or value passes a documented limit' },
  TIMEOUT: { retryable: true, meaning: 'a bounded wait ran out; for an eventual update or a delete the write IS applied and durable locally and will replicate (the reply carries replica, seq and token): follow up with "after", do not resend; for a strong write the outcome is not known yet (it may or may not take effect): read the key with "consistency": "linearizable" to learn which' },
  NOT_CAUGHT_UP: { retryable: true, meaning: 'the replica did not reach the requested causal point within the bounded wait' },
  FROZEN: { retryable: true, meaning: 'a compaction round held the write longer than the hold limit; nothing was applied' },
  OVERLOADED: { retryable: true, meaning: 'a bounded queue is full; nothing was applied' },
  UNAVAILABLE: { retryable: true, meaning: 'the replica is starting, stopping or rejoining' },
  CLOCK_SKEW: { retryable: true, meaning: 'the replica\'s wall clock disagrees with its peers\' (or jumped) by more than the configured maximum offset; it takes no writes until it is back in range; nothing was applied, send the write to another replica' },
  CONFLICT: { retryable: false, meaning: 'a strong write\'s "expect" did not match the key\'s current revision (another strong write came first); nothing was applied; the reply carries the current "revision": read, decide, and send a new compare-and-set' },
  STRONG_UNSUPPORTED: { retryable: false, meaning: '"consistency": "strong" or "linearizable" was asked of a key whose CRDT type does not take it (only the types listed in docs/protocol.md do, lww-register among them)' },
  STRONG_UNAVAILABLE: { retryable: false, meaning: '"consistency": "strong" or "linearizable" is turned off on this deployment: the op stream is replicated (num_replicas > 1), and the nats-server in use does not check a publish\'s expected last subject sequence atomically on a replicated stream, so a compare-and-set could let two writes win (docs/protocol.md §17); set STRONG_ON_REPLICATED_STREAM=trust-server only for a server known to check it' },
  INTERNAL: { retryable: true, meaning: 'an unexpected failure inside the replica; it was logged' },
} as const;

/** One of the protocol's error codes. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** The error part of a failed reply. */
export interface ProtocolError {
  readonly code: ErrorCode;
  readonly message: string;
}

/** A failed reply, exactly as sent on the wire. */
export interface ErrorReply {
  readonly ok: false;
  readonly error: ProtocolError;
}

/** Builds a failed reply. */
export function errorReply(code: ErrorCode, message: string): ErrorReply {
  return { ok: false, error: { code, message } };
}

/** True when a reply is a failure. */
export function isErrorReply(v: unknown): v is ErrorReply {
  return typeof v === 'object' && v !== null && (v as { ok?: unknown }).ok === false;
}
