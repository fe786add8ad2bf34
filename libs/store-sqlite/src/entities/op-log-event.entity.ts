import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * One row of the op log: an event applied after the latest snapshot.
 *
 * `id` is the applied order (AUTOINCREMENT, so an id is never handed out twice even after
 * a snapshot deletes the newest rows). The unique index on (origin, seq) is both the
 * duplicate guard and the index the outbox reads by; a second plain index on the same
 * columns would only slow inserts down. The index on `key` serves `history`: SQLite keeps
 * the rowid in every index entry, so rows of one key come out in `id` order for free.
 */
@Entity({ name: 'op_log' })
@Index('UQ_op_log_origin_seq', ['origin', 'seq'], { unique: true })
export class OpLogEventEntity {
  @PrimaryGeneratedColumn({ type: 'integer', name: 'id' })
  id!: number;

  /** The replica that made the event. */
  @Column({ type: 'varchar', name: 'origin' })
  origin!: string;

  /** The event's sequence number at its origin. */
  @Column({ type: 'integer', name: 'seq' })
  seq!: number;

  /** The key the event writes. */
  @Index('IDX_op_log_key')
  @Column({ type: 'varchar', name: 'key' })
  key!: string;

  /** The whole `ReplicatedEvent` as JSON. */
  @Column({ type: 'text', name: 'event' })
  event!: string;
}
