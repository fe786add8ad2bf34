import { canonicalJson, type Json } from '#crdt';
import type { LeaseEntry, LeaseRecord } from '#coordination/ports';
import type { SnapshotRecord } from '#replication/ports';

/** One stored stream message: the encoded batch, as JetStream keeps the bytes. */
export interface StoredMessage {
  readonly seq: number;
  readonly msgId: string;
  readonly subject: string;
  readonly data: string;
}

/** `streams.info(...).state` and `created`, the fields the adapter reads. */
export interface StreamInfo {
  readonly created: string;
  readonly first_seq: number;
  readonly last_seq: number;
  readonly messages: number;
}

/** The result of a publish at the server. */
export type PublishOutcome =
  | { readonly ok: true; readonly seq: number; readonly duplicate: boolean }
  | { readonly ok: false; readonly error: string; readonly wrongLastSeq?: number };

/** One incarnation of the op stream (a deleted and recreated stream is a new one). */
class StreamInstance {
  /** Messages with contiguous sequence numbers, starting at `base`. */
  msgs: StoredMessage[] = [];
  base = 1;
  /** Nats-Msg-Id → sequence and when it was stored (the duplicate window). */
  dedup = new Map<string, { seq: number; atMs: number }>();

  constructor(readonly created: string) {}

  get lastSeq(): number {
    return this.base + this.msgs.length - 1;
  }

  info(): StreamInfo {
    const last = this.lastSeq;
    const first = this.msgs.length > 0 ? this.base : last === 0 ? 0 : last + 1;
    return { created: this.created, first_seq: first, last_seq: last, messages: this.msgs.length };
  }
}

/**
 * The NATS server with JetStream, as the replicas and coordinators use it: the op stream
 * (sequence numbers, `Nats-Msg-Id` de-duplication within a window, purge, loss of the
 * unsynced tail in a broker crash, deletion and re-creation), the object store holding
 * the snapshot for joiners, and the KV key holding the coordinators' leader lease. Calls
 * here happen at the moment a request reaches the server; the network adds the delays.
 */
export class SimBroker {
  /** False during a broker outage: nothing reaches JetStream. */
  up = true;
  private stream: StreamInstance | undefined;
  private generation = 0;
  private latestSnapshot: string | undefined;
  private lease: { value: string | undefined; revision: number } | undefined;
  private leaseRevision = 0;
  private readonly appendListeners = new Set<() => void>();
  /** Counts for the report. */
  readonly stats = { published: 0, duplicates: 0, lostTail: 0, purged: 0, deleted: 0, created: 0 };

  /**
   * Every (origin, seq) ever stored, with its content: an origin must never publish two
   * different events under one (origin, seq), across stream re-creations too (copies from
   * a republish or a peer are the same event). Checked at the server, where every publish
   * of every replica arrives.
   */
  private readonly contentOf = new Map<string, string>();

  constructor(
    private readonly duplicateWindowMs: number,
    /** Told of an (origin, seq) published with different content (a violation). */
    private readonly onConflict: (text: string) => void = () => undefined,
  ) {
    this.create();
  }

  // ---------------------------------------------------------------- the op stream

  /** True when the stream exists. */
  get exists(): boolean {
    return this.stream !== undefined;
  }

  /** Creates the stream when missing; returns its info. */
  create(): StreamInfo {
    if (!this.stream) {
      this.stream = new StreamInstance(`created-${++this.generation}`);
      this.stats.created++;
    }
    return this.stream.info();
  }

  /** Deletes the stream (an operator's mistake, a lost volume). */
  deleteStream(): void {
    if (!this.stream) return;
    this.stream = undefined;
    this.stats.deleted++;
  }

  /** The stream's info, or undefined when it does not exist. */
  info(): StreamInfo | undefined {
    return this.stream?.info();
  }

  /**
   * Stores a batch (de-duplicated by `msgId` within the window). With `expectedLastSubjectSeq`
   * (`Nats-Expected-Last-Subject-Sequence`), only when the subject's last message is at it
   * (0: none), checked after the de-duplication, as JetStream does.
   */
  publish(msgId: string, subject: string, data: string, nowMs: number, from: 'replica' | 'forger' = 'replica', expectedLastSubjectSeq?: number): PublishOutcome {
    const s = this.stream;
    if (!s) return { ok: false, error: 'no responders: stream not found' };
    for (const [id, d] of s.dedup) {
      if (nowMs - d.atMs <= this.duplicateWindowMs) break;
      s.dedup.delete(id);
    }
    const dup = s.dedup.get(msgId);
    if (dup) {
      // Like JetStream, a purge does not forget ids still in the window.
      this.stats.duplicates++;
      return { ok: true, seq: dup.seq, duplicate: true };
    }
    if (expectedLastSubjectSeq !== undefined) {
      const last = this.lastSeqOn(subject);
      if (last !== expectedLastSubjectSeq) return { ok: false, error: `wrong last sequence: ${last}`, wrongLastSeq: last };
    }
    // A forger's batch (a fault) is no origin's publish: what the origins publish is checked.
    if (from === 'replica') this.checkContent(msgId, data);
    const seq = s.lastSeq + 1;
    s.msgs.push({ seq, msgId, subject, data });
    s.dedup.delete(msgId);
    s.dedup.set(msgId, { seq, atMs: nowMs });
    this.stats.published++;
    for (const l of [...this.appendListeners]) l();
    return { ok: true, seq, duplicate: false };
  }

