import type { ReplicatedEvent } from '#protocol/replicated-event';

/** What an apply to the key space returned. */
export type ApplyResult = { ok: true } | { ok: false; reason: string };

/**
 * An optional port through which a test world watches the core's key space: the
 * deterministic simulator checks on every apply that no event is applied twice or
 * skipped, and records what own events changed. Production binds one only to count
 * applied events for its metrics (apps/replica/src/http). An observer only watches; it
 * never changes what the core does.
 */
export interface ReplicaObserver {
  /** `event` is about to be applied; the returned function, if any, runs right after with the result. */
  applying(event: ReplicatedEvent): ((result: ApplyResult) => void) | void;
  /** The key space is about to be emptied for a load (start, re-join). */
  cleared(): void;
}
