import type { ClockPort, CommitBatch, StorePort, StrongPending } from './ports';
import type { ReplicatedEvent } from './replicated-event';

/**
 * Group commit: writes that arrive while a commit is in flight wait and go together in
 * the next one, so throughput is not one fsync per op. Each caller's promise resolves
 * once its events are durable. A failed commit is fatal: memory already holds the events,
 * so the process must stop and recover from disk (broken invariants crash loudly).
 *
 * Events read from the stream (`add(..., { lazy: true })`) are durable there already: when
 * nothing else is committing they wait up to `lazyDelayMs` for company, so a replica that
 * reads a steady trickle of peers' writes syncs its disk once per delay, not once per
 * message (on a virtual machine each sync costs CPU too). Anything eager (an own write, a
 * strong write's record, `flushed`) or a full batch starts the commit at once.
 */
export class GroupCommit {
  private events: ReplicatedEvent[] = [];
  private streamSeq: number | undefined;
  private publishedThrough: number | undefined;
  /** The pending strong write to keep or (null) drop, with the last chunk of the next commit. */
  private strongPending: StrongPending | null | undefined;
  private waiters: Array<() => void> = [];
  private running = false;
  /** Cancels the pending lazy start, when one is scheduled. */
  private lazyStart: (() => void) | undefined;

  constructor(
    private readonly store: StorePort,
    private readonly clock: ClockPort,
    private readonly onFatal: (err: unknown) => void,
    private readonly eventsPerCommitMax = 10_000,
    private readonly lazyDelayMs = 0,
  ) {}

  /**
   * Queues events (and optionally a consumer position); resolves when they are on disk.
   * `lazy`: they may wait up to the lazy delay for the commit to start (see the class).
   */
  add(events: readonly ReplicatedEvent[], streamSeq?: number, opts?: { readonly lazy?: boolean }): Promise<void> {
    for (const e of events) this.events.push(e);
    if (streamSeq !== undefined) this.streamSeq = streamSeq;
    return this.enqueue(opts?.lazy === true && this.events.length < this.eventsPerCommitMax);
  }

  /**
   * Keeps a pending strong write on disk (`null`: drops it) atomically with `events` and
   * everything queued before them: the event that takes a pending write's seq and the
   * pending write's removal land together, so a crash leaves one or the other.
   */
  setStrongPending(pending: StrongPending | null, events: readonly ReplicatedEvent[] = []): Promise<void> {
    for (const e of events) this.events.push(e);
    this.strongPending = pending;
    return this.enqueue();
  }

  /**
   * Records a stream position lazily (with the next commit, or at the next `flushLazy`):
   * a message that released no event need not cost a disk sync of its own; after a crash
   * the few messages past the stored position are read again and dropped as duplicates.
   */
  notePosition(streamSeq: number): void {
    this.streamSeq = streamSeq;
  }

  /** Writes lazily noted positions if nothing else is committing (called on a timer). */
  flushLazy(): void {
    if (!this.running && (this.streamSeq !== undefined || this.publishedThrough !== undefined)) void this.enqueue();
  }

  /** Records how far own events are known to be in the stream (lazily, with the next commit). */
  notePublished(seq: number): void {
    this.publishedThrough = seq;
  }

  /** Resolves when everything queued so far is durable. */
  flushed(): Promise<void> {
    if (!this.running && this.events.length === 0 && this.streamSeq === undefined && this.publishedThrough === undefined) return Promise.resolve();
    return this.enqueue();
  }

  /** Events queued and not yet durable. */
  get depth(): number {
    return this.events.length;
  }

  private enqueue(lazy = false): Promise<void> {
    const p = new Promise<void>((resolve) => this.waiters.push(resolve));
    if (this.running) return p;
    if (lazy && this.lazyDelayMs > 0) {
      this.lazyStart ??= this.clock.setTimer(this.lazyDelayMs, () => {
        this.lazyStart = undefined;
        this.start();
      });
      return p;
    }
    this.lazyStart?.();
    this.lazyStart = undefined;
    this.start();
    return p;
  }

  private start(): void {
    if (this.running) return;
    this.running = true;
    // Let the rest of this tick's writes join the batch.
    this.clock.defer(() => void this.run());
  }

  private async run(): Promise<void> {
    while (this.waiters.length > 0) {
      const events = this.events.length > this.eventsPerCommitMax ? this.events.splice(0, this.eventsPerCommitMax) : this.events.splice(0);
      const rest = this.events.length > 0;
      const batch: CommitBatch = {
        events,
        streamSeq: rest ? undefined : this.streamSeq,
        publishedThrough: this.publishedThrough,
        ...(rest || this.strongPending === undefined ? {} : { strongPending: this.strongPending }),
      };
      if (!rest) {
        this.streamSeq = undefined;
        this.strongPending = undefined;
      }
      this.publishedThrough = undefined;
      const waiters = rest ? [] : this.waiters.splice(0);
      try {
        await this.store.commit(batch);
      } catch (err) {
        this.onFatal(err);
        return;
      }
      for (const w of waiters) w();
    }
    this.running = false;
  }
}
