import type { Json, VersionVector } from '#crdt';
import type { Heartbeat, ReplicaMode } from '#protocol/heartbeat';
import type { EventBatch, ReplicatedEvent } from '#protocol/replicated-event';

export type { Heartbeat, ReplicaMode };

/**
 * The ports the replica core is built from (STYLE.md, principle 5). Production binds
 * JetStream, core NATS, SQLite and real timers; the simulator binds in-memory fakes that
 * delay, reorder, duplicate, drop, partition and crash. Same core, two worlds.
 */

/** Time and timers. The core never reads a clock or schedules anything but through this. */
export interface ClockPort {
  /** Wall-clock milliseconds since the Unix epoch (feeds the HLC and timeouts). */
  nowMs(): number;
  /** Runs `fn` after `ms`; the returned function cancels it. */
  setTimer(ms: number, fn: () => void): () => void;
  /** Runs `fn` soon, after the current burst of work (lets a group commit gather writes). */
  defer(fn: () => void): void;
}

/**
 * One key of a snapshot: its encoding and, where the store kept it, the key's digest term
 * (`StateDigest.term` of that encoding), so a load need not hash every key again before
 * the next round asks for the digest. Terms stay on this replica's disk: a snapshot
 * published for joiners carries none (a joiner computes its own).
 *
 * A store's `load` may hand the encoding as its JSON text (a string: an encoding is an
 * array, never a string), which the key space keeps as is for keys not written since
 * (parsing a million keys into objects only to turn them back into text costs the load
 * twice, and keeps every parsed key alive at once). The other way, a join hands `resetTo`
 * each encoding as its JSON text, which the store writes as it is (the same text the key
 * space keeps: one stringify per key, not two).
 */
export type SnapshotKey = readonly [key: string, encoded: Json, digestTerm?: Uint8Array];

/** A snapshot: the whole key space at a round's cut. */
export interface SnapshotRecord {
  readonly epoch: number;
  readonly round: number;
  /** The version vector the snapshot covers exactly. */
  readonly cut: VersionVector;
  /** Stream sequence to resume consuming after (everything at or before it is in the snapshot). */
  readonly streamSeq: number;
  /** Encoded keys, sorted by key. */
  readonly keys: ReadonlyArray<SnapshotKey>;
}

/**
 * The keys that changed since a replica's previous snapshot, at a round's cut: written to
 * the store in place of a whole snapshot, so a round writes what changed, not every key.
 * The store's snapshot after it: the previous one's keys with these replaced or added,
 * and this round, cut and stream position.
 */
export interface SnapshotDelta {
  readonly epoch: number;
  readonly round: number;
  readonly cut: VersionVector;
  readonly streamSeq: number;
  /** Encoded keys that changed, sorted by key, with their digest terms; `null` for a key deleted since (its row is removed). */
  readonly changed: ReadonlyArray<SnapshotKey>;
}

/** What a round's snapshot holds, without its keys (the keys stay in the store). */
export interface SnapshotSummary {
  readonly epoch: number;
  readonly round: number;
  readonly cut: VersionVector;
  readonly streamSeq: number;
  /** Keys in the snapshot. */
  readonly keys: number;
  /** Keys written by this round (changed since the previous snapshot). */
  readonly changedKeys: number;
}

/** What a replica finds on its disk at start. */
export interface StoredReplica {
  readonly replicaId: string | undefined;
  readonly snapshot: SnapshotRecord | undefined;
  /** Events applied after the snapshot, in the order they were applied. */
  readonly events: ReplicatedEvent[];
  /** Last stream sequence whose events are all applied or logged. */
  readonly streamSeq: number;
  /** Own events with seq ≤ this are known to be in JetStream. */
  readonly publishedThrough: number;
  /** A strong write whose outcome this replica had not learnt when it stopped (see `StrongPending`). */
  readonly strongPending?: StrongPending;
}

/**
 * A strong write made durable before its conditional publish: the own event (its seq is
 * taken), the revision it expects, and the stream incarnation (`BrokerStreamInfo.created`)
 * it goes to. At most one per replica. It leaves the disk in the same commit as the event
 * that takes its seq: the event itself when the stream stored it, a no-op of the same
 * origin and seq when the stream refused it (strong-commands.ts).
 */
export interface StrongPending {
  readonly event: ReplicatedEvent;
  readonly expected: number;
  readonly stream: string | undefined;
}

/** One group commit: appended events and progress markers, written atomically. */
export interface CommitBatch {
  readonly events: readonly ReplicatedEvent[];
  readonly streamSeq?: number;
  readonly publishedThrough?: number;
  /** A strong write to keep (`StrongPending`), or `null` to drop the one kept; undefined leaves it. */
  readonly strongPending?: StrongPending | null;
}

