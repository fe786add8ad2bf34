import type { ReplicatedEvent } from '#protocol/replicated-event';

/** What an apply to the key space returned. */
export type ApplyResult = { ok: true } | { ok: false; reason: string };

/**
 * An optional port through which a test world watches the core's key space: the
 * deterministic simulator checks on every apply that no event is applied twice or
 * skipped, and records every own event made (`made`) and what it changed. Production
 * binds one only to count applied events for its metrics (apps/replica/src/http). An
 * observer only watches; it never changes what the core does.
 */
export interface ReplicaObserver {
  /** `event` is about to be applied; the returned function, if any, runs right after with the result. */
  applying(event: ReplicatedEvent): ((result: ApplyResult) => void) | void;
  /**
   * This replica made own event `event` (gave it its next own seq), whatever path made it:
   * an ordinary write or a delete just before it is applied; a strong write when it is
   * stamped and kept pending, before its publish (it is applied only once the stream
   * stored it, and possibly never here: the replica may die first while peers apply it);
   * the no-op that takes a refused strong write's seq, just before it is applied. Events
   * applied again (a load, the stream bringing own events back) are not made anew.
   */
  made?(event: ReplicatedEvent): void;
  /** The key space is about to be emptied for a load (start, re-join). */
  cleared(): void;
}
