import { DiscardPolicy, RetentionPolicy, StorageType, type StreamConfig } from '@nats-io/jetstream';

/** Nanoseconds, JetStream's unit for durations. */
const NS_PER_MS = 1_000_000;

/**
 * The op stream's configuration, explicit in code so that every replica creates the same
 * stream. File storage (ops survive a broker restart); discard `new` when full, so that a
 * full stream refuses publishes (outboxes keep the ops and retry) instead of silently
 * dropping old ops that some replica may still need; a two-minute duplicate window for
 * `Nats-Msg-Id`, so re-publishing after a lost ack does not store a batch twice.
 */
export function opStreamConfig(name: string, subjectsFilter: string, replicas: number, bytesMax: number): Partial<StreamConfig> & { name: string } {
  return {
    name,
    subjects: [subjectsFilter],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.New,
    max_msgs: -1,
    max_bytes: bytesMax,
    max_age: 0,
    max_msg_size: 1024 * 1024,
    duplicate_window: 120_000 * NS_PER_MS,
    num_replicas: replicas,
  };
}
