import type { ClockPort, LogPort, OpStreamPort, StorePort } from './ports';
import type { ReplicatedEvent } from './replicated-event';

/** Limits of the outbox. */
export interface OutboxLimits {
  /** Events kept in memory waiting to be published; past this they are re-read from the store. */
  readonly memoryEventsMax: number;
  /** Events in one JetStream message. */
  readonly batchEventsMax: number;
  /** Bytes (approximate JSON size) in one JetStream message. */
  readonly batchBytesMax: number;
  /** Back-off between failed publishes, first and largest, milliseconds. */
  readonly retryMsMin: number;
  readonly retryMsMax: number;
}

/**
 * The crash-safe outbox: own events go to the stream only after they are durable in the
 * store, in sequence order, batched into few messages, one publish in flight at a time
 * (JetStream keeps one publisher's order that way). On failure it backs off and retries
 * for as long as it takes: writes acknowledged locally are never dropped. After a restart
 * or a stream loss it re-reads unpublished events from the store.
 */
export class Outbox {
  private queue: ReplicatedEvent[] = [];
  /** Highest own seq read into the queue (or published); the store holds the rest. */
  private queuedThrough: number;
  private spilled = false;
  private inFlight = false;
  /** A deferred pump is scheduled (`pumpSoon`). */
  private pumpScheduled = false;
  private retryMs: number;
  private cancelRetry: (() => void) | undefined;
  private stopped = false;
  /** Set by a rewind: publishes after it are copies the stream must store again (see `batchMessageId`). */
  private republish: string | undefined;
  private rewinds = 0;
  /** Own seqs past `publishedThrough + 1` known to be in the stream (see `noteInStream`); at most `depth` of them. */
  private readonly seenInStream = new Set<number>();

  constructor(
    private readonly self: string,
    private readonly store: StorePort,
    private readonly stream: OpStreamPort,
    private readonly clock: ClockPort,
    private readonly log: LogPort,
    private readonly limits: OutboxLimits,
    /** Own events with seq ≤ this are in the stream. */
    public publishedThrough: number,
    /** Own events known to exist (the last own seq). */
    private lastSeq: number,
    private readonly onPublished: (through: number) => void,
  ) {
    this.queuedThrough = publishedThrough;
    this.spilled = lastSeq > publishedThrough;
    this.retryMs = limits.retryMsMin;
  }

  /**
   * Own events up to `seq` exist here (applied again after a re-join, from the op log or the
   * stream): a later resend request must find them, so the outbox has to know of them.
   */
  noteExisting(seq: number): void {
    if (seq > this.lastSeq) this.lastSeq = seq;
  }

  /**
   * Own event `seq` is in the stream (read back from it, or a strong write the stream
   * stored): the outbox need not publish it. Without this an own event that came back
   * through the stream after a re-join (its copy in the op log gone with its own snapshot)
   * left the outbox one event deep for ever, with nothing to read (seed 20670). When an
   * earlier own event is still on its way (its publish not yet acknowledged), `seq` is
   * kept and credited once the gap below it closes: a strong write read back from the
   * stream before the acknowledgement of the ordinary event before it was otherwise
   * forgotten, and the outbox stayed one event deep for ever (seed 91).
   */
  noteInStream(seq: number): void {
    this.noteExisting(seq);
    if (seq <= this.publishedThrough) return;
    this.seenInStream.add(seq);
    if (this.creditSeen()) this.onPublished(this.publishedThrough);
  }

  /** The last own seq known to exist. */
  get lastOwnSeq(): number {
    return this.lastSeq;
  }

  /** Own events not yet in the stream. */
  get depth(): number {
    return Math.max(0, this.lastSeq - this.publishedThrough);
  }

  /** Takes an own event that is now durable; it is published after the current burst (see `pumpSoon`). */
  push(e: ReplicatedEvent): void {
    this.lastSeq = e.seq;
    if (!this.spilled && this.queue.length < this.limits.memoryEventsMax) {
      this.queue.push(e);
      this.queuedThrough = e.seq;
    } else {
      this.spilled = true;
    }
    this.pumpSoon();
  }

