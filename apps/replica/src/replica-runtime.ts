import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { subjectsFor } from '#protocol';
import { DEFAULT_STREAM_RULES, ReplicaCore, StreamFollower, type LogPort, type ReplicaObserver, type StorePort } from '#replication';
import { JetStreamBroker } from './nats/jetstream-op-stream';
import { NatsNotices } from './nats/nats-notices';
import { ObjectStoreSnapshots } from './nats/object-store-snapshots';
import { connectNats, DEFAULT_NATS_CONNECT_LIMITS, lockDataDir, natsServers, readNatsLiveness, systemClock } from '#runtime';
import type { ReplicaSettings } from './replica.settings';
import { openSqliteStore } from '#store-sqlite/sqlite-store';
import { openThreadedSqliteStore } from '#store-sqlite/threaded-sqlite-store';

/**
 * Optional hooks for health and metrics (apps/replica/src/http): they only watch. The
 * observer is the core's `ReplicaObserver` port; `wrapStore` may time the store's calls.
 */
export interface ReplicaInstruments {
  readonly observer?: ReplicaObserver;
  readonly wrapStore?: (store: StorePort) => StorePort;
}

/** The replica's store: SQLite, on its own thread or in-process (`ReplicaSettings.sqliteThread`). */
export type ReplicaStore = StorePort & { close(): Promise<void> };

/** A running replica's parts: the core and the adapters that bind its ports. */
export interface ReplicaRuntime {
  readonly core: ReplicaCore;
  readonly nc: NatsConnection;
  readonly store: ReplicaStore;
  readonly stream: StreamFollower;
  close(): Promise<void>;
}

/**
 * Wires a replica: SQLite store, NATS connection, JetStream op stream, notices and the
 * snapshot object store around one `ReplicaCore`, then starts it. Kept free of Nest so the
 * composition reads top to bottom; the Nest module only calls this.
 *
 * The data directory is locked first (one process per directory, issue 8): a second
 * process on it fails here, before the store is opened, having written nothing.
 */
export async function startReplicaRuntime(settings: ReplicaSettings, log: LogPort, instruments: ReplicaInstruments = {}): Promise<ReplicaRuntime> {
  const lock = lockDataDir(settings.dataDir, `replica ${settings.replicaId ?? '(new)'}`);
  // process.exit (a fatal store error, a second signal) skips close(): drop the lock anyway.
  const releaseOnExit = () => lock.release();
  process.once('exit', releaseOnExit);
  let store: ReplicaStore | undefined;
  let nc: NatsConnection | undefined;
  try {
    const storeOptions = { file: join(settings.dataDir, 'replica.sqlite'), synchronous: settings.sqliteSynchronous };
    store = settings.sqliteThread ? await openThreadedSqliteStore(storeOptions) : await openSqliteStore(storeOptions);
    nc = await connectNats(
      {
        servers: natsServers(settings.natsUrl),
        name: `crdt-replica-${settings.replicaId ?? 'new'}`,
        // Async stack traces cost two Error objects per request and publish on the hot path.
        noAsyncTraces: true,
        // Notice a silently dead connection (a partition) in seconds, not minutes.
        ...readNatsLiveness(),
        ...settings.natsAuth,
      },
      log,
      { ...DEFAULT_NATS_CONNECT_LIMITS, waitMsMax: settings.natsConnectWaitMs },
    );
    return await wire(settings, log, store, nc, instruments, () => {
      lock.release();
      process.removeListener('exit', releaseOnExit);
    });
  } catch (e) {
    await nc?.close().catch(() => undefined);
    await store?.close().catch(() => undefined);
    lock.release();
    process.removeListener('exit', releaseOnExit);
    throw e;
  }
}

async function wire(settings: ReplicaSettings, log: LogPort, store: ReplicaStore, nc: NatsConnection, instruments: ReplicaInstruments, unlock: () => void): Promise<ReplicaRuntime> {
  const subjects = subjectsFor(settings.prefix);
  const fatal = (err: unknown): never => {
    log.error('fatal: the store failed under a commit; exiting to recover from disk', { error: String((err as Error)?.stack ?? err) });
    process.exit(70);
  };
  const broker = new JetStreamBroker(nc, {
    streamName: settings.streamName,
    subjectsFilter: subjects.opsFilter,
    streamReplicas: settings.streamReplicas,
    streamBytesMax: settings.streamBytesMax,
    publishTimeoutMs: settings.publishTimeoutMs,
  });
  const stream = new StreamFollower(
    broker,
    systemClock,
    log,
    { ...DEFAULT_STREAM_RULES, opsSubject: (origin) => subjects.ops(origin), strongSubject: (key) => subjects.strongOps(key), streamCheckMs: settings.streamCheckMs },
    (err) => {
      log.error('fatal: the replica core failed on a stream message; exiting to recover from disk', { error: String((err as Error)?.stack ?? err) });
      process.exit(70);
    },
  );
  await stream.ensureStream();
  const core = new ReplicaCore(
    {
      store: instruments.wrapStore ? instruments.wrapStore(store) : store,
      stream,
      notices: new NatsNotices(nc, subjects),
      snapshots: new ObjectStoreSnapshots(nc, settings.snapshotBucket, settings.streamReplicas),
      clock: systemClock,
      log,
      newReplicaId: () => `r-${randomBytes(4).toString('hex')}`,
      onFatal: fatal,
    },
    { replicaId: settings.replicaId, observer: instruments.observer, limits: { strongOnReplicatedStream: settings.strongOnReplicatedStream } },
  );
  stream.attach(core);
  await core.start();
  return {
    core,
    nc,
    store,
    stream,
    async close() {
      log.info('stopping', { dataDir: settings.dataDir });
      await core.stop();
      stream.close();
      await nc.drain().catch(() => undefined);
      await store.close();
      unlock();
      log.info('stopped');
    },
  };
}