/**
 * The replica's durable store (SQLite in production). `commit` is atomic: the events and
 * the consumer position land together or not at all, so a restart resumes exactly.
 */
export interface StorePort {
  load(): Promise<StoredReplica>;
  saveReplicaId(id: string): Promise<void>;
  commit(batch: CommitBatch): Promise<void>;
  /** Events of one key since the last snapshot, oldest first, at most `limit`. */
  history(key: string, limit: number): Promise<ReplicatedEvent[]>;
  /** Own events with seq > `afterSeq`, oldest first, at most `limit` (the outbox). */
  ownEventsAfter(origin: string, afterSeq: number, limit: number): Promise<ReplicatedEvent[]>;
  /** The encoding of one key in the latest snapshot (before-sync reads). */
  snapshotKey(key: string): Promise<Json | undefined>;
  /**
   * Writes a snapshot durably. Events it covers may stay in the op log until `truncate`
   * removes them; `load` and `history` never return covered events.
   */
  writeSnapshot(snapshot: SnapshotRecord): Promise<void>;
  /**
   * Writes a snapshot as the changes to the one on disk (see `SnapshotDelta`): rewrites
   * only the changed keys' rows, atomically with the new round and position. With no
   * snapshot on disk yet, the delta must hold every key. Covered events stay until
   * `truncate`, as with `writeSnapshot`.
   */
  writeSnapshotDelta(delta: SnapshotDelta): Promise<void>;
  /** The snapshot on disk with all its keys, sorted by key, without digest terms (to publish it for joiners), or undefined. */
  latestSnapshot(): Promise<SnapshotRecord | undefined>;
  /** Deletes at most `rowsMax` op-log events covered by `cut`; resolves with how many (0: none left). */
  truncate(cut: VersionVector, rowsMax: number): Promise<number>;
  /**
   * Replaces everything with a snapshot fetched from the cluster (re-join), keeping only
   * `keep.origin`'s events with seq > `keep.afterSeq`: this replica's own events the
   * snapshot lacks, which must survive a crash before the replay brings their causal past.
   * Encodings may come as their JSON text (see `SnapshotKey`).
   */
  resetTo(snapshot: SnapshotRecord, streamSeq: number, keep?: { origin: string; afterSeq: number }): Promise<void>;
  /** Number of events in the op log. */
  opLogLength(): number;
}

/** The op stream (JetStream in production). */
export interface OpStreamPort {
  /**
   * Publishes a batch of own events; resolves with the stream sequence once stored, rejects on failure or timeout.
   * `republish` is set when events are published again on purpose (after a stream reset or a resend request):
   * it must go into the message id (see `batchMessageId`), or the server's duplicate window would drop the copies.
   */
  publish(events: readonly ReplicatedEvent[], republish?: string): Promise<number>;
  /** The stream's last sequence now (for `consistency: latest` and catch-up); rejects when unreachable. */
  lastSeq(): Promise<number>;
  /**
   * Publishes one strong event (`consistency: "strong"`) on its key's strong subject, stored
   * only if the key's last strong write is at stream sequence `expected` (0: none): the
   * stream's per-subject optimistic concurrency. Resolves with the event's revision (its
   * stream sequence), or with the key's current revision when it was not at `expected`;
   * rejects when the outcome is unknown (a retry with the same event is de-duplicated).
   */
  publishStrong(event: ReplicatedEvent, expected: number): Promise<StrongPublish>;
  /** The key's revision: the stream sequence of its last strong write (0: none). Rejects when unreachable. */
  strongRevision(key: string): Promise<number>;
  /**
   * The first strong write of `key` after revision `after` (the only place a write that
   * expected `after` can be stored), with the stream's first sequence (a write before it
   * may have been purged). Rejects when unreachable.
   */
  strongNext(key: string, after: number): Promise<StrongNext>;
  /** The op stream's JetStream replicas (`num_replicas`) as last seen; undefined before the stream was seen. */
  streamReplicas(): number | undefined;
  /** The stream's incarnation (`BrokerStreamInfo.created`) as last seen; undefined before the stream was seen. */
  incarnation(): string | undefined;
  /** (Re)starts delivering stream messages to the core from stream sequence `seq` on. */
  consumeFrom(seq: number): void;
}

/** `strongNext`: the first strong write after a revision (its origin and seq), if any, and the stream's first sequence. */
export interface StrongNext {
  readonly next?: { readonly revision: number; readonly origin: string; readonly seq: number };
  readonly firstSeq: number;
  /** The incarnation of the stream looked at (`BrokerStreamInfo.created`; undefined: the stream is gone). */
  readonly created: string | undefined;
}

/** The outcome of a strong publish: stored at `revision`, or refused because the key is at `revision`. */
export type StrongPublish = { readonly ok: true; readonly revision: number } | { readonly ok: false; readonly revision: number };

