import { vvGet, type Json, type VersionVector } from '#crdt';
import type { EventBatch, ReplicatedEvent } from '#protocol/replicated-event';
import { CapturingLog } from '#testing/capturing-log';
import type { ClockPort, CommitBatch, Heartbeat, NoticePort, OpStreamPort, SnapshotDelta, SnapshotKey, SnapshotRecord, SnapshotSourcePort, StoredReplica, StorePort, StrongNext, StrongPending, StrongPublish } from '../src/ports';
import type { ReplicaPorts } from '../src/replica-state';

/**
 * Tiny in-memory ports for the replication core's unit specs: each only stores and
 * hands back what it is given (no rule of the real adapters is restated here); the
 * simulator's ports are the ones that model faults.
 */

/** Resolves after the pending promise callbacks have run. */
export async function settle(turns = 20): Promise<void> {
  for (let i = 0; i < turns; i++) await Promise.resolve();
}

/** Virtual time: timers run only when the spec advances the clock. */
export class TestClock implements ClockPort {
  constructor(private now = 1_700_000_000_000) {}

  private timers: Array<{ at: number; fn: () => void; id: number }> = [];
  private nextId = 0;

  nowMs(): number {
    return this.now;
  }

  setTimer(ms: number, fn: () => void): () => void {
    const id = this.nextId++;
    this.timers.push({ at: this.now + ms, fn, id });
    return () => {
      this.timers = this.timers.filter((t) => t.id !== id);
    };
  }

  defer(fn: () => void): void {
    this.setTimer(0, fn);
  }

  /** Moves time on by `ms`, running due timers in order and letting promises settle between them. */
  async advance(ms: number): Promise<void> {
    const end = this.now + ms;
    for (;;) {
      await settle();
      this.timers.sort((a, b) => a.at - b.at || a.id - b.id);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.now = Math.max(this.now, next.at);
      next.fn();
    }
    this.now = end;
    await settle();
  }
}

/** A disk that never fails: what was committed is there at the next load. */
export class MemoryStore implements StorePort {
  replicaId: string | undefined;
  snapshot: SnapshotRecord | undefined;
  events: ReplicatedEvent[] = [];
  streamSeq = 0;
  publishedThrough = 0;
  strongPending: StrongPending | undefined;

  async load(): Promise<StoredReplica> {
    return { replicaId: this.replicaId, snapshot: this.snapshot, events: this.live(), streamSeq: this.streamSeq, publishedThrough: this.publishedThrough, ...(this.strongPending ? { strongPending: this.strongPending } : {}) };
  }
  async saveReplicaId(id: string): Promise<void> {
    this.replicaId = id;
  }
  async commit(batch: CommitBatch): Promise<void> {
    this.events.push(...batch.events);
    if (batch.streamSeq !== undefined) this.streamSeq = Math.max(this.streamSeq, batch.streamSeq);
    if (batch.publishedThrough !== undefined) this.publishedThrough = Math.max(this.publishedThrough, batch.publishedThrough);
    if (batch.strongPending !== undefined) this.strongPending = batch.strongPending ?? undefined;
  }
  async history(key: string, limit: number): Promise<ReplicatedEvent[]> {
    return this.live().filter((e) => e.key === key).slice(0, limit);
  }
  async ownEventsAfter(origin: string, afterSeq: number, limit: number): Promise<ReplicatedEvent[]> {
    return this.events.filter((e) => e.origin === origin && e.seq > afterSeq).slice(0, limit);
  }
  async snapshotKey(key: string): Promise<Json | undefined> {
    return this.snapshot?.keys.find(([k]) => k === key)?.[1];
  }
  async writeSnapshot(snapshot: SnapshotRecord): Promise<void> {
    this.snapshot = snapshot;
  }
  async writeSnapshotDelta(delta: SnapshotDelta): Promise<void> {
    const keys = new Map<string, Json>(this.snapshot?.keys.map(([k, v]) => [k, v]) ?? []);
    for (const [k, v] of delta.changed) {
      if (v === null) keys.delete(k);
      else keys.set(k, v);
    }
    this.snapshot = { epoch: delta.epoch, round: delta.round, cut: delta.cut, streamSeq: delta.streamSeq, keys: [...keys].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)) };
    this.streamSeq = Math.max(this.streamSeq, delta.streamSeq);
  }
  async latestSnapshot(): Promise<SnapshotRecord | undefined> {
    return this.snapshot;
  }
  async truncate(cut: VersionVector, rowsMax: number): Promise<number> {
    const covered = this.events.filter((e) => e.seq <= vvGet(cut, e.origin)).slice(0, rowsMax);
    this.events = this.events.filter((e) => !covered.includes(e));
    return covered.length;
  }
  async resetTo(snapshot: SnapshotRecord, streamSeq: number, keep?: { origin: string; afterSeq: number }): Promise<void> {
    // Encodings handed as JSON text (see `SnapshotKey`) are kept parsed, as `writeSnapshot` keeps them.
    this.snapshot = { ...snapshot, keys: snapshot.keys.map(([k, enc, term]): SnapshotKey => {
      const parsed = typeof enc === 'string' ? (JSON.parse(enc) as Json) : enc;
      return term ? [k, parsed, term] : [k, parsed];
    }) };
    this.streamSeq = streamSeq;
    this.events = keep ? this.events.filter((e) => e.origin === keep.origin && e.seq > keep.afterSeq) : [];
  }
  opLogLength(): number {
    return this.events.length;
  }
  /** Events not covered by the snapshot (what `load` and `history` return). */
  private live(): ReplicatedEvent[] {
    const cut = this.snapshot?.cut ?? {};
    return this.events.filter((e) => e.seq > vvGet(cut, e.origin));
  }
}

