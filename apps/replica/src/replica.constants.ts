/** Injection tokens of the replica app. */
export const SETTINGS = Symbol('ReplicaSettings');
export const LOGGER = Symbol('Logger');
export const NATS_CONNECTION = Symbol('NatsConnection');
export const STORE = Symbol('SqliteStore');
export const OP_STREAM = Symbol('JetStreamOpStream');
export const REPLICA_CORE = Symbol('ReplicaCore');

/** The runtime's optional health and metrics hooks (`ReplicaInstruments`). */
export const INSTRUMENTS = Symbol('ReplicaInstruments');
/** Where the controller reports each answered request (null: nowhere). */
export const REQUEST_METRICS = Symbol('RequestMetrics');

/** Counts one answered request (command, reply, seconds taken). */
export interface RequestMetrics {
  request(command: string, reply: unknown, seconds: number): void;
}
