import type { ClockPort } from '#replication';

/** The real clock and timers. */
export const systemClock: ClockPort = {
  nowMs: () => Date.now(),
  setTimer(ms, fn) {
    const t = setTimeout(fn, ms);
    return () => clearTimeout(t);
  },
  defer: (fn) => void setImmediate(fn),
};
