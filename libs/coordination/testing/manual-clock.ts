import type { ClockPort } from '../src/ports';

interface Timer {
  readonly atMs: number;
  readonly order: number;
  readonly fn: () => void;
}

/** Lets pending promise chains run (a few macrotask turns, so chains of awaits settle). */
export async function settle(turns = 20): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((r) => setImmediate(r));
}

/**
 * A clock that moves only when told to (the simulator's clock, after TigerBeetle's): timers
 * fire in time order during `advance`, with promise chains settled between them, so a
 * spec runs minutes of protocol time in milliseconds, the same way every time.
 */
export class ManualClock implements ClockPort {
  private now: number;
  private order = 0;
  private timers = new Set<Timer>();

  constructor(startMs = 1_700_000_000_000) {
    this.now = startMs;
  }

  nowMs(): number {
    return this.now;
  }

  setTimer(ms: number, fn: () => void): () => void {
    const t: Timer = { atMs: this.now + Math.max(0, ms), order: this.order++, fn };
    this.timers.add(t);
    return () => {
      this.timers.delete(t);
    };
  }

  defer(fn: () => void): void {
    this.setTimer(0, fn);
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way. */
  async advance(ms: number): Promise<void> {
    const target = this.now + ms;
    for (;;) {
      await settle();
      let next: Timer | undefined;
      for (const t of this.timers) if (t.atMs <= target && (!next || t.atMs < next.atMs || (t.atMs === next.atMs && t.order < next.order))) next = t;
      if (!next) break;
      this.timers.delete(next);
      this.now = Math.max(this.now, next.atMs);
      next.fn();
    }
    this.now = target;
    await settle();
  }

  /** Advances in steps until `done()` holds or `maxMs` passed; returns whether it holds. */
  async runUntil(done: () => boolean, maxMs: number, stepMs = 10): Promise<boolean> {
    for (let t = 0; t <= maxMs && !done(); t += stepMs) await this.advance(stepMs);
    return done();
  }
}
