import type { ClockPort } from './ports';

interface Waiter {
  readonly ready: () => boolean;
  readonly resolve: (reached: boolean) => void;
  cancel: () => void;
}

/**
 * Bounded waits on conditions of replica progress (a token's vector applied, a stream
 * position reached, an op acknowledged by every peer). Each wait ends when its condition
 * holds or when its time runs out; the number of waits is bounded too.
 */
export class BoundedWaits {
  private readonly waiters = new Set<Waiter>();

  constructor(
    private readonly clock: ClockPort,
    private readonly waitsMax: number,
  ) {}

  /** Resolves true once `ready()` holds, false after `timeoutMs`; undefined when too many waits are open. */
  wait(ready: () => boolean, timeoutMs: number): Promise<boolean> | undefined {
    if (ready()) return Promise.resolve(true);
    if (this.waiters.size >= this.waitsMax) return undefined;
    return new Promise<boolean>((resolve) => {
      const w: Waiter = { ready, resolve, cancel: () => undefined };
      w.cancel = this.clock.setTimer(timeoutMs, () => {
        this.waiters.delete(w);
        resolve(false);
      });
      this.waiters.add(w);
    });
  }

  /** Re-checks every open wait; call after any progress. */
  poke(): void {
    if (this.waiters.size === 0) return;
    for (const w of this.waiters) {
      if (w.ready()) {
        this.waiters.delete(w);
        w.cancel();
        w.resolve(true);
      }
    }
  }

  /** Open waits. */
  get size(): number {
    return this.waiters.size;
  }
}
