/**
 * The typed client of crdt-nats (`crdt-nats/client`): connect, typed handles per CRDT
 * type, generic update/get, watch, sessions with causal tokens, typed errors, retries.
 */
export { connect, wrap, CrdtStore, type ConnectOptions } from './store';
export { Session, type SessionOptions } from './session';
export * from './handles';
export { ConflictError, CrdtError, isCrdtError, isRetryableCode, CLIENT_ERROR_CODES, type CrdtErrorCode, type ClientErrorCode } from './errors';
export { RETRY_DEFAULTS, backoffMs, type RetryPolicy } from './retry';
export { watchSubject, type ChangeNotice, type WatchOptions } from './watch';
export { REPLICA_LIVE_MS } from './replica-directory';
export type { CommandOf, ValueOf, TypeName, Json } from '#crdt';
export { ERROR_CODES, type ErrorCode } from '#protocol';
