/**
 * Hybrid logical clock (Kulkarni et al., "Logical Physical Clocks", 2014).
 *
 * A timestamp is one safe integer: milliseconds since `HLC_EPOCH_MS` shifted left by
 * `HLC_LOGICAL_BITS`, plus a logical counter. Packing it into a number keeps ops small and
 * comparisons cheap. When more than 4,096 events share one millisecond the counter carries
 * into the millisecond part: the clock runs a little ahead of the wall clock but stays
 * strictly monotonic, which is all correctness needs. The range reaches the year 2089.
 */
export type Timestamp = number;

/** 2020-01-01T00:00:00Z: the zero of the packed millisecond field. */
export const HLC_EPOCH_MS = 1_577_836_800_000;
/** Bits of the logical counter. */
export const HLC_LOGICAL_BITS = 12;
const LOGICAL_RANGE = 2 ** HLC_LOGICAL_BITS;

/** Packs wall-clock milliseconds (Unix epoch) into the smallest timestamp of that millisecond. */
export function timestampFromWallMs(wallMs: number): Timestamp {
  return Math.max(0, Math.floor(wallMs) - HLC_EPOCH_MS) * LOGICAL_RANGE;
}

/** The wall-clock milliseconds (Unix epoch) a timestamp stands for. */
export function wallMsOf(t: Timestamp): number {
  return Math.floor(t / LOGICAL_RANGE) + HLC_EPOCH_MS;
}

/** True when `t` can be a timestamp (a non-negative safe integer). */
export function isTimestamp(t: unknown): t is Timestamp {
  return typeof t === 'number' && Number.isSafeInteger(t) && t >= 0;
}

/** Bounds of one clock. */
export interface HlcOptions {
  /**
   * Most a remote time may lead this clock's wall clock, in milliseconds (CockroachDB's
   * maximum offset). A remote time further ahead is not taken in: one poisoned event would
   * otherwise drag this clock, and every clock that hears from it, years ahead, and decide
   * last-writer-wins from then on. Unbounded when absent.
   */
  readonly maxOffsetMs?: number;
}

/**
 * The clock of one replica. Physical time comes through an injected port, so the
 * simulator can drive it; nothing here reads `Date.now()`.
 */
export class HybridLogicalClock {
  private last: Timestamp;
  private readonly maxOffsetMs: number;

  constructor(
    private readonly physicalNowMs: () => number,
    last: Timestamp = 0,
    options: HlcOptions = {},
  ) {
    this.last = last;
    this.maxOffsetMs = options.maxOffsetMs ?? Number.POSITIVE_INFINITY;
  }

  /** A new timestamp for a local event: greater than every timestamp issued or observed. */
  now(): Timestamp {
    const physical = timestampFromWallMs(this.physicalNowMs());
    this.last = physical > this.last ? physical : this.last + 1;
    return this.last;
  }

  /**
   * Takes in a timestamp from a remote event so that later local events order after it.
   * Anything that is not a timestamp is ignored: a stray 1.5 or Infinity from the wire
   * would otherwise make every later `now()` a fraction or stop it advancing. A time that
   * leads the wall clock by more than `maxOffsetMs` is refused (false) and the clock does
   * not move: the caller must not apply that event yet (see `aheadMs`).
   */
  observe(remote: Timestamp): boolean {
    if (!isTimestamp(remote)) return false;
    if (this.aheadMs(remote) > this.maxOffsetMs) return false;
    if (remote > this.last) this.last = remote;
    return true;
  }

  /**
   * Moves past a time this replica has already applied and made durable (its own past,
   * loaded from disk), whatever the wall clock says now: causality comes first, and a wall
   * clock that went back since is the replica's own fault (it stops taking writes then).
   */
  restore(applied: Timestamp): void {
    if (isTimestamp(applied) && applied > this.last) this.last = applied;
  }

  /** How many milliseconds `t` lies ahead of the wall clock now (0 or less: not ahead). */
  aheadMs(t: Timestamp): number {
    return wallMsOf(t) - Math.floor(this.physicalNowMs());
  }

  /** The configured bound (Infinity when unbounded). */
  get offsetMaxMs(): number {
    return this.maxOffsetMs;
  }

  /** The latest timestamp issued or observed. */
  peek(): Timestamp {
    return this.last;
  }
}