  /**
   * Pumps once the current burst of work is done. The events of one group commit arrive
   * here one by one, as their writers resume: pumping at the first one published it alone
   * and the rest only after its ack (one publish in flight), two messages per commit for
   * every peer to read; deferred, they go as one. The writers' replies go out first, too
   * (issue 11 profile).
   */
  private pumpSoon(): void {
    if (this.pumpScheduled || this.inFlight) return;
    this.pumpScheduled = true;
    this.clock.defer(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  /** Publishes everything again from `seq` + 1 on (the stream lost it). */
  rewind(seq: number): void {
    // What was seen in the stream past `seq` is lost with it (or asked for again): publish it too.
    let forgot = false;
    for (const n of this.seenInStream) if (n > seq) forgot = this.seenInStream.delete(n) || forgot;
    if (seq >= this.publishedThrough) {
      if (forgot && this.lastSeq > this.queuedThrough) {
        this.spilled = true;
        this.pump();
      }
      return;
    }
    this.publishedThrough = seq;
    // Unique across restarts too (the clock moves on), so no earlier publish in the window shares it.
    this.republish = `${this.clock.nowMs()}.${++this.rewinds}`;
    this.queue = [];
    this.queuedThrough = seq;
    this.spilled = this.lastSeq > seq;
    this.pump();
  }

  /**
   * Own events up to `seq` are in a snapshot every member of a round holds and joiners
   * fetch: they are never published again. A rewind (resend request, stream reset) that
   * reached below them would otherwise wait forever for events the op log no longer has,
   * and every later freeze would time out on the outbox.
   */
  skipThrough(seq: number): void {
    if (seq <= this.publishedThrough) return;
    this.publishedThrough = seq;
    this.queue = this.queue.filter((e) => e.seq > seq);
    if (this.queuedThrough < seq) {
      this.queuedThrough = seq;
      this.spilled = this.lastSeq > seq;
    }
    this.creditSeen();
    this.onPublished(this.publishedThrough);
    this.pump();
  }

  /** Stops publishing (shutdown). */
  stop(): void {
    this.stopped = true;
    this.cancelRetry?.();
  }

  /** Starts a publish if there is work and none is in flight. */
  pump(): void {
    if (this.inFlight || this.stopped || this.cancelRetry) return;
    if (this.queue.length === 0 && !this.spilled) return;
    this.inFlight = true;
    void this.publishNext().finally(() => {
      this.inFlight = false;
      if (!this.cancelRetry) this.pump();
    });
  }

  private async publishNext(): Promise<void> {
    if (this.queue.length === 0 && this.spilled) {
      const more = await this.store.ownEventsAfter(this.self, this.queuedThrough, this.limits.memoryEventsMax);
      for (const e of more) this.queue.push(e);
      if (more.length > 0) this.queuedThrough = more[more.length - 1].seq;
      if (this.queuedThrough >= this.lastSeq || more.length === 0) this.spilled = false;
      if (this.queue.length === 0) return;
    }
    const batch = this.takeBatch();
    try {
      await this.stream.publish(batch, this.republish);
    } catch (err) {
      this.queue.unshift(...batch);
      // The adapter's error says which batch; its cause says what the broker answered.
      const cause = err instanceof Error && err.cause !== undefined ? { cause: String(err.cause) } : {};
      this.log.warn('publish failed; retrying', { error: String(err), ...cause, retryMs: this.retryMs, pending: this.depth });
      this.cancelRetry = this.clock.setTimer(this.retryMs, () => {
        this.cancelRetry = undefined;
        this.pump();
      });
      this.retryMs = Math.min(this.retryMs * 2, this.limits.retryMsMax);
      return;
    }
    this.retryMs = this.limits.retryMsMin;
    const through = batch[batch.length - 1].seq;
    if (through > this.publishedThrough) this.publishedThrough = through;
    this.creditSeen();
    this.onPublished(this.publishedThrough);
  }

  /**
   * Moves `publishedThrough` over the own seqs seen in the stream right after it (see
   * `noteInStream`) and forgets those it passed; true when it moved.
   */
  private creditSeen(): boolean {
    for (const n of this.seenInStream) if (n <= this.publishedThrough) this.seenInStream.delete(n);
    let seq = this.publishedThrough;
    while (this.seenInStream.delete(seq + 1)) seq++;
    if (seq === this.publishedThrough) return false;
    this.publishedThrough = seq;
    if (this.queuedThrough < seq) this.queuedThrough = seq;
    this.queue = this.queue.filter((e) => e.seq > seq);
    this.spilled = this.lastSeq > this.queuedThrough;
    return true;
  }

  private takeBatch(): ReplicatedEvent[] {
    let bytes = 0;
    let n = 0;
    while (n < this.queue.length && n < this.limits.batchEventsMax) {
      bytes += approximateSize(this.queue[n]);
      if (n > 0 && bytes > this.limits.batchBytesMax) break;
      n++;
    }
    return this.queue.splice(0, n);
  }
}

/** A cheap upper-bound-ish estimate of an event's JSON size, to keep messages under the server's max payload. */
function approximateSize(e: ReplicatedEvent): number {
  return 200 + e.key.length + JSON.stringify(e.ops).length;
}
