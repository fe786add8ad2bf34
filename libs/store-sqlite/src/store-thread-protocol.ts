import type { StorePort } from '#replication/ports';
import { StoreError, STORE_ERROR_CODES, type StoreErrorCode } from './store-error';

/**
 * The messages between `ThreadedSqliteStore` (the replica's thread) and the store thread
 * (`store-thread.ts`) that runs the one real `SqliteStore`. A call names a `StorePort`
 * method and carries its arguments as they are (structured clone); the reply carries the
 * method's result or its error, and the store's op-log length after the call, which the
 * caller's side mirrors for the synchronous `opLogLength()`. Nothing here decides anything
 * about the data: that stays in `SqliteStore`.
 */

/** The asynchronous `StorePort` methods, plus `close`: everything the thread answers. */
export type StoreMethod = Exclude<keyof StorePort, 'opLogLength'> | 'close';

/** The store the thread holds: a `StorePort` that can be closed. */
export type ClosableStore = StorePort & { close(): Promise<void> };

/** One call to the store thread. */
export interface StoreCall {
  readonly id: number;
  readonly method: StoreMethod;
  readonly args: readonly unknown[];
}

/** An error as it crosses the thread boundary (a `StoreError`, or a plain `Error` for a bad argument). */
export interface WireError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
  readonly code?: StoreErrorCode;
  readonly operation?: string;
  readonly cause?: { readonly name: string; readonly message: string };
}

/** The answer to one call. */
export type StoreReply =
  | { readonly id: number; readonly ok: true; readonly value: unknown; readonly opLogLength: number }
  | { readonly id: number; readonly ok: false; readonly error: WireError; readonly opLogLength: number };

/** What the thread says once, after it opened the store (or failed to). */
export type StoreThreadReady = { readonly ready: true; readonly opLogLength: number } | { readonly ready: false; readonly error: WireError };

/** The thread's side: an error thrown by the store, as plain data. */
export function errorToWire(err: unknown): WireError {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err) };
  const cause = (err as { cause?: unknown }).cause;
  return {
    name: err.name,
    message: err.message,
    stack: err.stack,
    code: err instanceof StoreError ? err.code : undefined,
    operation: err instanceof StoreError ? err.operation : undefined,
    cause: cause instanceof Error ? { name: cause.name, message: cause.message } : cause === undefined ? undefined : { name: 'Error', message: String(cause) },
  };
}

/** The caller's side: the error again, a `StoreError` with its code and cause when it was one. */
export function errorFromWire(w: WireError): Error {
  const cause = w.cause ? Object.assign(new Error(w.cause.message), { name: w.cause.name }) : undefined;
  const err =
    w.code !== undefined && (STORE_ERROR_CODES as readonly string[]).includes(w.code)
      ? new StoreError(w.code, w.operation ?? 'unknown', w.message, cause ? { cause } : undefined)
      : new Error(w.message, cause ? { cause } : undefined);
  if (w.stack) err.stack = w.stack;
  return err;
}
