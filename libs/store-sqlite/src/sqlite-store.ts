import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type BetterSqlite3 from 'better-sqlite3';
import type { Json, VersionVector } from '#crdt';
import type { CommitBatch, SnapshotDelta, SnapshotKey, SnapshotRecord, StoredReplica, StorePort, StrongPending } from '#replication/ports';
import type { ReplicatedEvent } from '#replication/replicated-event';
import { BUSY_TIMEOUT_MS_DEFAULT, connectionOf, createStoreDataSource, type SqliteSynchronous, type StoreDataSourceConfig } from './data-source';
import { META_KEYS } from './entities/meta.entity';
import { SNAPSHOT_META_ROW_ID } from './entities/snapshot-meta.entity';
import { StoreError } from './store-error';
import { packResetJob, type ResetReply, type ResetThreadData } from './reset-job';
import { encodingText, termOrNull } from './snapshot-row';
import { errorFromWire } from './store-thread-protocol';

/** Options of `openSqliteStore`. */
export interface SqliteStoreOptions extends StoreDataSourceConfig {
  /**
   * Where a large `resetTo` runs (see `RESET_THREAD_KEYS_MIN`): `script` is the compiled
   * `reset-thread.js`, by default the one beside this file (a store run from the sources
   * has none there, and writes on the caller's thread); `keysMin` the snapshot size from
   * which the thread is used.
   */
  readonly resetThread?: { readonly script?: string; readonly keysMin?: number };
}

/**
 * Snapshot keys from which `resetTo` writes on a thread of its own, while the caller goes
 * on (a join decodes the same keys into memory meanwhile): below it, starting the thread
 * costs more than the rows.
 */
export const RESET_THREAD_KEYS_MIN = 200_000;

/** How a store that has a file runs a large `resetTo` on another thread (see `SqliteStoreOptions.resetThread`). */
interface ResetThreadConfig {
  readonly file: string;
  readonly synchronous: SqliteSynchronous;
  readonly busyTimeoutMs: number;
  readonly script: string;
  readonly keysMin: number;
}

/**
 * Opens (creating when missing) the store at `options.file`, brings its schema up to date
 * with the migrations, and returns it. Rejects with a `StoreError` when it cannot.
 */
export async function openSqliteStore(options: SqliteStoreOptions): Promise<SqliteStore> {
  const dataSource = createStoreDataSource(options);
  try {
    await dataSource.initialize();
    const resetThread: ResetThreadConfig = {
      file: options.file,
      synchronous: options.synchronous ?? 'FULL',
      busyTimeoutMs: options.busyTimeoutMs ?? BUSY_TIMEOUT_MS_DEFAULT,
      script: options.resetThread?.script ?? join(__dirname, 'reset-thread.js'),
      keysMin: options.resetThread?.keysMin ?? RESET_THREAD_KEYS_MIN,
    };
    return new SqliteStore(connectionOf(dataSource), () => dataSource.destroy(), resetThread);
  } catch (err) {
    if (dataSource.isInitialized) await dataSource.destroy().catch(() => undefined);
    throw new StoreError('STORE_IO', 'open', `cannot open the store at ${options.file}: ${messageOf(err)}`, { cause: err });
  }
}

/**
 * Snapshot rows per INSERT when a whole snapshot is written (a join's reset): one statement
 * run binds this many rows, which at a million keys costs about a third less than a run
 * per row (the per-call overhead between JavaScript and SQLite dominates for rows this small).
 */
const SNAPSHOT_ROWS_PER_INSERT = 64;

