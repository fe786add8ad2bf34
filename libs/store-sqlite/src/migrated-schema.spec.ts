import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ReplicatedEvent } from '#replication/replicated-event';
import { connectionOf, createStoreDataSource } from './data-source';
import { migratedSchema, openMemoryDatabase } from './migrated-schema';
import { SqliteStore } from './sqlite-store';

const SCHEMA_SQL = `SELECT "type", "name", "sql" FROM "sqlite_master" WHERE "name" NOT LIKE 'sqlite_%' ORDER BY "type", "name"`;

describe('migratedSchema', () => {
  it('migrated schema - a new memory database holds exactly the schema and migration records the migrations make on a file', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'migrated-schema-'));
    const ds = await createStoreDataSource({ file: path.join(dir, 'replica.db') }).initialize();
    try {
      const onFile = connectionOf(ds);
      const copy = openMemoryDatabase(await migratedSchema());
      try {
        expect(copy.prepare(SCHEMA_SQL).all()).toEqual(onFile.prepare(SCHEMA_SQL).all());
        const migrations = `SELECT "name" FROM "typeorm_migrations" ORDER BY "id"`;
        expect(copy.prepare(migrations).pluck().all()).toEqual(onFile.prepare(migrations).pluck().all());
        expect(copy.prepare(migrations).pluck().all()).toEqual(['InitialSchema1767225600000', 'SnapshotKeyDigestTerm1795910400000']);
      } finally {
        copy.close();
      }
    } finally {
      await ds.destroy();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('migrated schema - memory databases are independent, and a store on one keeps its rows across new store instances', async () => {
    const schema = await migratedSchema();
    const a = openMemoryDatabase(schema);
    const b = openMemoryDatabase(schema);
    try {
      const event: ReplicatedEvent = { v: 1, origin: 'x', seq: 1, time: 1, deps: {}, key: 'k', type: 'pn-counter', options: null, ops: [] };
      await new SqliteStore(a).commit({ events: [event], streamSeq: 7 });
      const reopened = await new SqliteStore(a).load();
      expect(reopened.events).toEqual([event]);
      expect(reopened.streamSeq).toBe(7);
      expect((await new SqliteStore(b).load()).events).toEqual([]);
    } finally {
      a.close();
      b.close();
    }
  });
});