/** The outcome of a conditional publish at the broker: stored at `seq`, or refused because the subject's last message is at `lastSeq`. */
export type ConditionalPublish = { readonly ok: true; readonly seq: number } | { readonly ok: false; readonly lastSeq: number };

/** One message of the op stream as the broker delivers it: its sequence, its subject and the bytes published. */
export interface BrokerMessage {
  readonly seq: number;
  readonly subject: string;
  readonly data: Uint8Array;
}

/** What the broker says of the op stream now. */
export interface BrokerStreamInfo {
  /** First sequence still held (past the last one when the stream is empty). */
  readonly firstSeq: number;
  readonly lastSeq: number;
  /** When this stream was created: another value means it was deleted and created again. */
  readonly created: string;
  /** JetStream replicas of the stream (`num_replicas`; 1: one server holds it). */
  readonly replicas: number;
}

/** A consumer delivering the op stream's messages in order from a start sequence. */
export interface BrokerConsumer {
  /**
   * The next message. Resolves undefined once the consumer has ended (closed, or the server
   * ended it); rejects when it failed (server lost, stream gone). Either way the caller
   * starts another.
   */
  next(): Promise<BrokerMessage | undefined>;
  /** Stops delivering; a pending `next` resolves undefined. */
  close(): void;
}

/**
 * The broker under the op stream (JetStream in production, the simulated broker in the
 * simulator): bytes in, bytes out, and nothing else. Every decision about the stream
 * (gaps, purges, re-creation, stalls, re-join) is made above it, once, in
 * `stream/stream-follower.ts`.
 */
export interface StreamBrokerPort {
  /** Stores `data` under `subject`, de-duplicated by `msgId`; resolves with the message's sequence. */
  publish(subject: string, data: Uint8Array, msgId: string): Promise<number>;
  /**
   * Stores `data` under `subject` only if the subject's last message is at `expectedLastSeq`
   * (0: the subject holds none; JetStream's `Nats-Expected-Last-Subject-Sequence`),
   * de-duplicated by `msgId` first (a copy of a stored message resolves with its sequence,
   * whatever the subject holds since). Resolves refused with the subject's last sequence;
   * rejects when the outcome is unknown.
   */
  publishIfLast(subject: string, data: Uint8Array, msgId: string, expectedLastSeq: number): Promise<ConditionalPublish>;
  /** The sequence of the last message on `subject` (0: none). Rejects when the broker cannot be reached. */
  lastSeqOn(subject: string): Promise<number>;
  /** The first message on `subject` at or after `fromSeq` (undefined: none). Rejects when the broker cannot be reached. */
  nextOn(subject: string, fromSeq: number): Promise<BrokerMessage | undefined>;
  /** Starts a consumer at `fromSeq` (at the first message after it when it was purged). */
  consume(fromSeq: number): Promise<BrokerConsumer>;
  /** The stream's info; undefined when it does not exist. Rejects when the broker cannot be reached. */
  info(): Promise<BrokerStreamInfo | undefined>;
  /** Creates the stream when missing (another replica may create it first); resolves with its info. */
  create(): Promise<BrokerStreamInfo>;
}

/**
 * What an op-stream adapter drives in the core: it delivers messages in stream order and
 * reports what it sees of the stream (lost, recreated, shorter, purged past us).
 */
export interface StreamReceiver {
  /** `strongKey`: the message came on that key's strong subject (its one event is a strong write at revision `streamSeq`). */
  receive(batch: EventBatch, streamSeq: number, strongKey?: string): Promise<void>;
  streamReset(fromSeq: number): void;
  rejoin(reason: string): Promise<boolean>;
  /** Last stream sequence processed. */
  consumedSeq(): number;
  /** Events waiting for a group commit (back-pressure on the consumer). */
  pendingCommitEvents(): number;
}

/** Fire-and-forget notices on core NATS. */
export interface NoticePort {
  /** A key changed (`<prefix>.changes.<key>`). */
  changed(key: string, notice: Json): void;
  /** This replica's heartbeat (membership, progress, ack: all). */
  heartbeat(beat: Heartbeat): void;
  /**
   * Asks `holder` (by default `origin` itself) to publish `origin`'s events from `fromSeq`
   * on again: they are missing here (anti-entropy; `holder` may be any peer that has them).
   */
  requestResend(origin: string, fromSeq: number, holder?: string): void;
}

/** Where snapshots for joiners are kept (a JetStream object store in production). */
export interface SnapshotSourcePort {
  fetchLatest(): Promise<SnapshotRecord | undefined>;
  publish(snapshot: SnapshotRecord): Promise<void>;
}

/** Log lines; the core never writes to the console itself. */
export interface LogPort {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}