/** The SQL the store runs, prepared once per open store. */
function prepareStatements(db: BetterSqlite3.Database) {
  return {
    // ON CONFLICT names the one constraint a redelivered event may hit; OR IGNORE would
    // also swallow NOT NULL failures, which are bugs.
    insertEvent: db.prepare<[string, number, string, string]>(
      `INSERT INTO "op_log" ("origin", "seq", "key", "event") VALUES (?, ?, ?, ?) ON CONFLICT ("origin", "seq") DO NOTHING`,
    ),
    allEvents: db.prepare<[], string>(`SELECT "event" FROM "op_log" ORDER BY "id"`).pluck(),
    countEvents: db.prepare<[], number>(`SELECT COUNT(*) FROM "op_log"`).pluck(),
    keyEvents: db.prepare<[string, number, number], string>(`SELECT "event" FROM "op_log" WHERE "key" = ? ORDER BY "id" LIMIT ? OFFSET ?`).pluck(),
    originEventsAfter: db
      .prepare<[string, number, number], string>(`SELECT "event" FROM "op_log" WHERE "origin" = ? AND "seq" > ? ORDER BY "seq" LIMIT ?`)
      .pluck(),
    // Bounded deletes: a round's truncation of a long op log runs in chunks between other work.
    deleteCovered: db.prepare<[string, number, number]>(
      `DELETE FROM "op_log" WHERE "id" IN (SELECT "id" FROM "op_log" WHERE "origin" = ? AND "seq" <= ? LIMIT ?)`,
    ),
    deleteAllEvents: db.prepare(`DELETE FROM "op_log"`),
    deleteAllEventsBut: db.prepare<[string, number]>(`DELETE FROM "op_log" WHERE NOT ("origin" = ? AND "seq" > ?)`),

    deleteMeta: db.prepare<[string]>(`DELETE FROM "meta" WHERE "key" = ?`),
    getMeta: db.prepare<[string], string>(`SELECT "value" FROM "meta" WHERE "key" = ?`).pluck(),
    setMeta: db.prepare<[string, string]>(
      `INSERT INTO "meta" ("key", "value") VALUES (?, ?) ON CONFLICT ("key") DO UPDATE SET "value" = excluded."value"`,
    ),

    getSnapshotMeta: db.prepare<[number], { epoch: number; round: number; cut: string; stream_seq: number }>(
      `SELECT "epoch", "round", "cut", "stream_seq" FROM "snapshot_meta" WHERE "id" = ?`,
    ),
    putSnapshotMeta: db.prepare<[number, number, number, string, number]>(
      `INSERT OR REPLACE INTO "snapshot_meta" ("id", "epoch", "round", "cut", "stream_seq") VALUES (?, ?, ?, ?, ?)`,
    ),
    deleteSnapshotMeta: db.prepare(`DELETE FROM "snapshot_meta"`),
    allSnapshotKeys: db.prepare<[], [string, string]>(`SELECT "key", "encoded" FROM "snapshot_key"`).raw(),
    allSnapshotKeysWithTerms: db.prepare<[], [string, string, Buffer | null]>(`SELECT "key", "encoded", "term" FROM "snapshot_key"`).raw(),
    getSnapshotKey: db.prepare<[string], string>(`SELECT "encoded" FROM "snapshot_key" WHERE "key" = ?`).pluck(),
    insertSnapshotKey: db.prepare<[string, string, Uint8Array | null]>(`INSERT INTO "snapshot_key" ("key", "encoded", "term") VALUES (?, ?, ?)`),
    insertSnapshotKeys: db.prepare<[Array<string | Uint8Array | null>]>(
      `INSERT INTO "snapshot_key" ("key", "encoded", "term") VALUES ${Array.from({ length: SNAPSHOT_ROWS_PER_INSERT }, () => '(?, ?, ?)').join(', ')}`,
    ),
    upsertSnapshotKey: db.prepare<[string, string, Uint8Array | null]>(
      `INSERT INTO "snapshot_key" ("key", "encoded", "term") VALUES (?, ?, ?) ON CONFLICT ("key") DO UPDATE SET "encoded" = excluded."encoded", "term" = excluded."term"`,
    ),
    deleteSnapshotKeys: db.prepare(`DELETE FROM "snapshot_key"`),
    deleteSnapshotKey: db.prepare<[string]>(`DELETE FROM "snapshot_key" WHERE "key" = ?`),
  };
}

type Statements = ReturnType<typeof prepareStatements>;

