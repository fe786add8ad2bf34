/**
 * Stable codes of store failures. `STORE_IO`: SQLite or the file system failed (disk full,
 * permissions, a locked or damaged file); `STORE_CLOSED`: the store was used after
 * `close()`; `STORE_CORRUPT`: a stored row does not decode (the file was written by
 * something else, or damaged).
 */
export const STORE_ERROR_CODES = ['STORE_IO', 'STORE_CLOSED', 'STORE_CORRUPT'] as const;

/** One of `STORE_ERROR_CODES`. */
export type StoreErrorCode = (typeof STORE_ERROR_CODES)[number];

/** An I/O failure of the replica's durable store; `cause` holds the driver's error. */
export class StoreError extends Error {
  override readonly name = 'StoreError';

  constructor(
    readonly code: StoreErrorCode,
    /** The store operation that failed (`commit`, `load`, ...). */
    readonly operation: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** True when `err` is a `StoreError` (of `code`, when given). */
export function isStoreError(err: unknown, code?: StoreErrorCode): err is StoreError {
  return err instanceof StoreError && (code === undefined || err.code === code);
}
