import type { ClockPort } from './ports';
import type { MemberView } from './membership';
import type { RoundResult, RoundTrigger } from './round-result';

/** When rounds run on their own (units last; 0 turns a trigger off). */
export interface RoundScheduleConfig {
  /** A round this long after the previous one ended; 0 = no scheduled rounds. */
  readonly intervalMs: number;
  /** A round when any member's op log reaches this many events; 0 = off. */
  readonly opLogThreshold: number;
  /** Least time between the end of a round and the next automatic one. */
  readonly gapMsMin: number;
  /** After an aborted automatic round, wait this long, doubling per further abort... */
  readonly abortBackoffMsMin: number;
  /** ...up to this. */
  readonly abortBackoffMsMax: number;
}

/** Defaults: rounds every minute, or sooner when an op log passes 100 000 events. */
export const DEFAULT_ROUND_SCHEDULE: RoundScheduleConfig = {
  intervalMs: 60_000,
  opLogThreshold: 100_000,
  gapMsMin: 1_000,
  abortBackoffMsMin: 2_000,
  abortBackoffMsMax: 60_000,
};

/**
 * Decides when rounds run and makes sure only one runs at a time. Three triggers: a
 * schedule (`intervalMs` after the previous round), an op-log threshold (checked on every
 * heartbeat) and by hand. Automatic triggers that fire during a round are dropped, and
 * after aborts they back off; requests by hand are never dropped: one arriving during a
 * round gets the next round (shared by everyone who asked meanwhile), so its result
 * covers every write acknowledged before the request. A scheduled round is skipped (and
 * the next one scheduled `intervalMs` later) when `worthRunning` says nothing changed.
 */
export class RoundScheduler {
  private enabled = false;
  private running: Promise<RoundResult> | undefined;
  private queued: { promise: Promise<RoundResult>; start: () => void } | undefined;
  private lastEndMs = Number.NEGATIVE_INFINITY;
  /** When the schedule last fired without running a round (nothing to compact). */
  private lastSkipMs = Number.NEGATIVE_INFINITY;
  private abortsInRow = 0;
  private cancelTimer: (() => void) | undefined;

  constructor(
    private readonly clock: ClockPort,
    private readonly config: RoundScheduleConfig,
    private readonly run: (trigger: RoundTrigger) => Promise<RoundResult>,
    /** Asked when the schedule fires: false skips that round. Threshold and manual rounds always run. */
    private readonly worthRunning: () => boolean = () => true,
  ) {}

  /** Starts automatic triggers (when this coordinator becomes leader). */
  enable(): void {
    if (this.enabled) return;
    this.enabled = true;
    this.lastEndMs = this.clock.nowMs();
    this.arm();
  }

  /** Stops automatic triggers; a running round finishes. */
  disable(): void {
    this.enabled = false;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
  }

  /** True while a round runs. */
  get busy(): boolean {
    return this.running !== undefined;
  }

  /** Resolves when no round runs or waits. */
  async idle(): Promise<void> {
    while (this.running) await this.running.catch(() => undefined);
  }

  /** A round by hand: now, or right after the running one. */
  requestNow(): Promise<RoundResult> {
    if (!this.running) return this.start('manual');
    if (!this.queued) {
      let start!: () => void;
      const gate = new Promise<void>((r) => (start = r));
      const promise = gate.then(() => this.start('manual'));
      this.queued = { promise, start };
    }
    return this.queued.promise;
  }

  /** Checks the op-log threshold against the members' latest heartbeats. */
  checkThreshold(members: readonly MemberView[]): void {
    const limit = this.config.opLogThreshold;
    if (limit <= 0 || !this.mayRunAutomatic()) return;
    // Heartbeats from before the last round ended still show the op log it truncated.
    const over = members.find((m) => m.heardAtMs > this.lastEndMs && m.beat.opLogLength >= limit);
    if (over) void this.start('threshold');
  }

  private mayRunAutomatic(): boolean {
    if (!this.enabled || this.running || this.queued) return false;
    return this.clock.nowMs() - this.lastEndMs >= this.waitAfterLastMs();
  }

  private waitAfterLastMs(): number {
    if (this.abortsInRow === 0) return this.config.gapMsMin;
    const backoff = this.config.abortBackoffMsMin * 2 ** Math.min(this.abortsInRow - 1, 30);
    return Math.max(this.config.gapMsMin, Math.min(backoff, this.config.abortBackoffMsMax));
  }

  private start(trigger: RoundTrigger): Promise<RoundResult> {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    const p = this.run(trigger).then(
      (r) => {
        this.finish(trigger, r.outcome === 'committed');
        return r;
      },
      (e: unknown) => {
        this.finish(trigger, false);
        throw e;
      },
    );
    this.running = p;
    return p;
  }

  private finish(trigger: RoundTrigger, committed: boolean): void {
    this.running = undefined;
    this.lastEndMs = this.clock.nowMs();
    if (committed) this.abortsInRow = 0;
    else if (trigger !== 'manual') this.abortsInRow++;
    const q = this.queued;
    this.queued = undefined;
    if (q) q.start();
    else this.arm();
  }

  /** Arms the schedule: the next scheduled round `intervalMs` after the last one ended (later after aborts). */
  private arm(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    if (!this.enabled || this.config.intervalMs <= 0 || this.running) return;
    const dueMs = Math.max(this.lastEndMs + Math.max(this.config.intervalMs, this.waitAfterLastMs()), this.lastSkipMs + this.config.intervalMs);
    this.cancelTimer = this.clock.setTimer(Math.max(0, dueMs - this.clock.nowMs()), () => {
      this.cancelTimer = undefined;
      if (!this.mayRunAutomatic()) return this.arm();
      if (this.worthRunning()) return void this.start('schedule');
      this.lastSkipMs = this.clock.nowMs();
      this.arm();
    });
  }
}
