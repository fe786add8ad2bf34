import BetterSqlite3 from 'better-sqlite3';
import { connectionOf, createStoreDataSource } from './data-source';

/** One SQL statement with its parameters. */
interface Statement {
  readonly sql: string;
  readonly params: readonly unknown[];
}

/**
 * What recreates an empty store database that the migrations made: the `CREATE`
 * statements SQLite recorded for the schema, in creation order, then the rows the
 * migrations left (TypeORM's record of them).
 */
export interface MigratedSchema {
  readonly statements: readonly Statement[];
}

let schema: Promise<MigratedSchema> | undefined;

/**
 * The schema the store's migrations make, read once per process from an in-memory
 * database on which TypeORM ran them exactly as `openSqliteStore` runs them on a file.
 * A TypeORM initialisation costs milliseconds; replaying this on a new in-memory database
 * (`openMemoryDatabase`) a fraction of one, which is what the simulator pays for every
 * replica of every seed. (Replaying beats deserialising an image of the database:
 * SQLite's in-memory pager commits several times faster than its `memdb` file layer.)
 */
export function migratedSchema(): Promise<MigratedSchema> {
  schema ??= (async () => {
    const dataSource = createStoreDataSource({ file: ':memory:' });
    await dataSource.initialize();
    try {
      return readSchema(connectionOf(dataSource));
    } finally {
      await dataSource.destroy();
    }
  })();
  return schema;
}

/** A new in-memory database holding the store's empty migrated schema (see `migratedSchema`). */
export function openMemoryDatabase(schema: MigratedSchema): BetterSqlite3.Database {
  const db = new BetterSqlite3(':memory:');
  db.transaction(() => {
    for (const s of schema.statements) db.prepare(s.sql).run(...s.params);
  })();
  return db;
}

function readSchema(db: BetterSqlite3.Database): MigratedSchema {
  const objects = db
    .prepare<[], { type: string; name: string; sql: string | null }>(`SELECT "type", "name", "sql" FROM "sqlite_master" ORDER BY "rowid"`)
    .all();
  // SQLite makes its own objects (autoindexes, sqlite_sequence) as the CREATEs run.
  const creates = objects.filter((o) => o.sql !== null && !o.name.startsWith('sqlite_')).map((o): Statement => ({ sql: o.sql!, params: [] }));
  const rows: Statement[] = [];
  for (const o of objects) {
    if (o.type !== 'table') continue;
    for (const row of db.prepare(`SELECT * FROM ${quote(o.name)}`).all() as Array<Record<string, unknown>>) {
      const columns = Object.keys(row);
      rows.push({
        sql: `INSERT INTO ${quote(o.name)} (${columns.map(quote).join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`,
        params: columns.map((c) => row[c]),
      });
    }
  }
  // sqlite_sequence exists only once a table with AUTOINCREMENT does: rows after every CREATE.
  return { statements: [...creates, ...rows] };
}

function quote(identifier: string): string {
  return `"${identifier.replace(/"/g, '""')}"`;
}
