import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The first schema of the replica's store. The SQL is what TypeORM generates for the
 * entities in ../entities (the spec checks that they still agree), written out so that
 * the schema on disk changes only through a reviewed migration, never by `synchronize`.
 */
export class InitialSchema1767225600000 implements MigrationInterface {
  // Explicit, because TypeORM reads the timestamp off the name and a minifier may rename classes.
  readonly name = 'InitialSchema1767225600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE TABLE "op_log" ("id" integer PRIMARY KEY AUTOINCREMENT NOT NULL, "origin" varchar NOT NULL, "seq" integer NOT NULL, "key" varchar NOT NULL, "event" text NOT NULL)`,
    );
    await q.query(`CREATE INDEX "IDX_op_log_key" ON "op_log" ("key")`);
    await q.query(`CREATE UNIQUE INDEX "UQ_op_log_origin_seq" ON "op_log" ("origin", "seq")`);
    await q.query(`CREATE TABLE "meta" ("key" varchar PRIMARY KEY NOT NULL, "value" text NOT NULL) WITHOUT ROWID`);
    await q.query(
      `CREATE TABLE "snapshot_meta" ("id" integer PRIMARY KEY NOT NULL, "epoch" integer NOT NULL, "round" integer NOT NULL, "cut" text NOT NULL, "stream_seq" integer NOT NULL, CONSTRAINT "CHK_snapshot_meta_single_row" CHECK ("id" = 1))`,
    );
    await q.query(`CREATE TABLE "snapshot_key" ("key" varchar PRIMARY KEY NOT NULL, "encoded" text NOT NULL) WITHOUT ROWID`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "snapshot_key"`);
    await q.query(`DROP TABLE "snapshot_meta"`);
    await q.query(`DROP TABLE "meta"`);
    await q.query(`DROP INDEX "UQ_op_log_origin_seq"`);
    await q.query(`DROP INDEX "IDX_op_log_key"`);
    await q.query(`DROP TABLE "op_log"`);
  }
}
