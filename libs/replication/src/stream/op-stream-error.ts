/** A failure talking to the broker under the op stream, with the cause kept. */
export class OpStreamError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OpStreamError';
  }
}

/** True when `e` is an `OpStreamError`. */
export function isOpStreamError(e: unknown): e is OpStreamError {
  return e instanceof OpStreamError;
}
