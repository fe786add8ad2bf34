/**
 * The store thread's entry (a `worker_threads` script, started by `ThreadedSqliteStore`):
 * opens the one real `SqliteStore` on the file in `workerData` and answers calls in the
 * order they arrive, one at a time. Each call runs start to finish, fsync included, before
 * the next starts, exactly as it would on the replica's thread; only the replica's event
 * loop no longer waits for it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openSqliteStore, type SqliteStoreOptions } from './sqlite-store';
import { errorToWire, type ClosableStore, type StoreCall, type StoreReply, type StoreThreadReady } from './store-thread-protocol';

async function serve(options: SqliteStoreOptions): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('store-thread.ts runs as a worker thread (started by ThreadedSqliteStore)');
  let store: ClosableStore;
  try {
    // This thread is off the replica's event loop already: unless told otherwise, a large
    // `resetTo` writes here rather than on a reset thread of its own (which would only copy
    // the snapshot once more).
    store = await openSqliteStore({ ...options, resetThread: options.resetThread ?? { keysMin: Number.MAX_SAFE_INTEGER } });
  } catch (err) {
    port.postMessage({ ready: false, error: errorToWire(err) } satisfies StoreThreadReady);
    return;
  }
  // Calls run strictly one after another, in arrival order: the store's methods are
  // single synchronous steps today, and the chain keeps the order if one ever is not.
  let chain: Promise<void> = Promise.resolve();
  port.on('message', (call: StoreCall) => {
    chain = chain.then(async () => {
      let reply: StoreReply;
      try {
        const method = store[call.method] as (...args: unknown[]) => Promise<unknown>;
        const value = await method.apply(store, call.args as unknown[]);
        reply = { id: call.id, ok: true, value, opLogLength: store.opLogLength() };
      } catch (err) {
        reply = { id: call.id, ok: false, error: errorToWire(err), opLogLength: store.opLogLength() };
      }
      port.postMessage(reply);
      // After close the thread has nothing left to do: let it end.
      if (call.method === 'close' && reply.ok) port.close();
    });
  });
  port.postMessage({ ready: true, opLogLength: store.opLogLength() } satisfies StoreThreadReady);
}

void serve(workerData as SqliteStoreOptions);
