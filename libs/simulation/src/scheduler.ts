import type { ClockPort } from '#replication/ports';
import type { Trace } from './trace';

/** Cancels a scheduled task (a no-op once it ran). */
export type Cancel = () => void;

interface Task {
  readonly atMs: number;
  readonly order: number;
  readonly label: string;
  readonly fn: () => void;
  cancelled: boolean;
}

/** The wall clock the virtual time 0 stands for (HLC timestamps need a plausible epoch). */
export const SIM_EPOCH_MS = 1_700_000_000_000;

/**
 * Virtual time for the whole cluster in one process (after TigerBeetle's simulator): a
 * queue of tasks ordered by (time, insertion), run one at a time. Nothing in a run reads
 * the real clock; every timer, delay, delivery and disk write is a task here.
 *
 * The replica core awaits promises, so after each task the scheduler lets every
 * microtask that task set off run to completion (`setImmediate` fires only once the
 * microtask queue is empty) before taking the next task. Promises the simulator hands
 * the core resolve from tasks, so the interleaving is a function of the seed alone.
 */
export class Scheduler {
  nowMs = 0;
  steps = 0;
  private heap: Task[] = [];
  private order = 0;

  constructor(
    private readonly trace: Trace,
    /** A task threw: in production that process would crash loudly. */
    private readonly onTaskError: (label: string, err: unknown) => void,
  ) {}

  /** Runs `fn` at virtual time `atMs` (not before now). */
  at(atMs: number, label: string, fn: () => void): Cancel {
    const task: Task = { atMs: Math.max(this.nowMs, Math.round(atMs)), order: this.order++, label, fn, cancelled: false };
    this.push(task);
    return () => {
      task.cancelled = true;
    };
  }

  /** Runs `fn` `delayMs` from now. */
  after(delayMs: number, label: string, fn: () => void): Cancel {
    return this.at(this.nowMs + Math.max(0, delayMs), label, fn);
  }

  /** Tasks waiting. */
  get pending(): number {
    return this.heap.length;
  }

  /**
   * Runs tasks until `stop()` holds, the queue is empty, virtual time would pass
   * `untilMs`, or `stepsMax` tasks have run. Resolves with why it stopped.
   */
  async run(options: { untilMs: number; stepsMax: number; stop?: () => boolean }): Promise<'stopped' | 'idle' | 'time' | 'steps'> {
    for (;;) {
      if (options.stop?.()) return 'stopped';
      if (this.steps >= options.stepsMax) return 'steps';
      const task = this.peek();
      if (!task) return 'idle';
      if (task.atMs > options.untilMs) {
        this.nowMs = options.untilMs;
        return 'time';
      }
      this.pop();
      if (task.cancelled) continue;
      this.nowMs = task.atMs;
      this.steps++;
      this.trace.step(task.atMs, task.label);
      try {
        task.fn();
      } catch (err) {
        this.onTaskError(task.label, err);
      }
      await drainMicrotasks();
    }
  }

  private push(task: Task): void {
    const h = this.heap;
    h.push(task);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(h[i], h[parent])) break;
      [h[i], h[parent]] = [h[parent], h[i]];
      i = parent;
    }
  }

  private peek(): Task | undefined {
    return this.heap[0];
  }

  private pop(): Task | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l], h[m])) m = l;
        if (r < h.length && before(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}

function before(a: Task, b: Task): boolean {
  return a.atMs !== b.atMs ? a.atMs < b.atMs : a.order < b.order;
}

/** Resolves once every microtask queued so far (and every one they queue) has run. */
export function drainMicrotasks(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * One process lifetime. A crash ends it: its timers never fire again and the promises
 * it is waiting on never settle, exactly as if the process had died.
 */
export class Life {
  alive = true;

  constructor(readonly name: string) {}

  /** Ends this lifetime. */
  end(): void {
    this.alive = false;
  }
}

/** A process's view of time: the shared virtual time plus its own clock skew. */
export class SimClock implements ClockPort {
  constructor(
    private readonly scheduler: Scheduler,
    private readonly life: Life,
    /** Milliseconds this process's wall clock is ahead of true virtual time (negative: behind). */
    private readonly skew: { ms: number },
  ) {}

  /** The latest reading this lifetime's clock has given (a clock set back does not lower it). */
  highWaterMs = 0;

  nowMs(): number {
    const now = SIM_EPOCH_MS + this.scheduler.nowMs + this.skew.ms;
    if (now > this.highWaterMs) this.highWaterMs = now;
    return now;
  }

  setTimer(ms: number, fn: () => void): () => void {
    const life = this.life;
    return this.scheduler.after(ms, `timer ${life.name}`, () => {
      if (life.alive) fn();
    });
  }

  defer(fn: () => void): void {
    const life = this.life;
    this.scheduler.after(0, `defer ${life.name}`, () => {
      if (life.alive) fn();
    });
  }
}
