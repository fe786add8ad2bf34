import type BetterSqlite3 from 'better-sqlite3';
import type { Json, VersionVector } from '#crdt';
import type { CommitBatch, SnapshotDelta, SnapshotRecord, StoredReplica, StorePort } from '#replication/ports';
import type { ReplicatedEvent } from '#replication/replicated-event';
import { openMemoryDatabase, SqliteStore, type MigratedSchema } from '#store-sqlite';
import type { Prng } from './prng';
import type { Life, Scheduler } from './scheduler';

/** What the simulator watches on a disk: the writes that landed, fed by the fault layer. */
export interface DiskObserver {
  /** A commit landed. */
  committed(replica: string, batch: CommitBatch): void;
  /** A snapshot landed. */
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

/** A store operation waiting for the disk. */
interface DiskOp {
  /** The store method, for the observer. */
  readonly method: keyof StorePort;
  /** Runs the operation on the process's real store; the store does its whole transaction before this returns. */
  readonly run: () => Promise<unknown>;
  /** The written record the observer is told about (writes only). */
  readonly record?: unknown;
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: unknown) => void;
  readonly life: Life;
}

/** Store methods that write: only those can land or be lost at a crash. */
const WRITES: ReadonlySet<keyof StorePort> = new Set<keyof StorePort>(['saveReplicaId', 'commit', 'writeSnapshot', 'writeSnapshotDelta', 'truncate', 'resetTo']);

/**
 * One replica's disk: the fault layer under the real store (`SqliteStore` from
 * libs/store-sqlite, on an in-memory SQLite database that outlives the replica's
 * processes). Every rule about what a write keeps, hides or deletes is the store's; this
 * layer only decides *when* each store call reaches the database, and which ones never do.
 *
 * Calls run one at a time in arrival order, each after a seeded delay (longer while the
 * disk is stalled), like the synchronous store behind one connection. A crash settles
 * the calls still waiting: a seed-chosen prefix of the waiting writes lands, each whole
 * (each store call is one SQLite transaction), and the rest is lost; no reply reaches the
 * dead process. A commit can fail: SQLite refuses its writes, and the store rolls it
 * back and rejects with its `STORE_IO` error.
 *
 * The layer sits at the transaction boundary rather than under SQLite's file I/O:
 * better-sqlite3 offers no VFS hook from JavaScript, and a transaction is the unit SQLite
 * makes atomic on a real disk anyway.
 */
export class SimDisk {
  /** The disk's contents: what survives every crash. */
  private readonly db: BetterSqlite3.Database;
  private queue: DiskOp[] = [];
  private busy = false;
  /** Bumped by a crash, so the service timer of a dead process's operation does nothing. */
  private epoch = 0;
  /** Epoch and round of the last snapshot that landed (for diagnostics of a process that is down). */
  private lastSnapshot: { epoch: number; round: number } | undefined;
  readonly behaviour: DiskBehaviour = { ioMsMin: 0, ioMsMax: 2, stalledUntilMs: 0, commitFailureP: 0 };

  constructor(
    readonly replica: string,
    /** The production store schema (`migratedSchema()`): the disk starts as an empty database made from it. */
    schema: MigratedSchema,
    private readonly scheduler: Scheduler,
    private readonly prng: Prng,
    private readonly observer: DiskObserver,
  ) {
    this.db = openMemoryDatabase(schema);
  }

  /** The store one process lifetime opens on this disk: a fresh `SqliteStore`, as a restarted process opens one. */
  open(life: Life): SimStore {
    return new SimStore(this, life, new SqliteStore(this.db));
  }

  /** The process died: waiting writes land as a prefix chosen by the seed, the rest is lost. */
  crash(): { landed: number; lost: number } {
    const writes = this.queue.filter((op) => WRITES.has(op.method));
    const landing = this.prng.int(0, writes.length);
    // The process is gone: a landed write's reply goes nowhere, a failed one lands as nothing.
    for (let i = 0; i < landing; i++) this.perform(writes[i]).catch(() => undefined);
    this.queue = [];
    this.busy = false;
    this.epoch++;
    return { landed: landing, lost: writes.length - landing };
  }

  /** The round of the last snapshot written to this disk (for diagnostics). */
  snapshotRound(): { epoch: number; round: number } | undefined {
    return this.lastSnapshot;
  }

  /** Frees the database (the run is over). */
  close(): void {
    this.queue = [];
    this.epoch++;
    this.db.close();
  }

