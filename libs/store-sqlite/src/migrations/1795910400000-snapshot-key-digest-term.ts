import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Each snapshot key keeps its digest term (`StateDigest.term` of its encoding, 32 bytes),
 * written with the encoding by the round that compacted the key. A load restores the terms
 * instead of hashing every key, so the first round after a restart does not hold writes for
 * as long as hashing the whole key space takes (issue 11: 5.4 s at 1M keys). Rows written
 * before this migration have none; their terms are computed as before.
 */
export class SnapshotKeyDigestTerm1795910400000 implements MigrationInterface {
  readonly name = 'SnapshotKeyDigestTerm1795910400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "snapshot_key" ADD COLUMN "term" blob`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "snapshot_key" DROP COLUMN "term"`);
  }
}
