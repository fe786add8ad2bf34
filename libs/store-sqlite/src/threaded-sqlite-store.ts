import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import BetterSqlite3 from 'better-sqlite3';
import type { Json, VersionVector } from '#crdt';
import type { CommitBatch, SnapshotDelta, SnapshotRecord, StoredReplica, StorePort } from '#replication/ports';
import type { ReplicatedEvent } from '#replication/replicated-event';
import { SqliteStore, type SqliteStoreOptions } from './sqlite-store';
import { StoreError } from './store-error';
import { errorFromWire, type StoreCall, type StoreMethod, type StoreReply, type StoreThreadReady } from './store-thread-protocol';

/** Options of `openThreadedSqliteStore`: the store's own, and where the thread's script is. */
export interface ThreadedSqliteStoreOptions extends SqliteStoreOptions {
  /**
   * The compiled `store-thread.js` (a worker thread runs JavaScript only). Defaults to the
   * one beside this file, which is right once built (dist/); a spec run from the sources
   * passes the built one.
   */
  readonly threadScript?: string;
}

interface PendingCall {
  readonly method: StoreMethod;
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: unknown) => void;
}

/**
 * Opens the store on a thread of its own (see `ThreadedSqliteStore`); rejects with the
 * store's own `StoreError` when the file cannot be opened.
 */
export async function openThreadedSqliteStore(options: ThreadedSqliteStoreOptions): Promise<ThreadedSqliteStore> {
  const { threadScript, ...storeOptions } = options;
  const worker = new Worker(threadScript ?? join(__dirname, 'store-thread.js'), { workerData: storeOptions });
  let ready: StoreThreadReady;
  let onMessage: (m: StoreThreadReady) => void = () => undefined;
  let onError: (err: Error) => void = () => undefined;
  let onExit: (code: number) => void = () => undefined;
  try {
    ready = await new Promise<StoreThreadReady>((resolve, reject) => {
      onMessage = resolve;
      onError = reject;
      onExit = (code) => reject(new Error(`the store thread exited with code ${code} before it opened the store`));
      worker.once('message', onMessage).once('error', onError).once('exit', onExit);
    });
  } catch (err) {
    await worker.terminate();
    throw new StoreError('STORE_IO', 'open', `cannot start the store thread for ${options.file}: ${(err as Error)?.message ?? err}`, { cause: err });
  } finally {
    // Only these: the Worker keeps listeners of its own (removeAllListeners breaks it).
    worker.removeListener('message', onMessage).removeListener('error', onError).removeListener('exit', onExit);
  }
  if (!ready.ready) {
    await worker.terminate();
    throw errorFromWire(ready.error);
  }
  return new ThreadedSqliteStore(worker, ready.opLogLength, storeOptions);
}

const BUSY_TIMEOUT_MS_DEFAULT = 5_000;

/**
 * The replica's SQLite store run on a worker thread: the same `SqliteStore`, with its
 * synchronous commits (fsync included) off the replica's event loop, so requests keep
 * being handled while a commit syncs and the group commit gathers the next batch meanwhile
 * (issue 11: the commit was about a third of the update path's time on the event loop).
 * This class is only the transport: each `StorePort` call goes to the thread as it is,
 * and its result or error comes back; the thread runs calls one at a time, in order. The
 * two bulk reads (`load`, `latestSnapshot`) are the exception: the same `SqliteStore` runs
 * them on a read connection here, so a whole snapshot is not copied between threads.
 * `ack: local` keeps its meaning: a commit's promise resolves after the thread's
 * transaction, fsync included, has returned.
 *
 * `opLogLength()` is synchronous in the port: it answers the count the thread reported
 * with its latest reply (a commit in flight counts once it has replied).
 */
export class ThreadedSqliteStore implements StorePort {
  private readonly pending = new Map<number, PendingCall>();
  private nextId = 1;
  private opLogCount: number;
  private closed = false;
  /** Settles once the last call sent to the thread has been answered. */
  private lastSent: Promise<void> = Promise.resolve();
  /** Why the thread stopped answering, once it has (every later call rejects with it). */
  private failure: Error | undefined;

  constructor(
    private readonly worker: Worker,
    opLogLength: number,
    private readonly options: SqliteStoreOptions,
  ) {
    this.opLogCount = opLogLength;
    worker.on('message', (reply: StoreReply) => this.onReply(reply));
    worker.on('error', (err) => this.fail(err));
    worker.on('messageerror', (err) => this.fail(err));
    worker.on('exit', (code) => this.fail(new Error(`the store thread exited (code ${code})`)));
    // Idle, the thread does not keep the process alive; a call in flight does (see `call`).
    worker.unref();
  }

  load(): Promise<StoredReplica> {
    return this.readHere('load', (store) => store.load());
  }

  saveReplicaId(id: string): Promise<void> {
    return this.call('saveReplicaId', [id]);
  }

  commit(batch: CommitBatch): Promise<void> {
    return this.call('commit', [batch]);
  }

  history(key: string, limit: number): Promise<ReplicatedEvent[]> {
    return this.call('history', [key, limit]);
  }