/**
 * The replica's durable store on SQLite (see `StorePort`). Create it with `openSqliteStore`.
 *
 * TypeORM owns the connection, the schema and the migrations; the reads and writes run as
 * prepared statements on the better-sqlite3 connection underneath, for two reasons.
 * Speed: `commit` is the hot path, and TypeORM's query builder costs far more per row than
 * a reused prepared statement (a group commit carries thousands of events). Atomicity:
 * better-sqlite3 is one synchronous connection, and TypeORM's transactions span `await`s,
 * so another call could run its statements inside a transaction TypeORM later rolls back;
 * a `db.transaction(fn)` runs start to finish within one tick, so nothing interleaves.
 * Each method is therefore a single synchronous step (fsync included, which blocks the
 * event loop for its duration: group commit keeps that to one sync per batch).
 */
export class SqliteStore implements StorePort {
  private readonly db: BetterSqlite3.Database;
  private readonly sql: Statements;
  private opLogCount: number;
  /** The cut of the latest snapshot on disk (kept in memory for `history`). */
  private snapshotCut: VersionVector = {};
  private closed = false;
  /** A `resetTo` running on the reset thread: every later call waits for it (it settles, never rejects). */
  private threadReset: Promise<unknown> | undefined;

  private readonly commitTx: (batch: CommitBatch) => number;
  private readonly writeSnapshotTx: (snapshot: SnapshotRecord) => number;
  private readonly writeSnapshotDeltaTx: (delta: SnapshotDelta) => void;
  private readonly readSnapshotTx: () => SnapshotRecord | undefined;
  private readonly truncateTx: (cut: VersionVector, rowsMax: number) => number;
  private readonly resetToTx: (snapshot: SnapshotRecord, streamSeq: number, keep?: { origin: string; afterSeq: number }) => void;
  private readonly loadTx: () => StoredReplica;

