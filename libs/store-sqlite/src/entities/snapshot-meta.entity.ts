import { Check, Column, Entity, PrimaryColumn } from 'typeorm';

/** The id of the only row of `snapshot_meta`: a replica keeps one snapshot, the latest. */
export const SNAPSHOT_META_ROW_ID = 1;

/** Where the latest snapshot stands: its round and the cut it covers. */
@Entity({ name: 'snapshot_meta' })
@Check('CHK_snapshot_meta_single_row', `"id" = ${SNAPSHOT_META_ROW_ID}`)
export class SnapshotMetaEntity {
  @PrimaryColumn({ type: 'integer', name: 'id' })
  id!: number;

  @Column({ type: 'integer', name: 'epoch' })
  epoch!: number;

  @Column({ type: 'integer', name: 'round' })
  round!: number;

  /** The version vector the snapshot covers exactly, as JSON. */
  @Column({ type: 'text', name: 'cut' })
  cut!: string;

  /** Stream sequence the snapshot includes everything up to. */
  @Column({ type: 'integer', name: 'stream_seq' })
  streamSeq!: number;
}
