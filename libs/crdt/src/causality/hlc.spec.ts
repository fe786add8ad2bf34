import * as fc from 'fast-check';
import { HLC_EPOCH_MS, HLC_LOGICAL_BITS, HybridLogicalClock, isTimestamp, timestampFromWallMs, wallMsOf } from './hlc';

const T0 = Date.UTC(2024, 0, 1);
/** A fake physical clock that returns the given readings in turn, then repeats the last. */
const readings = (ms: number[]) => {
  let i = 0;
  return () => ms[Math.min(i++, ms.length - 1)];
};

describe('hlc', () => {
  it('hlc - follows the wall clock when it moves forward', () => {
    const clock = new HybridLogicalClock(readings([T0, T0 + 5]));
    expect(clock.now()).toBe(timestampFromWallMs(T0));
    expect(clock.now()).toBe(timestampFromWallMs(T0 + 5));
    expect(clock.peek()).toBe(timestampFromWallMs(T0 + 5));
  });

  it('hlc - stays strictly monotonic when the wall clock stalls or goes backwards', () => {
    const clock = new HybridLogicalClock(readings([T0, T0, T0 - 1000, T0 - 2000, T0 + 1]));
    const t = [clock.now(), clock.now(), clock.now(), clock.now(), clock.now()];
    for (let i = 1; i < t.length; i++) expect(t[i]).toBeGreaterThan(t[i - 1]);
    expect(wallMsOf(t[3])).toBe(T0);
    // T0 + 1 is ahead of the logical ticks taken in T0, so the clock catches up to it.
    expect(t[4]).toBe(timestampFromWallMs(T0 + 1));
  });

  it('hlc - any sequence of wall-clock readings gives strictly increasing timestamps', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: T0 - 10_000, max: T0 + 10_000 }), { minLength: 1, maxLength: 50 }), (ms) => {
        const clock = new HybridLogicalClock(readings(ms));
        let last = -1;
        for (let i = 0; i < ms.length; i++) {
          const t = clock.now();
          expect(isTimestamp(t)).toBe(true);
          expect(t).toBeGreaterThan(last);
          expect(wallMsOf(t)).toBeGreaterThanOrEqual(ms[i]);
          last = t;
        }
      }),
      { numRuns: 200 },
    );
  });

  it('hlc - carries the logical counter into the millisecond part past 4,096 events', () => {
    const clock = new HybridLogicalClock(() => T0);
    const first = clock.now();
    let steps = 0;
    let last = first;
    for (let i = 0; i < 2 ** HLC_LOGICAL_BITS; i++) {
      const t = clock.now();
      if (t === last + 1) steps++;
      last = t;
    }
    expect(steps).toBe(2 ** HLC_LOGICAL_BITS);
    expect(wallMsOf(first)).toBe(T0);
    expect(wallMsOf(last)).toBe(T0 + 1);
  });

  it('hlc - observe lifts the clock past a remote timestamp and ignores older ones', () => {
    const clock = new HybridLogicalClock(() => T0);
    const remote = timestampFromWallMs(T0 + 60_000) + 7;
    clock.observe(remote);
    expect(clock.peek()).toBe(remote);
    expect(clock.now()).toBe(remote + 1);
    clock.observe(timestampFromWallMs(T0));
    expect(clock.peek()).toBe(remote + 1);
    expect(clock.now()).toBe(remote + 2);
  });

  it('hlc - observe ignores values that are not timestamps', () => {
    const clock = new HybridLogicalClock(() => T0);
    const t = clock.now();
    for (const bad of [NaN, Infinity, t + 0.5, 2 ** 53, -1]) clock.observe(bad);
    expect(clock.peek()).toBe(t);
    expect(clock.now()).toBe(t + 1);
  });

  it('hlc - a clock restarted from a saved reading never reissues it', () => {
    const saved = timestampFromWallMs(T0 + 1000) + 3;
    const clock = new HybridLogicalClock(() => T0, saved);
    expect(clock.now()).toBe(saved + 1);
  });

  it('hlc - packing round-trips whole milliseconds from the epoch to 2089', () => {
    const msMax = HLC_EPOCH_MS + Math.floor(Number.MAX_SAFE_INTEGER / 2 ** HLC_LOGICAL_BITS);
    expect(new Date(msMax).getUTCFullYear()).toBe(2089);
    fc.assert(
      fc.property(fc.integer({ min: HLC_EPOCH_MS, max: msMax }), fc.nat({ max: 2 ** HLC_LOGICAL_BITS - 1 }), (ms, logical) => {
        const t = timestampFromWallMs(ms);
        expect(isTimestamp(t)).toBe(true);
        expect(wallMsOf(t)).toBe(ms);
        expect(wallMsOf(t + logical)).toBe(ms);
        expect(timestampFromWallMs(wallMsOf(t + logical))).toBe(t);
      }),
      { numRuns: 300 },
    );
  });

  it('hlc - packing is monotonic and clamps times before the epoch to zero', () => {
    expect(timestampFromWallMs(HLC_EPOCH_MS - 1)).toBe(0);
    expect(timestampFromWallMs(0)).toBe(0);
    expect(timestampFromWallMs(HLC_EPOCH_MS + 0.9)).toBe(0);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: T0 * 2 }), fc.integer({ min: 0, max: T0 * 2 }), (a, b) => {
        if (a <= b) expect(timestampFromWallMs(a)).toBeLessThanOrEqual(timestampFromWallMs(b));
      }),
      { numRuns: 200 },
    );
  });

  it('hlc - isTimestamp accepts only non-negative safe integers', () => {
    for (const t of [0, 1, Number.MAX_SAFE_INTEGER]) expect(isTimestamp(t)).toBe(true);
    for (const t of [-1, 1.5, NaN, Infinity, 2 ** 53, '1', null, undefined]) expect(isTimestamp(t)).toBe(false);
  });

  describe('hlc - bounded offset', () => {
    const BOUND = 500;
    const fixed = (ms: number) => () => ms;

    it('hlc - takes in a remote time within the bound, and later local times order after it', () => {
      const clock = new HybridLogicalClock(fixed(T0), 0, { maxOffsetMs: BOUND });
      const remote = timestampFromWallMs(T0 + BOUND);
      expect(clock.observe(remote)).toBe(true);
      expect(clock.peek()).toBe(remote);
      expect(clock.now()).toBeGreaterThan(remote);
    });

    it('hlc - refuses a remote time further ahead than the bound and does not move', () => {
      const clock = new HybridLogicalClock(fixed(T0), 0, { maxOffsetMs: BOUND });
      clock.now();
      const before = clock.peek();
      const tenYears = timestampFromWallMs(T0 + 10 * 365 * 24 * 3600 * 1000);
      expect(clock.observe(tenYears)).toBe(false);
      expect(clock.observe(timestampFromWallMs(T0 + BOUND + 1))).toBe(false);
      expect(clock.peek()).toBe(before);
      expect(wallMsOf(clock.now())).toBe(T0);
      expect(clock.aheadMs(tenYears)).toBeGreaterThan(BOUND);
    });

    it('hlc - takes the same time in once the wall clock has caught up', () => {
      let wall = T0;
      const clock = new HybridLogicalClock(() => wall, 0, { maxOffsetMs: BOUND });
      const remote = timestampFromWallMs(T0 + 2_000);
      expect(clock.observe(remote)).toBe(false);
      wall = T0 + 1_500;
      expect(clock.observe(remote)).toBe(true);
      expect(clock.peek()).toBe(remote);
    });

    it('hlc - never runs further ahead of its wall clock than the bound, whatever it observes', () => {
      fc.assert(
        fc.property(
          fc.array(fc.tuple(fc.integer({ min: 0, max: 1_000 }), fc.integer({ min: -5_000, max: 10 ** 9 }), fc.boolean()), { minLength: 1, maxLength: 60 }),
          (steps) => {
            let wall = T0;
            const clock = new HybridLogicalClock(() => wall, 0, { maxOffsetMs: BOUND });
            for (const [advance, remoteOffset, local] of steps) {
              wall += advance;
              if (local) clock.now();
              else clock.observe(timestampFromWallMs(wall + remoteOffset) + 7);
              // One logical tick may carry past the millisecond; a few events per ms never carry far.
              expect(wallMsOf(clock.peek())).toBeLessThanOrEqual(wall + BOUND + 1);
            }
          },
        ),
        { numRuns: 300 },
      );
    });

    it('hlc - restore moves past an applied time beyond the bound (the replica\'s own durable past)', () => {
      const clock = new HybridLogicalClock(fixed(T0), 0, { maxOffsetMs: BOUND });
      const applied = timestampFromWallMs(T0 + 60_000);
      clock.restore(applied);
      expect(clock.now()).toBeGreaterThan(applied);
    });

    it('hlc - without a bound any remote time is taken in (the old behaviour, for tools that only read)', () => {
      const clock = new HybridLogicalClock(fixed(T0));
      const far = timestampFromWallMs(T0 + 10 ** 9);
      expect(clock.observe(far)).toBe(true);
      expect(clock.peek()).toBe(far);
    });
  });
});
