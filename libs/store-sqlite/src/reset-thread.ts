/**
 * The reset thread's entry (a `worker_threads` script, started by `SqliteStore.resetTo`
 * for a large snapshot): opens its own connection to the store's file and runs the same
 * `resetTo` of the same `SqliteStore` there, one transaction, fsync included, then exits.
 * Meanwhile the replica's thread decodes the snapshot's keys into memory (issue 11: a
 * join at a million keys spent a second and a half writing rows while nothing else ran).
 */
import { parentPort, workerData } from 'node:worker_threads';
import BetterSqlite3 from 'better-sqlite3';
import { unpackResetJob, type ResetJob, type ResetReply, type ResetThreadData } from './reset-job';
import { SqliteStore } from './sqlite-store';
import { errorToWire } from './store-thread-protocol';

async function run(data: ResetThreadData, job: ResetJob): Promise<ResetReply> {
  let db: BetterSqlite3.Database | undefined;
  try {
    db = new BetterSqlite3(data.file, { timeout: data.busyTimeoutMs });
    db.pragma(`synchronous = ${data.synchronous}`);
    // Without a reset thread of its own: this store writes the rows itself.
    const store = new SqliteStore(db);
    const { snapshot, streamSeq, keep } = unpackResetJob(job);
    await store.resetTo(snapshot, streamSeq, keep);
    return { ok: true };
  } catch (err) {
    return { ok: false, error: errorToWire(err) };
  } finally {
    db?.close();
  }
}

const port = parentPort;
if (!port) throw new Error('reset-thread.ts runs as a worker thread (started by SqliteStore.resetTo)');
// The job comes once the caller has packed it (this thread loads its code meanwhile).
port.once('message', (job: ResetJob) => {
  void run(workerData as ResetThreadData, job).then((reply) => {
    port.postMessage(reply);
    port.close();
  });
});