  private checkContent(msgId: string, data: string): void {
    let batch: { events?: Array<Record<string, unknown>> };
    try {
      batch = JSON.parse(data) as { events?: Array<Record<string, unknown>> };
    } catch {
      return; // not a batch: the replicas' own check refuses it
    }
    for (const e of batch.events ?? []) {
      const id = `${String(e.origin)}#${String(e.seq)}`;
      const content = canonicalJson([e.key, e.type, e.options, e.ops, e.time, e.deps] as Json);
      const before = this.contentOf.get(id);
      if (before === undefined) this.contentOf.set(id, content);
      else if (before !== content) this.onConflict(`${id} was published with different content (message ${msgId}): first ${before.slice(0, 200)}, now ${content.slice(0, 200)}`);
    }
  }

  /** The sequence of the last message on `subject` still held (0: none). */
  lastSeqOn(subject: string): number {
    const s = this.stream;
    if (!s) return 0;
    for (let i = s.msgs.length - 1; i >= 0; i--) if (s.msgs[i].subject === subject) return s.msgs[i].seq;
    return 0;
  }

  /** The first message on `subject` at or after `fromSeq` still held; undefined when none. */
  nextOn(subject: string, fromSeq: number): StoredMessage | undefined {
    const s = this.stream;
    if (!s) return undefined;
    for (const m of s.msgs) if (m.seq >= fromSeq && m.subject === subject) return m;
    return undefined;
  }

  /** The message at `seq`, or the first one after it when `seq` was purged; undefined past the end. */
  messageFrom(seq: number): StoredMessage | undefined {
    const s = this.stream;
    if (!s || s.msgs.length === 0) return undefined;
    const i = Math.max(0, seq - s.base);
    return s.msgs[i];
  }

  /** Calls `fn` once on the next append (a consumer waiting at the end of the stream). */
  onNextAppend(fn: () => void): () => void {
    const once = () => {
      this.appendListeners.delete(once);
      fn();
    };
    this.appendListeners.add(once);
    return () => this.appendListeners.delete(once);
  }

  /** A broker crash before fsync: the last `count` messages are gone (acknowledged or not). */
  loseTail(count: number): number {
    const s = this.stream;
    if (!s) return 0;
    const n = Math.min(count, s.msgs.length);
    const lost = s.msgs.splice(s.msgs.length - n, n);
    for (const m of lost) if (s.dedup.get(m.msgId)?.seq === m.seq) s.dedup.delete(m.msgId);
    this.stats.lostTail += n;
    return n;
  }

  /** Removes every message below `keepFromSeq`. */
  purge(keepFromSeq: number): boolean {
    const s = this.stream;
    if (!s) return false;
    const keep = Math.min(keepFromSeq, s.lastSeq + 1);
    const drop = keep - s.base;
    if (drop <= 0) return true;
    const last = s.lastSeq;
    s.msgs.splice(0, drop);
    s.base = keep;
    if (s.msgs.length === 0) s.base = last + 1;
    this.stats.purged += drop;
    return true;
  }

  // ---------------------------------------------------------------- the snapshot object store

  /** Stores the snapshot for joiners as the object's text (replaces the previous one). */
  putSnapshot(text: string): void {
    this.latestSnapshot = text;
  }

  /** The latest snapshot's text. */
  getSnapshot(): string | undefined {
    return this.latestSnapshot;
  }

  // ---------------------------------------------------------------- the leader lease (a KV key)

  leaseRead(): LeaseEntry | undefined {
    if (!this.lease) return undefined;
    return { value: this.lease.value === undefined ? undefined : (JSON.parse(this.lease.value) as LeaseRecord), revision: this.lease.revision };
  }

  leaseCreate(value: LeaseRecord): number | undefined {
    if (this.lease && this.lease.value !== undefined) return undefined;
    this.lease = { value: JSON.stringify(value), revision: ++this.leaseRevision };
    return this.lease.revision;
  }

  leaseUpdate(value: LeaseRecord, revision: number): number | undefined {
    if (!this.lease || this.lease.revision !== revision) return undefined;
    this.lease = { value: JSON.stringify(value), revision: ++this.leaseRevision };
    return this.lease.revision;
  }
}
