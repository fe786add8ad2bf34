/**
 * Expected failures are values, not exceptions (STYLE.md, principle 6): a bad command
 * or a malformed op from the wire yields a `CrdtError` with a stable code, and the
 * state it was aimed at is left untouched.
 */

/** Stable, upper-case error codes that the library can produce. */
export type CrdtErrorCode =
  | 'BAD_COMMAND' // the command is not an object of a known shape for this type
  | 'UNKNOWN_COMMAND' // the command's `type` is not one this CRDT type understands
  | 'INVALID_OP' // a replicated op failed validation (wrong shape, wrong type, impossible value)
  | 'INVALID_OPTIONS' // the options given when creating a key are wrong for its type
  | 'OUT_OF_RANGE' // an index or count outside the current value (sequences)
  | 'INVALID_TRANSITION' // a lifecycle or 2P-set rule forbids the change
  | 'UNKNOWN_TYPE' // the type name is not in the catalogue
  | 'BAD_ENCODING' // an encoded state could not be decoded
  | 'BUFFER_FULL'; // the causal delivery buffer is at its bound

/** An expected failure with a stable code and a message a person can act on. */
export interface CrdtError {
  readonly code: CrdtErrorCode;
  readonly message: string;
}

/** Either a value or an error; never both. */
export type Result<T, E = CrdtError> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: E };

/** Wraps a value as a successful result. */
export function ok<T>(value: T): { readonly ok: true; readonly value: T } {
  return { ok: true, value };
}

/** Builds a failed result with a code and message. */
export function err(code: CrdtErrorCode, message: string): { readonly ok: false; readonly error: CrdtError } {
  return { ok: false, error: { code, message } };
}
