/** Injection tokens of the replica app. */
export const SETTINGS = Symbol('ReplicaSettings');
export const LOGGER = Symbol('Logger');
export const NATS_CONNECTION = Symbol('NatsConnection');
export const STORE = Symbol('SqliteStore');
export const OP_STREAM = Symbol('JetStreamOpStream');
export const REPLICA_CORE = Symbol('ReplicaCore');

/** Client commands (from the protocol's command table; kept for code that still imports them here). */
export { CLIENT_COMMAND_NAMES as CLIENT_COMMANDS, ROUND_COMMAND_NAMES as ROUND_COMMANDS } from '#protocol';