  /**
   * Wraps an open connection whose schema the store's migrations made: `openSqliteStore`'s
   * DataSource in production, an in-memory database from `migratedSchema()` in the simulator. `release`
   * frees the connection on `close()`; without it the caller owns the connection (the
   * simulator's disk outlives each process that opens a store on it).
   */
  constructor(
    connection: BetterSqlite3.Database,
    private readonly release?: () => Promise<void>,
    private readonly resetThread?: ResetThreadConfig,
  ) {
    this.db = connection;
    if (!this.db?.open) throw new Error('SqliteStore needs an open better-sqlite3 connection');
    this.sql = prepareStatements(this.db);
    this.opLogCount = this.sql.countEvents.get() ?? 0;
    // Known without a `load`: a store whose bulk reads ran on another connection (the
    // store thread's, see ThreadedSqliteStore) still pages `history` past covered events.
    this.snapshotCut = this.readSnapshotCut();

    const db = this.db;
    const sql = this.sql;
    // Writes take the lock up front (BEGIN IMMEDIATE): a deferred transaction that meets
    // another process's lock half-way fails without waiting out the busy timeout.
    this.commitTx = db.transaction((batch: CommitBatch): number => {
      let inserted = 0;
      for (const e of batch.events) inserted += sql.insertEvent.run(e.origin, e.seq, e.key, JSON.stringify(e)).changes;
      if (batch.streamSeq !== undefined) sql.setMeta.run(META_KEYS.streamSeq, String(batch.streamSeq));
      if (batch.publishedThrough !== undefined) sql.setMeta.run(META_KEYS.publishedThrough, String(batch.publishedThrough));
      if (batch.strongPending === null) sql.deleteMeta.run(META_KEYS.strongPending);
      else if (batch.strongPending !== undefined) sql.setMeta.run(META_KEYS.strongPending, JSON.stringify(batch.strongPending));
      return inserted;
    }).immediate;

    // The covered events stay until `truncate`: deleting a long op log here would hold a
    // round's freeze for as long as the delete takes. `load` skips covered events.
    this.writeSnapshotTx = db.transaction((snapshot: SnapshotRecord): number => {
      this.replaceSnapshot(snapshot);
      const streamSeq = Math.max(this.readNat('writeSnapshot', META_KEYS.streamSeq), snapshot.streamSeq);
      sql.setMeta.run(META_KEYS.streamSeq, String(streamSeq));
      return 0;
    }).immediate;

    // A round rewrites only the rows of the keys that changed since the last snapshot.
    this.writeSnapshotDeltaTx = db.transaction((delta: SnapshotDelta): void => {
      sql.putSnapshotMeta.run(SNAPSHOT_META_ROW_ID, delta.epoch, delta.round, JSON.stringify(delta.cut), delta.streamSeq);
      // A null encoding is a key deleted since the previous snapshot: its row goes.
      for (const [key, encoded, term] of delta.changed) {
        if (encoded === null) sql.deleteSnapshotKey.run(key);
        else sql.upsertSnapshotKey.run(key, JSON.stringify(encoded), termOrNull(term));
      }
      const streamSeq = Math.max(this.readNat('writeSnapshotDelta', META_KEYS.streamSeq), delta.streamSeq);
      sql.setMeta.run(META_KEYS.streamSeq, String(streamSeq));
    }).immediate;

    // One read transaction: the meta row and the keys belong to one round.
    this.readSnapshotTx = db.transaction((): SnapshotRecord | undefined => this.readSnapshot(false)).deferred;

    this.truncateTx = db.transaction((cut: VersionVector, rowsMax: number): number => {
      let deleted = 0;
      for (const [origin, seq] of Object.entries(cut)) {
        if (deleted >= rowsMax) break;
        deleted += sql.deleteCovered.run(origin, seq, rowsMax - deleted).changes;
      }
      return deleted;
    }).immediate;

    this.resetToTx = db.transaction((snapshot: SnapshotRecord, streamSeq: number, keep?: { origin: string; afterSeq: number }): void => {
      if (keep) sql.deleteAllEventsBut.run(keep.origin, keep.afterSeq);
      else sql.deleteAllEvents.run();
      this.replaceSnapshot(snapshot);
      sql.setMeta.run(META_KEYS.streamSeq, String(streamSeq));
    }).immediate;

    // One read transaction, so the parts agree even if another process wrote meanwhile.
    this.loadTx = db.transaction((): StoredReplica => {
      const all = sql.allEvents.all().map((text) => parseEvent('load', text));
      this.opLogCount = all.length;
      const snapshot = this.readSnapshot(true);
      this.snapshotCut = snapshot ? { ...snapshot.cut } : {};
      // A crash between a snapshot and its truncation leaves covered events behind.
      const events = snapshot ? all.filter((e) => e.seq > (Object.prototype.hasOwnProperty.call(snapshot.cut, e.origin) ? snapshot.cut[e.origin] : 0)) : all;
      const pending = sql.getMeta.get(META_KEYS.strongPending);
      return {
        ...(pending !== undefined ? { strongPending: parsePending(pending) } : {}),
        replicaId: sql.getMeta.get(META_KEYS.replicaId),
        snapshot,
        events,
        streamSeq: this.readNat('load', META_KEYS.streamSeq),
        publishedThrough: this.readNat('load', META_KEYS.publishedThrough),
      };
    }).deferred;
  }

  async load(): Promise<StoredReplica> {
    if (this.threadReset) await this.idle();
    return this.io('load', () => this.loadTx());
  }

  async saveReplicaId(id: string): Promise<void> {
    if (this.threadReset) await this.idle();
    if (typeof id !== 'string' || id.length === 0) throw new Error(`saveReplicaId: the id must be a non-empty string, not ${JSON.stringify(id)}`);
    this.io('saveReplicaId', () => this.sql.setMeta.run(META_KEYS.replicaId, id));
  }

  async commit(batch: CommitBatch): Promise<void> {
    if (this.threadReset) await this.idle();
    if (batch.streamSeq !== undefined) assertNat('commit: streamSeq', batch.streamSeq);
    if (batch.publishedThrough !== undefined) assertNat('commit: publishedThrough', batch.publishedThrough);
    const empty = batch.events.length === 0 && batch.streamSeq === undefined && batch.publishedThrough === undefined && batch.strongPending === undefined;
    const inserted = this.io('commit', () => (empty ? 0 : this.commitTx(batch)));
    this.opLogCount += inserted;
  }