  /** Queues a store call of `life`; it settles only while `life` lasts. */
  submit<T>(life: Life, method: keyof StorePort, run: () => Promise<T>, record?: unknown): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ method, run, record, resolve: resolve as (v: unknown) => void, reject, life });
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
        this.perform(op).then(
          (result) => {
            if (op.life.alive) op.resolve(result);
          },
          (err: unknown) => {
            if (op.life.alive) op.reject(err);
          },
        );
      }
      this.kick();
    });
  }

  /**
   * Runs one call on the real store and tells the observer what landed. A commit the seed
   * fails runs with the database refusing writes (`query_only`), so SQLite fails the
   * transaction, rolls it back and the store reports it as it reports any I/O failure.
   */
  private async perform(op: DiskOp): Promise<unknown> {
    const fail = op.method === 'commit' && this.prng.chance(this.behaviour.commitFailureP);
    let pending: Promise<unknown>;
    if (fail) this.db.pragma('query_only = ON');
    try {
      pending = op.run();
    } finally {
      if (fail) this.db.pragma('query_only = OFF');
    }
    const result = await pending;
    this.observe(op);
    return result;
  }

  private observe(op: DiskOp): void {
    switch (op.method) {
      case 'commit':
        this.observer.committed(this.replica, op.record as CommitBatch);
        break;
      case 'writeSnapshotDelta': {
        // The observer checks whole snapshots: the one the store holds after the delta landed.
        const s = (op.record as { snapshot?: SnapshotRecord }).snapshot;
        if (s) {
          this.lastSnapshot = { epoch: s.epoch, round: s.round };
          this.observer.snapshotWritten(this.replica, s);
        }
        break;
      }
      case 'writeSnapshot':
      case 'resetTo': {
        const s = op.record as SnapshotRecord;
        this.lastSnapshot = { epoch: s.epoch, round: s.round };
        if (op.method === 'writeSnapshot') this.observer.snapshotWritten(this.replica, s);
        else this.observer.reset(this.replica, s);
        break;
      }
      default:
        break;
    }
  }
}

/**
 * The `StorePort` one process lifetime sees: the real store, every call passed through
 * its disk's queue. Arguments are copied when the call is made, as the synchronous
 * production store serialises them then: later changes to the objects must not reach the
 * disk.
 */
export class SimStore implements StorePort {
  constructor(
    private readonly disk: SimDisk,
    private readonly life: Life,
    private readonly store: SqliteStore,
  ) {}

  load(): Promise<StoredReplica> {
    return this.disk.submit(this.life, 'load', () => this.store.load());
  }

  saveReplicaId(id: string): Promise<void> {
    return this.disk.submit(this.life, 'saveReplicaId', () => this.store.saveReplicaId(id));
  }

  commit(batch: CommitBatch): Promise<void> {
    const copy = clone(batch);
    return this.disk.submit(this.life, 'commit', () => this.store.commit(copy), copy);
  }

  history(key: string, limit: number): Promise<ReplicatedEvent[]> {
    return this.disk.submit(this.life, 'history', () => this.store.history(key, limit));
  }

  ownEventsAfter(origin: string, afterSeq: number, limit: number): Promise<ReplicatedEvent[]> {
    return this.disk.submit(this.life, 'ownEventsAfter', () => this.store.ownEventsAfter(origin, afterSeq, limit));
  }

  snapshotKey(key: string): Promise<Json | undefined> {
    return this.disk.submit(this.life, 'snapshotKey', () => this.store.snapshotKey(key));
  }

  writeSnapshot(snapshot: SnapshotRecord): Promise<void> {
    const copy = clone(snapshot);
    return this.disk.submit(this.life, 'writeSnapshot', () => this.store.writeSnapshot(copy), copy);
  }

  writeSnapshotDelta(delta: SnapshotDelta): Promise<void> {
    const copy = clone(delta);
    const landed: { snapshot?: SnapshotRecord } = {};
    return this.disk.submit(
      this.life,
      'writeSnapshotDelta',
      async () => {
        await this.store.writeSnapshotDelta(copy);
        landed.snapshot = await this.store.latestSnapshot();
      },
      landed,
    );
  }

  latestSnapshot(): Promise<SnapshotRecord | undefined> {
    return this.disk.submit(this.life, 'latestSnapshot', () => this.store.latestSnapshot());
  }

  truncate(cut: VersionVector, rowsMax: number): Promise<number> {
    const copy = { ...cut };
    return this.disk.submit(this.life, 'truncate', () => this.store.truncate(copy, rowsMax));
  }

  resetTo(snapshot: SnapshotRecord, streamSeq: number, keep?: { origin: string; afterSeq: number }): Promise<void> {
    const copy = clone(snapshot);
    const keepCopy = keep && { ...keep };
    return this.disk.submit(this.life, 'resetTo', () => this.store.resetTo(copy, streamSeq, keepCopy), copy);
  }

  opLogLength(): number {
    return this.store.opLogLength();
  }
}

/** A deep copy (digest terms are byte arrays, which JSON would turn into objects). */
function clone<T>(value: T): T {
  return structuredClone(value);
}
