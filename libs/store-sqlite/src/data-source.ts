import type BetterSqlite3 from 'better-sqlite3';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { MetaEntity } from './entities/meta.entity';
import { OpLogEventEntity } from './entities/op-log-event.entity';
import { SnapshotKeyEntity } from './entities/snapshot-key.entity';
import { SnapshotMetaEntity } from './entities/snapshot-meta.entity';
import { InitialSchema1767225600000 } from './migrations/1767225600000-initial-schema';
import { SnapshotKeyDigestTerm1795910400000 } from './migrations/1795910400000-snapshot-key-digest-term';

/** The entities of the replica's store. */
export const STORE_ENTITIES = [OpLogEventEntity, MetaEntity, SnapshotMetaEntity, SnapshotKeyEntity];

/** The store's migrations, oldest first. Add new ones at the end; never edit a released one. */
export const STORE_MIGRATIONS = [InitialSchema1767225600000, SnapshotKeyDigestTerm1795910400000];

/**
 * SQLite's `synchronous` setting. In WAL mode `FULL` syncs the WAL on every commit, so an
 * acknowledged write survives power loss; `NORMAL` syncs only at checkpoints, so the last
 * commits can be lost on power loss (not on a process crash).
 */
export type SqliteSynchronous = 'FULL' | 'NORMAL';

/** Where and how the store keeps its file. */
export interface StoreDataSourceConfig {
  /** Path of the SQLite file (its directory is created when missing). */
  readonly file: string;
  /** Defaults to `FULL`: durability of acknowledged writes first; group commit amortises the fsyncs. */
  readonly synchronous?: SqliteSynchronous;
  /** How long a statement waits on a lock held by another connection (a backup tool, say). */
  readonly busyTimeoutMs?: number;
}

/** How long a statement waits on another connection's lock unless told otherwise. */
export const BUSY_TIMEOUT_MS_DEFAULT = 5_000;

/** TypeORM's options for the better-sqlite3 driver. */
export type BetterSqlite3DataSourceOptions = Extract<DataSourceOptions, { type: 'better-sqlite3' }>;

/** TypeORM options of the store: better-sqlite3, WAL, explicit migrations, no `synchronize`. */
export function storeDataSourceOptions(config: StoreDataSourceConfig): BetterSqlite3DataSourceOptions {
  const synchronous = config.synchronous ?? 'FULL';
  if (synchronous !== 'FULL' && synchronous !== 'NORMAL') throw new Error(`synchronous must be FULL or NORMAL, not ${String(synchronous)}`);
  return {
    type: 'better-sqlite3',
    database: config.file,
    entities: STORE_ENTITIES,
    migrations: STORE_MIGRATIONS,
    migrationsRun: true,
    migrationsTableName: 'typeorm_migrations',
    synchronize: false,
    logging: false,
    enableWAL: true,
    timeout: config.busyTimeoutMs ?? BUSY_TIMEOUT_MS_DEFAULT,
    // A per-connection setting, so it is set on every open, before any statement runs.
    prepareDatabase: (db: { pragma(source: string): unknown }) => {
      db.pragma(`synchronous = ${synchronous}`);
    },
  };
}

/** A DataSource for the store (not yet initialised). */
export function createStoreDataSource(config: StoreDataSourceConfig): DataSource {
  return new DataSource(storeDataSourceOptions(config));
}

/** The better-sqlite3 connection under an initialised store DataSource. */
export function connectionOf(dataSource: DataSource): BetterSqlite3.Database {
  return (dataSource.driver as unknown as { databaseConnection: BetterSqlite3.Database }).databaseConnection;
}