/** An op stream in memory: publishes append, and the spec delivers messages to the core. */
export class MemoryStream implements OpStreamPort {
  readonly messages: EventBatch[] = [];
  readonly republishTags: Array<string | undefined> = [];
  /** Per message: the key whose strong subject it went on, if any. */
  readonly strongKeys: Array<string | undefined> = [];
  consumingFrom = 1;
  /** The stream's JetStream replicas as the core sees them. */
  replicas = 1;

  async publish(events: readonly ReplicatedEvent[], republish?: string): Promise<number> {
    this.messages.push({ v: 1, events: events.map((e) => ({ ...e })) });
    this.republishTags.push(republish);
    this.strongKeys.push(undefined);
    return this.messages.length;
  }
  async publishStrong(event: ReplicatedEvent, expected: number): Promise<StrongPublish> {
    const current = await this.strongRevision(event.key);
    if (current !== expected) return { ok: false, revision: current };
    this.messages.push({ v: 1, events: [{ ...event }] });
    this.republishTags.push(undefined);
    this.strongKeys.push(event.key);
    return { ok: true, revision: this.messages.length };
  }
  async strongRevision(key: string): Promise<number> {
    return this.strongKeys.lastIndexOf(key) + 1;
  }
  async strongNext(key: string, after: number): Promise<StrongNext> {
    const i = this.strongKeys.findIndex((k, j) => k === key && j + 1 > after);
    if (i < 0) return { firstSeq: 1, created: 'memory' };
    const e = this.messages[i].events[0];
    return { firstSeq: 1, created: 'memory', next: { revision: i + 1, origin: e.origin, seq: e.seq } };
  }
  streamReplicas(): number | undefined {
    return this.replicas;
  }
  incarnation(): string | undefined {
    return 'memory';
  }
  async lastSeq(): Promise<number> {
    return this.messages.length;
  }
  consumeFrom(seq: number): void {
    this.consumingFrom = seq;
  }
}

/** Notices recorded, never sent. */
export class RecordingNotices implements NoticePort {
  readonly changes: Json[] = [];
  readonly beats: Heartbeat[] = [];
  readonly resendRequests: Array<{ origin: string; fromSeq: number }> = [];
  changed(_key: string, notice: Json): void {
    this.changes.push(notice);
  }
  heartbeat(beat: Heartbeat): void {
    this.beats.push(beat);
  }
  requestResend(origin: string, fromSeq: number): void {
    this.resendRequests.push({ origin, fromSeq });
  }
}

/** A snapshot store holding at most the latest snapshot. */
export class MemorySnapshots implements SnapshotSourcePort {
  latest: SnapshotRecord | undefined;
  async fetchLatest(): Promise<SnapshotRecord | undefined> {
    return this.latest;
  }
  async publish(snapshot: SnapshotRecord): Promise<void> {
    this.latest = snapshot;
  }
}

/** A full set of memory ports. */
export function memoryPorts() {
  const ports = {
    store: new MemoryStore(),
    stream: new MemoryStream(),
    notices: new RecordingNotices(),
    snapshots: new MemorySnapshots(),
    clock: new TestClock(),
    log: new CapturingLog(),
    newReplicaId: () => 'r-new',
    onFatal: (err: unknown) => {
      throw err;
    },
  } satisfies ReplicaPorts;
  return ports;
}
