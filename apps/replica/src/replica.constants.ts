/** Injection tokens of the replica app. */
export const SETTINGS = Symbol('ReplicaSettings');
export const LOGGER = Symbol('Logger');
export const NATS_CONNECTION = Symbol('NatsConnection');
export const STORE = Symbol('SqliteStore');
export const OP_STREAM = Symbol('JetStreamOpStream');
export const REPLICA_CORE = Symbol('ReplicaCore');

/** Client commands, answered on `<prefix>.api.<command>` and `<prefix>.replica.<id>.<command>`. */
export const CLIENT_COMMANDS = ['create', 'update', 'get', 'keys', 'history', 'before-sync', 'status'] as const;
/** Round commands from the coordinator, answered only on `<prefix>.replica.<id>.<command>`. */
export const ROUND_COMMANDS = ['freeze', 'cut', 'commit', 'resume', 'digests'] as const;