  async history(key: string, limit: number): Promise<ReplicatedEvent[]> {
    if (this.threadReset) await this.idle();
    assertNat('history: limit', limit);
    if (limit === 0) return [];
    // Events the snapshot covers may still wait for truncation; page past them.
    return this.io('history', () => {
      const out: ReplicatedEvent[] = [];
      const page = Math.max(limit, 256);
      for (let offset = 0; out.length < limit; offset += page) {
        const rows = this.sql.keyEvents.all(key, page, offset);
        for (const text of rows) {
          const e = parseEvent('history', text);
          if (!this.covered(e) && out.push(e) === limit) break;
        }
        if (rows.length < page) break;
      }
      return out;
    });
  }

  async ownEventsAfter(origin: string, afterSeq: number, limit: number): Promise<ReplicatedEvent[]> {
    if (this.threadReset) await this.idle();
    assertNat('ownEventsAfter: afterSeq', afterSeq);
    assertNat('ownEventsAfter: limit', limit);
    if (limit === 0) return [];
    return this.io('ownEventsAfter', () =>
      this.sql.originEventsAfter.all(origin, afterSeq, limit).map((text) => parseEvent('ownEventsAfter', text)),
    );
  }

  async snapshotKey(key: string): Promise<Json | undefined> {
    if (this.threadReset) await this.idle();
    return this.io('snapshotKey', () => {
      const text = this.sql.getSnapshotKey.get(key);
      return text === undefined ? undefined : (parseJson('snapshotKey', `snapshot key ${JSON.stringify(key)}`, text) as Json);
    });
  }

  async writeSnapshot(snapshot: SnapshotRecord): Promise<void> {
    if (this.threadReset) await this.idle();
    assertSnapshot('writeSnapshot', snapshot);
    this.io('writeSnapshot', () => this.writeSnapshotTx(snapshot));
    this.snapshotCut = { ...snapshot.cut };
  }

  async writeSnapshotDelta(delta: SnapshotDelta): Promise<void> {
    if (this.threadReset) await this.idle();
    assertSnapshot('writeSnapshotDelta', { ...delta, keys: [] });
    this.io('writeSnapshotDelta', () => this.writeSnapshotDeltaTx(delta));
    this.snapshotCut = { ...delta.cut };
  }

  async latestSnapshot(): Promise<SnapshotRecord | undefined> {
    if (this.threadReset) await this.idle();
    return this.io('latestSnapshot', () => this.readSnapshotTx());
  }

  async truncate(cut: VersionVector, rowsMax: number): Promise<number> {
    if (this.threadReset) await this.idle();
    assertNat('truncate: rowsMax', rowsMax);
    const deleted = this.io('truncate', () => this.truncateTx(cut, rowsMax));
    this.opLogCount -= deleted;
    return deleted;
  }

  async resetTo(snapshot: SnapshotRecord, streamSeq: number, keep?: { origin: string; afterSeq: number }): Promise<void> {
    assertSnapshot('resetTo', snapshot);
    assertNat('resetTo: streamSeq', streamSeq);
    // No await before the thread starts unless one is running: the caller goes on with its
    // own work as soon as this returns its promise (a join decodes the keys meanwhile).
    if (this.threadReset) await this.idle();
    const thread = this.resetThread;
    if (thread && snapshot.keys.length >= thread.keysMin && existsSync(thread.script)) {
      const done = this.resetOnThread(thread, snapshot, streamSeq, keep);
      this.threadReset = done.catch(() => undefined);
      try {
        await done;
      } finally {
        this.threadReset = undefined;
      }
    } else {
      this.io('resetTo', () => this.resetToTx(snapshot, streamSeq, keep));
    }
    this.snapshotCut = { ...snapshot.cut };
    this.opLogCount = keep ? (this.sql.countEvents.get() ?? 0) : 0;
  }

