/** The replica's durable store: SQLite through TypeORM (schema, migrations) and better-sqlite3 (statements). */
export * from './sqlite-store';
export * from './store-error';
export { storeDataSourceOptions, createStoreDataSource, STORE_ENTITIES, STORE_MIGRATIONS, type SqliteSynchronous, type StoreDataSourceConfig } from './data-source';
export { migratedSchema, openMemoryDatabase, type MigratedSchema } from './migrated-schema';
