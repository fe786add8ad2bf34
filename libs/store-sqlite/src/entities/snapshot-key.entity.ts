import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * One key of the latest snapshot. WITHOUT ROWID clusters the rows by key, so loading the
 * snapshot "sorted by key" is a plain table scan.
 */
@Entity({ name: 'snapshot_key', withoutRowid: true })
export class SnapshotKeyEntity {
  @PrimaryColumn({ type: 'varchar', name: 'key' })
  key!: string;

  /** The key's CRDT encoding, as JSON. */
  @Column({ type: 'text', name: 'encoded' })
  encoded!: string;

  /** The key's digest term (32 bytes; see `StateDigest`), when the round that wrote the row computed it. */
  @Column({ type: 'blob', name: 'term', nullable: true })
  term!: Buffer | null;
}
