import type { BrokerConsumer, ClockPort, LogPort, StreamBrokerPort, StreamReceiver } from '../ports';
import { decodeEventBatch, EVENT_VERSION } from '../replicated-event';
import { batchFromItsOrigin } from './origin-guard';
import { isPurgeGap } from './stream-verdict';

/** Bounds of one consume loop. */
export interface ConsumeLoopOptions {
  /** Events waiting for a group commit past which the loop waits for the disk before reading on. */
  readonly commitBacklogMax: number;
  /** Back-off between consumers after a failure: doubles from min to max. */
  readonly retryMsMin: number;
  readonly retryMsMax: number;
  /** The op subject of an origin: a batch is believed only from its origin's subject (`batchFromItsOrigin`). */
  readonly opsSubject: (origin: string) => string;
  /** The strong-write subject of a key (`batchFromItsOrigin`). */
  readonly strongSubject: (key: string) => string;
}

/** What a consume loop reports to the follower that runs it. */
export interface ConsumeLoopHooks {
  /** The consumer skipped from `wanted` to `first`: the stream was purged past this replica. The loop has ended. */
  purgedPast(wanted: number, first: number): void;
  /** A consumer failed or ended; the loop backs off and starts another (a moment to look at the stream). */
  consumerLost(): void;
  /** The core threw: the process cannot go on safely. */
  coreError(err: unknown): void;
}

/**
 * Delivers the op stream to the core in order, from a start sequence until stopped: one
 * consumer at a time, a new one (from where the last one stopped) after a failure, with
 * back-off. It waits for the group commit when too much is pending, so a slow disk slows
 * the consumer instead of growing memory. It stops at a purge gap and says so.
 */
export class ConsumeLoop {
  private stopped = false;
  private consumer: BrokerConsumer | undefined;
  private cancelSleep: (() => void) | undefined;

  constructor(
    private readonly broker: StreamBrokerPort,
    private readonly receiver: StreamReceiver,
    private readonly clock: ClockPort,
    private readonly log: LogPort,
    private readonly options: ConsumeLoopOptions,
    private readonly hooks: ConsumeLoopHooks,
  ) {}

  /** Starts delivering from `fromSeq` (at least 1). */
  start(fromSeq: number): void {
    void this.run(Math.max(1, fromSeq)).catch((e: unknown) => this.hooks.coreError(e));
  }

  /** Stops for good: the current consumer is closed, nothing more is delivered. */
  stop(): void {
    this.stopped = true;
    this.consumer?.close();
    this.consumer = undefined;
    this.cancelSleep?.();
  }

  private async run(startSeq: number): Promise<void> {
    let next = startSeq;
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        const consumer = await this.broker.consume(next);
        if (this.stopped) {
          consumer.close();
          return;
        }
        this.consumer = consumer;
        for (;;) {
          const m = await consumer.next();
          if (!m || this.stopped) break;
          attempt = 0;
          if (isPurgeGap(next, m.seq, this.receiver.consumedSeq())) {
            this.stop();
            this.hooks.purgedPast(next, m.seq);
            return;
          }
          next = m.seq + 1;
          const { batch, strongKey } = batchFromItsOrigin({ ops: this.options.opsSubject, strongOps: this.options.strongSubject }, m.subject, m.seq, decodeEventBatch(m.data), this.log);
          if (!batch) this.log.error('skipped a stream message that is not an event batch', { seq: m.seq, subject: m.subject });
          const done = this.receiver.receive(batch ?? { v: EVENT_VERSION, events: [] }, m.seq, strongKey);
          done.catch((e: unknown) => this.hooks.coreError(e));
          // Let the disk keep up: wait for the group commit when too much is pending.
          if (this.receiver.pendingCommitEvents() > this.options.commitBacklogMax) await done.catch(() => undefined);
          if (this.stopped) return;
        }
        consumer.close();
        if (this.stopped) return;
        this.log.warn('consumer ended; starting another', { from: next });
      } catch (e) {
        if (this.stopped) return;
        this.log.warn('consumer stopped; retrying', { error: String(e), from: next });
      }
      this.consumer = undefined;
      await this.sleep(Math.min(this.options.retryMsMin * 2 ** Math.min(attempt, 20), this.options.retryMsMax));
      if (!this.stopped) this.hooks.consumerLost();
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const cancel = this.clock.setTimer(ms, () => {
        this.cancelSleep = undefined;
        resolve();
      });
      this.cancelSleep = () => {
        cancel();
        this.cancelSleep = undefined;
        resolve();
      };
    });
  }
}
