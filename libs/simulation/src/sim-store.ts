import type { Json, VersionVector } from '#crdt';
import type { CommitBatch, SnapshotDelta, SnapshotRecord, StoredReplica, StorePort } from '#replication/ports';
import type { ReplicatedEvent } from '#replication/replicated-event';
import type { Prng } from './prng';
import type { Life, Scheduler } from './scheduler';

/** One op-log row, kept as JSON text as SQLite keeps it (nothing is shared with memory). */
interface Row {
  readonly origin: string;
  readonly seq: number;
  readonly key: string;
  readonly text: string;
}

/** What survives a crash: exactly what the SQLite file holds (see apps/replica/src/storage/sqlite-store.ts). */
interface Durable {
  replicaId: string | undefined;
  /** The snapshot as JSON text. */
  snapshot: string | undefined;
  /** Op-log rows in insertion order (SQLite's `id`). */
  rows: Row[];
  /** `origin:seq` of every row, for ON CONFLICT DO NOTHING. */
  index: Set<string>;
  streamSeq: number;
  publishedThrough: number;
}

/** True when the snapshot's cut covers the row (it only waits for truncation). */
function covered(cut: VersionVector, r: Row): boolean {
  return Object.prototype.hasOwnProperty.call(cut, r.origin) && r.seq <= cut[r.origin];
}

/** A write or read waiting for the disk. */
interface DiskOp {
  readonly label: string;
  /** Runs the operation against the durable state (atomically); its result settles the caller. */
  readonly run: () => unknown;
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: unknown) => void;
  readonly life: Life;
  /** True for writes (only those matter at a crash). */
  readonly write: boolean;
}

/** What the simulator watches on a disk. */
export interface DiskObserver {
  /** A commit landed (atomically). */
  committed(replica: string, batch: CommitBatch): void;
  /** A snapshot landed and truncated the op log. */
  snapshotWritten(replica: string, snapshot: SnapshotRecord): void;
  /** A re-join replaced everything with a snapshot. */
  reset(replica: string, snapshot: SnapshotRecord): void;
}

/** Disk timing and faults of one replica. */
export interface DiskBehaviour {
  /** Time one operation takes, milliseconds. */
  ioMsMin: number;
  ioMsMax: number;
  /** Until this virtual time every operation is slow (a stalled disk). */
  stalledUntilMs: number;
  /** Probability that a commit fails with an I/O error (the core then stops: onFatal). */
  commitFailureP: number;
}

/** A failure of the simulated disk, as the SQLite store's `StoreError` would report it. */
export class SimStoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SimStoreError';
  }
}

/**
 * One replica's disk. Operations run one at a time in arrival order, each taking a
 * little virtual time, like the synchronous SQLite store they stand in for. A crash
 * settles the operations still waiting: a prefix of the waiting writes lands whole (the
 * length chosen by the seed: a write caught mid-fsync either made it or not), the rest
 * is lost, and nothing is ever half-written. Whatever landed survives the restart.
 */
export class SimDisk {
  private readonly durable: Durable = { replicaId: undefined, snapshot: undefined, rows: [], index: new Set(), streamSeq: 0, publishedThrough: 0 };
  private queue: DiskOp[] = [];
  private busy = false;
  /** Bumped by a crash, so the service timer of a dead process's operation does nothing. */
  private epoch = 0;
  readonly behaviour: DiskBehaviour = { ioMsMin: 0, ioMsMax: 2, stalledUntilMs: 0, commitFailureP: 0 };

  constructor(
    readonly replica: string,
    private readonly scheduler: Scheduler,
    private readonly prng: Prng,
    private readonly observer: DiskObserver,
  ) {}

  /** A store port for one process lifetime over this disk. */
  open(life: Life): SimStore {
    return new SimStore(this, life);
  }

  /** The process died: waiting writes land as a prefix chosen by the seed, the rest is lost. */
  crash(): { landed: number; lost: number } {
    const writes = this.queue.filter((op) => op.write);
    const landing = this.prng.int(0, writes.length);
    for (let i = 0; i < landing; i++) {
      try {
        writes[i].run();
      } catch {
        // a failing write lands as nothing
      }
    }
    this.queue = [];
    this.busy = false;
    this.epoch++;
    return { landed: landing, lost: writes.length - landing };
  }

  /** Events in the op log now. */
  get opLogLength(): number {
    return this.durable.rows.length;
  }

  /** The replica id on disk. */
  get replicaId(): string | undefined {
    return this.durable.replicaId;
  }

  /** The round of the snapshot on disk (for diagnostics). */
  snapshotRound(): { epoch: number; round: number } | undefined {
    if (this.durable.snapshot === undefined) return undefined;
    const s = JSON.parse(this.durable.snapshot) as SnapshotRecord;
    return { epoch: s.epoch, round: s.round };
  }

