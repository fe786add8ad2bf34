import type { FaultCluster } from './fault-cluster';

/**
 * Watches every replica's consumer against the op stream once a second: a replica that
 * answers but whose stream position stays put while the stream has moved past it is
 * stalled (a consumer that did not notice its server going away, say). Stalls are not
 * safety failures, but rounds abort while one lasts, so the report lists the long ones.
 */

/** One stall of one replica's consumer. */
export interface Stall {
  readonly replica: string;
  readonly fromMs: number;
  readonly toMs: number;
  /** The position it was stuck at, and how far the stream had got meanwhile. */
  readonly streamSeq: number;
  readonly streamLast: number;
  /** True when the stall ended because the replica stopped answering (crashed, stopped), not because it moved on. */
  readonly endedByFault: boolean;
}

/** Bounds (units last). */
export interface ProgressMonitorLimits {
  readonly sampleMs: number;
  /** Stalls shorter than this are not kept. */
  readonly stallMsMin: number;
}

/** Defaults. */
export const DEFAULT_PROGRESS_LIMITS: ProgressMonitorLimits = { sampleMs: 1_000, stallMsMin: 4_000 };

interface Open {
  readonly fromMs: number;
  readonly streamSeq: number;
  streamLast: number;
  lastSeenMs: number;
}

export class ProgressMonitor {
  readonly stalls: Stall[] = [];
  private readonly open = new Map<string, Open>();
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly cluster: FaultCluster,
    private readonly limits: ProgressMonitorLimits = DEFAULT_PROGRESS_LIMITS,
  ) {}

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  /** Stops sampling; stalls still open are closed as they stand. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    for (const id of [...this.open.keys()]) this.close(id, false);
  }

  /** The longest stall that ended by the replica moving on (not by a fault on it), or undefined. */
  longest(): Stall | undefined {
    return this.stalls.filter((s) => !s.endedByFault).sort((a, b) => b.toMs - b.fromMs - (a.toMs - a.fromMs))[0];
  }

  private async run(): Promise<void> {
    while (this.running) {
      await new Promise<void>((r) => {
        const timer = setTimeout(r, this.limits.sampleMs);
        this.wake = () => {
          clearTimeout(timer);
          r();
        };
      });
      if (!this.running) return;
      const last = await this.cluster.streamLastSeq().catch(() => undefined);
      if (last === undefined) continue;
      await Promise.all(this.cluster.replicaIds.map((id) => this.sample(id, last)));
    }
  }

  private async sample(id: string, streamLast: number): Promise<void> {
    if (this.cluster.paused.has(id)) return this.close(id, true);
    const s = await this.cluster.status(id).catch(() => undefined);
    const now = Date.now();
    if (!s?.ok || typeof s.streamSeq !== 'number') return this.close(id, true);
    const open = this.open.get(id);
    if (open && s.streamSeq === open.streamSeq) {
      open.streamLast = streamLast;
      open.lastSeenMs = now;
      return;
    }
    if (open) this.close(id, false);
    // Behind the stream's end now: a stall starts here unless it moves by the next sample.
    if (s.streamSeq < streamLast) this.open.set(id, { fromMs: now, streamSeq: s.streamSeq, streamLast, lastSeenMs: now });
  }

  private close(id: string, endedByFault: boolean): void {
    const o = this.open.get(id);
    if (!o) return;
    this.open.delete(id);
    if (o.lastSeenMs - o.fromMs >= this.limits.stallMsMin && o.streamLast > o.streamSeq) {
      this.stalls.push({ replica: id, fromMs: o.fromMs, toMs: o.lastSeenMs, streamSeq: o.streamSeq, streamLast: o.streamLast, endedByFault });
    }
  }
}
