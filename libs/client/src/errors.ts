import { ERROR_CODES, type ErrorCode } from '#protocol';

/**
 * Typed errors of the client (after nats.js's jserrors): one class with a stable `code`,
 * `retryable` and the `cause`, plus predicates. Protocol codes and their retryability
 * come from libs/protocol's catalogue; the client adds codes for what never reached a
 * replica's answer.
 */

/** Failures of the transport, before or instead of a replica's reply. */
export const CLIENT_ERROR_CODES = {
  NO_RESPONDERS: { retryable: true, meaning: 'no replica listens on the subject (none running, or the named replica is down)' },
  REQUEST_TIMEOUT: { retryable: true, meaning: 'no reply within the request timeout; an update may or may not have been applied (a retry with the same rid is applied at most once)' },
  BAD_REPLY: { retryable: false, meaning: 'the reply is not a JSON object of this protocol' },
  CLOSED: { retryable: false, meaning: 'the connection is closed' },
} as const;

/** A code of the client's own. */
export type ClientErrorCode = keyof typeof CLIENT_ERROR_CODES;

/** Every code a `CrdtError` can carry. */
export type CrdtErrorCode = ErrorCode | ClientErrorCode;

/** True when `code` may succeed if the same request is sent again. */
export function isRetryableCode(code: string): boolean {
  const known = (ERROR_CODES as Record<string, { retryable: boolean }>)[code] ?? (CLIENT_ERROR_CODES as Record<string, { retryable: boolean }>)[code];
  return known?.retryable ?? false;
}

/** An error reply of a replica, or a transport failure, as an `Error`. */
export class CrdtError extends Error {
  override readonly name: string = 'CrdtError';
  readonly retryable: boolean;

  constructor(
    readonly code: CrdtErrorCode,
    message: string,
    /** The whole error reply when a replica answered (a TIMEOUT on update carries `replica`, `seq`, `token`). */
    readonly reply?: Readonly<Record<string, unknown>>,
    options?: ErrorOptions,
  ) {
    super(`${code}: ${message}`, options);
    this.retryable = isRetryableCode(code);
  }

  /** For an update: true when the write is known to be applied (a TIMEOUT reply names its event). */
  get applied(): boolean {
    return typeof this.reply?.seq === 'number';
  }
}

/**
 * A compare-and-set that lost (`CONFLICT`): the key was not at the revision the write
 * expected; nothing was applied. Not retryable as it is: read, decide, and send a new
 * compare-and-set expecting `revision` (docs/protocol.md §17).
 */
export class ConflictError extends CrdtError {
  override readonly name = 'ConflictError';

  constructor(
    message: string,
    /** The key's current revision (0: no strong write in the stream). */
    readonly revision: number,
    reply?: Readonly<Record<string, unknown>>,
  ) {
    super('CONFLICT', message, reply);
  }
}

/** True when `e` is a `CrdtError`, optionally with the given code. */
export function isCrdtError(e: unknown, code?: CrdtErrorCode): e is CrdtError {
  return e instanceof CrdtError && (code === undefined || e.code === code);
}
