import {
  isJson,
  isNonEmptyString,
  isNat,
  isObject,
  isTimestamp,
  isTypeName,
  isVersionVector,
  type CausalEvent,
  type Json,
  type Timestamp,
  type TypeName,
  type VersionVector,
} from '#crdt';

/** Version of the replication envelope; bumped on any incompatible change. */
export const EVENT_VERSION = 1;

/**
 * The unit of replication: one client write (one op or an atomic batch) on one key.
 * `origin`/`seq` identify it and give exactly-once delivery; `deps` gives causal order;
 * `time` is the origin's HLC reading; `type`/`options` name the CRDT the ops are for
 * (an update of a missing key creates it, so every event can create its key).
 */
export interface ReplicatedEvent extends CausalEvent {
  readonly v: typeof EVENT_VERSION;
  readonly origin: string;
  readonly seq: number;
  readonly time: Timestamp;
  readonly deps: VersionVector;
  readonly key: string;
  readonly type: TypeName;
  readonly options: Json;
  readonly ops: Json[];
  /**
   * A key-level delete (docs/protocol.md §4.8): `ops` is empty, `type`/`options` name the
   * variant the origin showed, and the event removes every event on `key` it covers
   * (its `deps` and the origin's earlier events). Absent on every other event.
   */
  readonly delete?: true;
}

/** One JetStream message: a batch of consecutive events of one origin. */
export interface EventBatch {
  readonly v: typeof EVENT_VERSION;
  readonly events: ReplicatedEvent[];
}

/** The events a delete covers: its `deps` and every earlier event of its origin. */
export function deleteContext(e: ReplicatedEvent): VersionVector {
  return { ...e.deps, [e.origin]: e.seq - 1 };
}

/** Checks the envelope of an event from the wire (the ops are checked by their type later). */
export function isReplicatedEvent(v: unknown): v is ReplicatedEvent {
  return (
    isObject(v) &&
    v.v === EVENT_VERSION &&
    isNonEmptyString(v.origin) &&
    isNat(v.seq) &&
    v.seq > 0 &&
    isTimestamp(v.time) &&
    isVersionVector(v.deps) &&
    isNonEmptyString(v.key) &&
    isTypeName(v.type) &&
    isJson(v.options) &&
    Array.isArray(v.ops) &&
    (v.delete === undefined || (v.delete === true && v.ops.length === 0))
  );
}

/** Decodes a JetStream message body into a batch; undefined when it is not one. */
export function decodeEventBatch(data: Uint8Array): EventBatch | undefined {
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.length).toString('utf8'));
  } catch {
    return undefined;
  }
  if (!isObject(body) || body.v !== EVENT_VERSION || !Array.isArray(body.events)) return undefined;
  if (!body.events.every(isReplicatedEvent)) return undefined;
  return body as unknown as EventBatch;
}

/** Encodes a batch for the wire. */
export function encodeEventBatch(events: readonly ReplicatedEvent[]): Uint8Array {
  return Buffer.from(JSON.stringify({ v: EVENT_VERSION, events }));
}

/**
 * The JetStream message id of a batch: duplicates of it within the window are dropped by the server.
 * A retry after a lost ack reuses the id (so the batch is stored once); a deliberate republish
 * carries its `republish` tag, so the server stores the copy even if the same batch was
 * published within the window (a resend request must not be swallowed as a duplicate).
 */
export function batchMessageId(events: readonly ReplicatedEvent[], republish?: string): string {
  const id = `${events[0].origin}:${events[0].seq}-${events[events.length - 1].seq}`;
  return republish ? `${id}~${republish}` : id;
}