  ownEventsAfter(origin: string, afterSeq: number, limit: number): Promise<ReplicatedEvent[]> {
    return this.call('ownEventsAfter', [origin, afterSeq, limit]);
  }

  snapshotKey(key: string): Promise<Json | undefined> {
    return this.call('snapshotKey', [key]);
  }

  writeSnapshot(snapshot: SnapshotRecord): Promise<void> {
    return this.call('writeSnapshot', [snapshot]);
  }

  writeSnapshotDelta(delta: SnapshotDelta): Promise<void> {
    return this.call('writeSnapshotDelta', [delta]);
  }

  latestSnapshot(): Promise<SnapshotRecord | undefined> {
    return this.readHere('latestSnapshot', (store) => store.latestSnapshot());
  }

  truncate(cut: VersionVector, rowsMax: number): Promise<number> {
    return this.call('truncate', [cut, rowsMax]);
  }

  resetTo(snapshot: SnapshotRecord, streamSeq: number, keep?: { origin: string; afterSeq: number }): Promise<void> {
    return this.call('resetTo', keep === undefined ? [snapshot, streamSeq] : [snapshot, streamSeq, keep]);
  }

  opLogLength(): number {
    return this.opLogCount;
  }

  /** Closes the store on its thread (SQLite checkpoints the WAL), then the thread ends. Later calls reject with `STORE_CLOSED`. */
  async close(): Promise<void> {
    if (this.closed) return;
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    const closing = this.failure ? Promise.resolve() : this.send<void>('close', []);
    this.closed = true;
    // Held until the thread has ended (the file is closed then), not only until the reply.
    this.worker.ref();
    try {
      await closing;
    } finally {
      if (this.failure) await this.worker.terminate();
      else await exited;
    }
  }

  // ---------------------------------------------------------------- transport

  private call<T>(method: StoreMethod, args: unknown[]): Promise<T> {
    if (this.closed) return Promise.reject(new StoreError('STORE_CLOSED', method, `${method}: the store is closed`));
    return this.send<T>(method, args);
  }

  private send<T>(method: StoreMethod, args: unknown[]): Promise<T> {
    if (this.failure) {
      return Promise.reject(new StoreError('STORE_IO', method, `${method}: the store thread stopped: ${this.failure.message}`, { cause: this.failure }));
    }
    const reply = new Promise<T>((resolve, reject) => {
      const id = this.nextId++;
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { method, resolve: resolve as (value: unknown) => void, reject });
      this.worker.postMessage({ id, method, args } satisfies StoreCall);
    });
    this.lastSent = reply.then(
      () => undefined,
      () => undefined,
    );
    return reply;
  }

  /**
   * The bulk reads (`load` at start and re-join, `latestSnapshot` after a round) run the
   * same `SqliteStore` on a connection of their own in this thread, once every call made
   * before them has been answered: through the thread their results (every key of the
   * snapshot) would be copied between the threads, about 2.4 times the time and twice the
   * memory of the read itself (200k keys: 1.9 s against 0.8 s). A read transaction sees
   * the file as the thread's last commit left it; a write made after the read was called
   * may be in it too, as with any read that comes later.
   */
  private async readHere<T>(method: StoreMethod, read: (store: SqliteStore) => Promise<T>): Promise<T> {
    if (this.closed) throw new StoreError('STORE_CLOSED', method, `${method}: the store is closed`);
    await this.lastSent;
    if (this.closed) throw new StoreError('STORE_CLOSED', method, `${method}: the store is closed`);
    if (this.failure) throw new StoreError('STORE_IO', method, `${method}: the store thread stopped: ${this.failure.message}`, { cause: this.failure });
    let db: BetterSqlite3.Database;
    try {
      db = new BetterSqlite3(this.options.file, { fileMustExist: true, timeout: this.options.busyTimeoutMs ?? BUSY_TIMEOUT_MS_DEFAULT });
    } catch (err) {
      throw new StoreError('STORE_IO', method, `${method}: cannot open ${this.options.file} to read: ${(err as Error)?.message ?? err}`, { cause: err });
    }
    let store: SqliteStore;
    try {
      store = new SqliteStore(db, async () => void db.close());
    } catch (err) {
      db.close();
      throw err instanceof StoreError ? err : new StoreError('STORE_IO', method, `${method}: ${(err as Error)?.message ?? err}`, { cause: err });
    }
    try {
      return await read(store);
    } finally {
      await store.close();
    }
  }

  private onReply(reply: StoreReply): void {
    const p = this.pending.get(reply.id);
    if (!p) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0 && !this.closed) this.worker.unref();
    this.opLogCount = reply.opLogLength;
    if (reply.ok) p.resolve(reply.value);
    else p.reject(errorFromWire(reply.error));
  }

  /** The thread is gone (it crashed, or ended): every call in flight fails, and so will every later one. */
  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    const calls = [...this.pending.values()];
    this.pending.clear();
    for (const p of calls) {
      p.reject(new StoreError('STORE_IO', p.method, `${p.method}: the store thread stopped: ${err.message}`, { cause: err }));
    }
  }
}
