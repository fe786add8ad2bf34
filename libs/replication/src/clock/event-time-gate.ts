import { wallMsOf, type HybridLogicalClock } from '#crdt';
import type { LogPort } from '../ports';
import type { ReplicatedEvent } from '../replicated-event';

/** What to do with a remote event, given its time. */
export type EventTimeVerdict = 'apply' | 'hold' | 'refuse';

/** This replica's clock is in doubt (it may not take writes): what it knows of its peers' clocks. */
export interface ClockDoubt {
  /** The peers' clocks minus this one (ClockSkewGuard.peerOffsetMs); undefined when nothing is known. */
  readonly peerOffsetMs: number | undefined;
}

/** Bounds of the gate (from `ReplicaLimits`). */
export interface EventTimeLimits {
  readonly clockOffsetMaxMs: number;
  readonly clockOffsetHardMaxMs: number;
}

/** (origin, seq) pairs whose hold or refusal was logged, at most (then the memory starts over). */
const LOGGED_MAX = 10_000;
/** An event held because this replica's clock is in doubt is judged again this soon. */
const SUSPECT_RECHECK_MS = 1_000;

/**
 * Keeps events whose time lies too far ahead of this replica's wall clock from being
 * applied (they would drag the HLC, and last-writer-wins, ahead with them):
 * - within `clockOffsetMaxMs`: applied;
 * - further: held, and logged once with its origin. The core leaves it in the stream (its
 *   durable position stays before it) and reads it again once the clock has caught up
 *   (`retryAtMs`); it is not counted as delivered, so the origin's event with that seq is
 *   still applied when it comes;
 * - beyond `clockOffsetHardMaxMs`, while this replica's own clock agrees with its peers:
 *   refused, logged once with the code `EVENT_TIME_BEYOND_LIMIT`, and passed over, so an
 *   event from a forged or broken origin does not hold the stream position forever. It is
 *   not delivered either: the origin's real event with that seq, or a copy republished
 *   once the origin's clock is fixed, is applied. While this replica's clock is the one in
 *   doubt, such an event is held instead (the fault may be here).
 * While this replica's clock is in doubt, "ahead" is also measured against the peers'
 * clocks (this clock plus their offset), or, with nothing heard of them yet, against the
 * latest time this replica has applied or issued (its HLC); the larger lead counts. A
 * clock that jumped as far ahead as a forged or broken event would otherwise find that
 * event on time and apply it, and its origin's real event with that seq would then be
 * dropped as a duplicate here (seeds 437, 790, 1219, 2235, 2390). Holding only delays:
 * such an event is judged again within a second, and by this clock once it is trusted.
 * A duplicate (its seq already applied) is let through: the causal buffer drops it.
 */
export class EventTimeGate {
  private readonly logged = new Set<string>();
  private retryAt = 0;

  constructor(
    private readonly hlc: () => HybridLogicalClock,
    private readonly nowMs: () => number,
    private readonly limits: EventTimeLimits,
    private readonly log: LogPort,
  ) {}

  /** The verdict for `e`. `delivered` says whether its (origin, seq) was applied already; `doubt` whether this replica's clock is in doubt, and what it knows of its peers' clocks then. */
  judge(e: ReplicatedEvent, delivered: () => boolean, doubt: () => ClockDoubt | undefined): EventTimeVerdict {
    const latest = e.time + Math.max(0, e.ops.length - 1);
    const hlc = this.hlc();
    const ownAheadMs = hlc.aheadMs(latest);
    const d = doubt();
    let aheadMs = ownAheadMs;
    if (d) {
      const peersAheadMs = d.peerOffsetMs !== undefined ? ownAheadMs - d.peerOffsetMs : wallMsOf(latest) - wallMsOf(hlc.peek());
      aheadMs = Math.max(ownAheadMs, peersAheadMs);
    }
    if (aheadMs <= this.limits.clockOffsetMaxMs || delivered()) return 'apply';
    const fields = { origin: e.origin, seq: e.seq, key: e.key, eventTime: new Date(wallMsOf(latest)).toISOString(), aheadMs, maxOffsetMs: this.limits.clockOffsetMaxMs, ...(d ? { ownClockInDoubt: true } : {}) };
    if (aheadMs > this.limits.clockOffsetHardMaxMs && !d) {
      this.once(`refuse ${e.origin}#${e.seq}`, () =>
        this.log.warn('refused an event timed beyond the hard limit ahead of this replica\'s clock; it is not applied', { code: 'EVENT_TIME_BEYOND_LIMIT', hardMaxMs: this.limits.clockOffsetHardMaxMs, ...fields }),
      );
      return 'refuse';
    }
    this.once(`hold ${e.origin}#${e.seq}`, () => this.log.warn('holding an event timed ahead of this replica\'s clock until the clock catches up', { code: 'EVENT_TIME_AHEAD', ...fields }));
    // Due when this clock has caught up; one held because this clock is in doubt is judged again soon.
    const waitMs = aheadMs > ownAheadMs || aheadMs > this.limits.clockOffsetHardMaxMs ? SUSPECT_RECHECK_MS : aheadMs - this.limits.clockOffsetMaxMs;
    const due = this.nowMs() + waitMs;
    this.retryAt = this.retryAt === 0 ? due : Math.min(this.retryAt, due);
    return 'hold';
  }

  /** When the earliest held event may be taken in (0: none held). */
  retryAtMs(): number {
    return this.retryAt;
  }

  /** The held part of the stream is being read again: events still ahead are held (and timed) anew. */
  rereading(): void {
    this.retryAt = 0;
  }

  private once(key: string, log: () => void): void {
    if (this.logged.has(key)) return;
    if (this.logged.size >= LOGGED_MAX) this.logged.clear();
    this.logged.add(key);
    log();
  }
}
