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

/**
 * The clock of one replica. Physical time comes through an injected port, so the
 * simulator can drive it; nothing here reads `Date.now()`.
 */
export class HybridLogicalClock {
  private last: Timestamp;

  constructor(
    private readonly physicalNowMs: () => number,
    last: Timestamp = 0,
  ) {
    this.last = last;
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
   * would otherwise make every later `now()` a fraction or stop it advancing.
   */
  observe(remote: Timestamp): void {
    if (isTimestamp(remote) && remote > this.last) this.last = remote;
  }

  /** The latest timestamp issued or observed. */
  peek(): Timestamp {
    return this.last;
  }
}