  /** Own events on disk with seq above `seq` (for diagnostics). */
  rowsOf(origin: string): number[] {
    return this.durable.rows.filter((r) => r.origin === origin).map((r) => r.seq);
  }

  /** Queues an operation for `life`; it settles only while `life` lasts. */
  submit<T>(life: Life, label: string, write: boolean, run: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ label, run, resolve: resolve as (v: unknown) => void, reject, life, write });
      this.kick();
    });
  }

  private kick(): void {
    if (this.busy || this.queue.length === 0) return;
    this.busy = true;
    const b = this.behaviour;
    let ms = this.prng.int(b.ioMsMin, b.ioMsMax);
    if (this.scheduler.nowMs < b.stalledUntilMs) ms += b.stalledUntilMs - this.scheduler.nowMs;
    const epoch = this.epoch;
    this.scheduler.after(ms, `disk ${this.replica}`, () => {
      if (epoch !== this.epoch) return;
      const op = this.queue.shift();
      this.busy = false;
      if (op) {
        // The operation lands even if its process has just died (it was on its way to
        // the platter); only the reply is lost then.
        let result: unknown;
        let failed: unknown;
        let ok = true;
        try {
          result = op.run();
        } catch (e) {
          ok = false;
          failed = e;
        }
        if (op.life.alive) {
          if (ok) op.resolve(result);
          else op.reject(failed);
        }
      }
      this.kick();
    });
  }

  // ---------------------------------------------------------------- the SQLite store's transactions

  load(): StoredReplica {
    const d = this.durable;
    const cut = this.snapshotCut();
    return {
      replicaId: d.replicaId,
      snapshot: d.snapshot === undefined ? undefined : (JSON.parse(d.snapshot) as SnapshotRecord),
      // A crash between a snapshot and its truncation leaves covered events behind; load skips them.
      events: d.rows.filter((r) => !covered(cut, r)).map((r) => JSON.parse(r.text) as ReplicatedEvent),
      streamSeq: d.streamSeq,
      publishedThrough: d.publishedThrough,
    };
  }

  saveReplicaId(id: string): void {
    this.durable.replicaId = id;
  }

  commit(batch: CommitBatch): void {
    if (this.prng.chance(this.behaviour.commitFailureP)) throw new SimStoreError(`commit failed: disk I/O error (simulated) on ${this.replica}`);
    const d = this.durable;
    for (const e of batch.events) {
      const id = `${e.origin}:${e.seq}`;
      if (d.index.has(id)) continue; // ON CONFLICT ("origin", "seq") DO NOTHING
      d.index.add(id);
      d.rows.push({ origin: e.origin, seq: e.seq, key: e.key, text: JSON.stringify(e) });
    }
    if (batch.streamSeq !== undefined) d.streamSeq = batch.streamSeq;
    if (batch.publishedThrough !== undefined) d.publishedThrough = batch.publishedThrough;
    this.observer.committed(this.replica, batch);
  }

  history(key: string, limit: number): ReplicatedEvent[] {
    const out: ReplicatedEvent[] = [];
    const cut = this.snapshotCut();
    for (const r of this.durable.rows) {
      if (out.length >= limit) break;
      if (r.key === key && !covered(cut, r)) out.push(JSON.parse(r.text) as ReplicatedEvent);
    }
    return out;
  }

  ownEventsAfter(origin: string, afterSeq: number, limit: number): ReplicatedEvent[] {
    return this.durable.rows
      .filter((r) => r.origin === origin && r.seq > afterSeq)
      .sort((a, b) => a.seq - b.seq)
      .slice(0, limit)
      .map((r) => JSON.parse(r.text) as ReplicatedEvent);
  }

  snapshotKey(key: string): Json | undefined {
    if (this.durable.snapshot === undefined) return undefined;
    const snap = JSON.parse(this.durable.snapshot) as SnapshotRecord;
    const hit = snap.keys.find(([k]) => k === key);
    return hit ? (hit[1] as Json) : undefined;
  }

  /** The covered events stay until `truncate`, as in the SQLite store. */
  writeSnapshot(snapshot: SnapshotRecord): void {
    const d = this.durable;
    d.snapshot = JSON.stringify(snapshot);
    d.streamSeq = Math.max(d.streamSeq, snapshot.streamSeq);
    this.observer.snapshotWritten(this.replica, snapshot);
  }

  /** The SQLite store's delta: the changed keys' rows replaced or added, with the new round and position. */
  writeSnapshotDelta(delta: SnapshotDelta): void {
    const d = this.durable;
    const keys = new Map<string, Json>(d.snapshot === undefined ? [] : (JSON.parse(d.snapshot) as SnapshotRecord).keys.map(([k, v]) => [k, v as Json]));
    for (const [k, v] of delta.changed) keys.set(k, v as Json);
    const merged: SnapshotRecord = {
      epoch: delta.epoch,
      round: delta.round,
      cut: delta.cut,
      streamSeq: delta.streamSeq,
      keys: [...keys].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    };
    d.snapshot = JSON.stringify(merged);
    d.streamSeq = Math.max(d.streamSeq, delta.streamSeq);
    this.observer.snapshotWritten(this.replica, merged);
  }

  latestSnapshot(): SnapshotRecord | undefined {
    return this.durable.snapshot === undefined ? undefined : (JSON.parse(this.durable.snapshot) as SnapshotRecord);
  }

  /** Deletes at most `rowsMax` events covered by `cut`, origin by origin (the SQLite store's order). */
  truncate(cut: VersionVector, rowsMax: number): number {
    const d = this.durable;
    let deleted = 0;
    for (const [origin, seq] of Object.entries(cut)) {
      if (deleted >= rowsMax) break;
      const keep: Row[] = [];
      for (const r of d.rows) {
        if (deleted < rowsMax && r.origin === origin && r.seq <= seq) {
          deleted++;
          d.index.delete(`${r.origin}:${r.seq}`);
        } else keep.push(r);
      }
      d.rows = keep;
    }
    return deleted;
  }

  private snapshotCut(): VersionVector {
    return this.durable.snapshot === undefined ? {} : (JSON.parse(this.durable.snapshot) as SnapshotRecord).cut;
  }

  resetTo(snapshot: SnapshotRecord, streamSeq: number, keep?: { origin: string; afterSeq: number }): void {
    const d = this.durable;
    d.rows = keep ? d.rows.filter((r) => r.origin === keep.origin && r.seq > keep.afterSeq) : [];
    d.index = new Set(d.rows.map((r) => `${r.origin}:${r.seq}`));
    d.snapshot = JSON.stringify(snapshot);
    d.streamSeq = streamSeq;
    this.observer.reset(this.replica, snapshot);
  }
}

