import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Names of the rows of the `meta` table. */
export const META_KEYS = {
  replicaId: 'replica_id',
  streamSeq: 'stream_seq',
  publishedThrough: 'published_through',
  /** A strong write whose outcome is not known yet (`StrongPending`, as JSON); absent when none. */
  strongPending: 'strong_pending',
} as const;

/** One progress marker or identity fact of the replica (see `META_KEYS`), as text. */
@Entity({ name: 'meta', withoutRowid: true })
export class MetaEntity {
  @PrimaryColumn({ type: 'varchar', name: 'key' })
  key!: string;

  /** The value as text: the replica id, a decimal integer for the sequence markers, JSON for a pending strong write. */
  @Column({ type: 'text', name: 'value' })
  value!: string;
}
