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

/**
 * The broker refused to create the op stream (it is reachable, and said no): the server's
 * own code and words, and, when the adapter knows, which setting to change. Logged as an
 * error, unlike an unreachable broker, which is only waited for.
 */
export class StreamCreateRefusedError extends Error {
  constructor(
    message: string,
    /** Log fields: the server's code and error, the configured size, a hint. */
    readonly fields: Readonly<Record<string, unknown>>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StreamCreateRefusedError';
  }
}