  /**
   * Runs `resetTo` on the reset thread (`reset-thread.ts`): the same transaction on a
   * connection of its own. The caller's thread only packs the keys, then is free until the
   * thread has committed; this store's other calls wait for it meanwhile (`idle`).
   */
  private resetOnThread(thread: ResetThreadConfig, snapshot: SnapshotRecord, streamSeq: number, keep: { origin: string; afterSeq: number } | undefined): Promise<void> {
    if (this.closed) return Promise.reject(new StoreError('STORE_CLOSED', 'resetTo', 'resetTo: the store is closed'));
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const fail = (err: unknown) => {
        if (settled) return;
        settled = true;
        reject(err instanceof StoreError ? err : new StoreError('STORE_IO', 'resetTo', `resetTo failed on the reset thread: ${messageOf(err)}`, { cause: err }));
      };
      let worker: Worker | undefined;
      try {
        // Started before the keys are packed: the thread loads its code meanwhile.
        const data: ResetThreadData = { file: thread.file, synchronous: thread.synchronous, busyTimeoutMs: thread.busyTimeoutMs };
        worker = new Worker(thread.script, { workerData: data });
        worker.once('message', (reply: ResetReply) => {
          if (settled) return;
          if (reply.ok) {
            settled = true;
            resolve();
          } else fail(errorFromWire(reply.error));
        });
        worker.once('error', fail);
        worker.once('exit', (code) => fail(new Error(`the reset thread exited (code ${code}) before it answered`)));
        const job = packResetJob(snapshot, streamSeq, keep);
        worker.postMessage(job, [job.lengths.buffer as ArrayBuffer, job.terms.buffer as ArrayBuffer]);
      } catch (err) {
        // A thread left waiting for its job would keep the process alive.
        void worker?.terminate();
        fail(err);
      }
    });
  }

  /** Waits for a `resetTo` running on the reset thread, if any (its outcome goes to its own caller). */
  private async idle(): Promise<void> {
    while (this.threadReset) await this.threadReset;
  }

  /** True when the latest snapshot covers the event (it only waits for truncation). */
  private covered(e: ReplicatedEvent): boolean {
    const cut = this.snapshotCut;
    return Object.prototype.hasOwnProperty.call(cut, e.origin) && e.seq <= cut[e.origin];
  }

  opLogLength(): number {
    return this.opLogCount;
  }

  /** Closes the file through `release` (SQLite checkpoints the WAL into it). Later calls reject with `STORE_CLOSED`. */
  async close(): Promise<void> {
    if (this.threadReset) await this.idle();
    if (this.closed) return;
    this.closed = true;
    try {
      await this.release?.();
    } catch (err) {
      throw new StoreError('STORE_IO', 'close', `close failed: ${messageOf(err)}`, { cause: err });
    }
  }

  // ---------------------------------------------------------------- helpers

  /** Runs one synchronous database step, turning driver failures into `StoreError`s. */
  private io<T>(operation: string, step: () => T): T {
    if (this.closed) throw new StoreError('STORE_CLOSED', operation, `${operation}: the store is closed`);
    try {
      return step();
    } catch (err) {
      if (err instanceof StoreError) throw err;
      throw new StoreError('STORE_IO', operation, `${operation} failed: ${messageOf(err)}`, { cause: err });
    }
  }

  /**
   * Replaces the snapshot (meta row and all keys); runs inside the caller's transaction.
   * The table was just emptied, so plain inserts, `SNAPSHOT_ROWS_PER_INSERT` rows a run.
   */
  private replaceSnapshot(snapshot: SnapshotRecord): void {
    const { sql } = this;
    sql.putSnapshotMeta.run(SNAPSHOT_META_ROW_ID, snapshot.epoch, snapshot.round, JSON.stringify(snapshot.cut), snapshot.streamSeq);
    sql.deleteSnapshotKeys.run();
    const keys = snapshot.keys;
    const rows = SNAPSHOT_ROWS_PER_INSERT;
    const args = new Array<string | Uint8Array | null>(rows * 3);
    let i = 0;
    for (; i + rows <= keys.length; i += rows) {
      for (let j = 0; j < rows; j++) {
        const [key, encoded, term] = keys[i + j];
        args[3 * j] = key;
        args[3 * j + 1] = encodingText(encoded);
        args[3 * j + 2] = termOrNull(term);
      }
      sql.insertSnapshotKeys.run(args);
    }
    for (; i < keys.length; i++) {
      const [key, encoded, term] = keys[i];
      sql.insertSnapshotKey.run(key, encodingText(encoded), termOrNull(term));
    }
  }

  /** The cut of the snapshot on disk; {} when there is none. */
  private readSnapshotCut(): VersionVector {
    const row = this.sql.getSnapshotMeta.get(SNAPSHOT_META_ROW_ID);
    return row ? parseCut(row.cut) : {};
  }

  /** The snapshot on disk; with `terms`, each key with the digest term kept for it (this replica's load), else without (to publish). */
  private readSnapshot(terms: boolean): SnapshotRecord | undefined {
    const row = this.sql.getSnapshotMeta.get(SNAPSHOT_META_ROW_ID);
    if (!row) return undefined;
    const cut = parseCut(row.cut);
    const parse = (key: string, text: string): Json => parseJson('load', `snapshot key ${JSON.stringify(key)}`, text) as Json;
    // This replica's load gets the JSON text (see `SnapshotKey`): the key space checks it.
    const keys: SnapshotKey[] = terms
      ? this.sql.allSnapshotKeysWithTerms.all().map(([key, text, term]): SnapshotKey => (term ? [key, text, term] : [key, text]))
      : this.sql.allSnapshotKeys.all().map(([key, text]): SnapshotKey => [key, parse(key, text)]);
    // SQLite orders text by its UTF-8 bytes, JavaScript by UTF-16 code units; they differ
    // for characters above U+FFFF against U+E000..U+FFFF. The snapshot must come back in
    // the order the core sorts in (and digests), so sort here; on rows already in SQLite's
    // order this is a near-linear pass.
    keys.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return { epoch: row.epoch, round: row.round, cut, streamSeq: row.stream_seq, keys };
  }

  /** A sequence marker from `meta`; 0 when it was never written. */
  private readNat(operation: string, key: string): number {
    const text = this.sql.getMeta.get(key);
    if (text === undefined) return 0;
    const n = Number(text);
    if (!isNat(n)) throw new StoreError('STORE_CORRUPT', operation, `meta ${key} is not a non-negative integer: ${JSON.stringify(text)}`);
    return n;
  }
}