/** The `StorePort` one process lifetime sees: every call goes through its disk's queue. */
export class SimStore implements StorePort {
  constructor(
    private readonly disk: SimDisk,
    private readonly life: Life,
  ) {}

  load(): Promise<StoredReplica> {
    return this.disk.submit(this.life, 'load', false, () => this.disk.load());
  }

  saveReplicaId(id: string): Promise<void> {
    return this.disk.submit(this.life, 'saveReplicaId', true, () => this.disk.saveReplicaId(id));
  }

  commit(batch: CommitBatch): Promise<void> {
    // The batch is serialised now, as SQLite would: later changes to the objects must not reach the disk.
    const copy = JSON.parse(JSON.stringify(batch)) as CommitBatch;
    if (copy.events.length === 0 && copy.streamSeq === undefined && copy.publishedThrough === undefined) return Promise.resolve();
    return this.disk.submit(this.life, 'commit', true, () => this.disk.commit(copy));
  }

  history(key: string, limit: number): Promise<ReplicatedEvent[]> {
    return this.disk.submit(this.life, 'history', false, () => this.disk.history(key, limit));
  }

  ownEventsAfter(origin: string, afterSeq: number, limit: number): Promise<ReplicatedEvent[]> {
    return this.disk.submit(this.life, 'ownEventsAfter', false, () => this.disk.ownEventsAfter(origin, afterSeq, limit));
  }

  snapshotKey(key: string): Promise<Json | undefined> {
    return this.disk.submit(this.life, 'snapshotKey', false, () => this.disk.snapshotKey(key));
  }

  writeSnapshot(snapshot: SnapshotRecord): Promise<void> {
    const copy = JSON.parse(JSON.stringify(snapshot)) as SnapshotRecord;
    return this.disk.submit(this.life, 'writeSnapshot', true, () => this.disk.writeSnapshot(copy));
  }

  writeSnapshotDelta(delta: SnapshotDelta): Promise<void> {
    const copy = JSON.parse(JSON.stringify(delta)) as SnapshotDelta;
    return this.disk.submit(this.life, 'writeSnapshotDelta', true, () => this.disk.writeSnapshotDelta(copy));
  }

  latestSnapshot(): Promise<SnapshotRecord | undefined> {
    return this.disk.submit(this.life, 'latestSnapshot', false, () => this.disk.latestSnapshot());
  }

  truncate(cut: VersionVector, rowsMax: number): Promise<number> {
    const copy = { ...cut };
    return this.disk.submit(this.life, 'truncate', true, () => this.disk.truncate(copy, rowsMax));
  }

  resetTo(snapshot: SnapshotRecord, streamSeq: number, keep?: { origin: string; afterSeq: number }): Promise<void> {
    const copy = JSON.parse(JSON.stringify(snapshot)) as SnapshotRecord;
    return this.disk.submit(this.life, 'resetTo', true, () => this.disk.resetTo(copy, streamSeq, keep));
  }

  opLogLength(): number {
    return this.disk.opLogLength;
  }
}