function parseJson(operation: string, what: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new StoreError('STORE_CORRUPT', operation, `${what} is not JSON: ${messageOf(err)}`, { cause: err });
  }
}

function parseCut(text: string): VersionVector {
  const cut = parseJson('load', 'the snapshot cut', text);
  if (typeof cut !== 'object' || cut === null || Array.isArray(cut)) throw new StoreError('STORE_CORRUPT', 'load', 'the snapshot cut is not an object');
  return cut as VersionVector;
}

// Events were checked (isReplicatedEvent) before they were first committed; reading them
// back only needs to decode.
function parseEvent(operation: string, text: string): ReplicatedEvent {
  return parseJson(operation, 'an op-log event', text) as ReplicatedEvent;
}

function parsePending(text: string): StrongPending {
  return parseJson('load', 'the pending strong write', text) as StrongPending;
}

function isNat(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

// Bad arguments are bugs in the caller, not I/O failures: they throw plain Errors.
function assertNat(what: string, n: unknown): void {
  if (!isNat(n)) throw new Error(`${what} must be a non-negative safe integer, not ${String(n)}`);
}

function assertSnapshot(operation: string, s: SnapshotRecord): void {
  assertNat(`${operation}: epoch`, s.epoch);
  assertNat(`${operation}: round`, s.round);
  assertNat(`${operation}: streamSeq`, s.streamSeq);
  for (const [origin, seq] of Object.entries(s.cut)) assertNat(`${operation}: cut[${origin}]`, seq);
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
