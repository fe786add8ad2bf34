import { vvGet } from '#crdt';
import { EVENT_VERSION, type ReplicatedEvent } from '#protocol/replicated-event';
import type { StrongPending } from './ports';
import type { ReplicaState } from './replica-state';

/**
 * This replica's own events: the next own seq, and the ways an own event is born. An
 * eventual write is applied at once, made durable, then handed to the outbox (`commit`).
 * A strong write is kept on disk as pending (`reserve`) before its conditional publish and
 * is applied only when the stream stored it (`commitStored`); a refused one leaves its seq
 * to a no-op (`commitRefused`), so no origin ever publishes two contents under one seq
 * and its seqs stay contiguous (the causal buffer delivers each origin's seqs in order).
 * While a strong write is pending it holds the next own seq (`hold`).
 */
export class OwnEvents {
  private held = false;

  constructor(private readonly s: ReplicaState) {}

  /** An own event with the next own seq, depending on everything applied here. */
  make(key: string, type: ReplicatedEvent['type'], options: ReplicatedEvent['options'], ops: ReplicatedEvent['ops'], time = this.s.hlc.now()): ReplicatedEvent {
    const deps = this.s.buffer.deliveredVector();
    const seq = vvGet(deps, this.s.id) + 1;
    delete deps[this.s.id];
    return { v: EVENT_VERSION, origin: this.s.id, seq, time, deps, key, type, options, ops };
  }

  /** An own delete of `key` (observed-remove: its deps say what it removes). */
  makeDelete(key: string, type: ReplicatedEvent['type'], options: ReplicatedEvent['options'], time = this.s.hlc.now()): ReplicatedEvent {
    return { ...this.make(key, type, options, [], time), delete: true };
  }

  /** Applies an own event at once (later commands prepare against it), then waits until it is durable, and hands it to the outbox. */
  async commit(event: ReplicatedEvent, prepared?: unknown): Promise<void> {
    this.s.observer?.made?.(event);
    this.take(event, prepared);
    await this.s.commits.add([event]);
    this.s.outbox.push(event);
    this.s.notifyChanged(event);
    this.s.waits.poke();
  }

  /** Keeps a strong write on disk before it is published (a crash then finds it, see `StrongPending`). */
  async reserve(pending: StrongPending): Promise<void> {
    this.s.observer?.made?.(pending.event);
    this.s.strongPendingSeq = pending.event.seq;
    await this.s.commits.setStrongPending(pending);
  }

  /**
   * True when every own event taken so far is in the stream (acknowledged to the outbox).
   * An ordinary write is taken (applied, its seq used) before it is durable and handed to
   * the outbox, so the outbox's last own seq alone lags it: a strong write stamped in that
   * gap was stored and read back from the stream before the outbox had the one before it
   * acknowledged (seed 91). A strong write is stamped only when this holds
   * (`StrongCommands`), so the stream has every own seq below it.
   */
  allInStream(): boolean {
    const taken = Math.max(vvGet(this.s.buffer.deliveredVector(), this.s.id), this.s.outbox.lastOwnSeq);
    return this.s.outbox.publishedThrough >= taken;
  }

  /**
   * Waits, until `untilMs` on this replica's clock at most, for own event `event` to be
   * timed no further ahead of the wall clock than the offset bound, which the time gate
   * asks of every event it lets in and which an own event meets when it is stamped. A
   * strong write is applied (or its seq given to a no-op) only when the stream answers,
   * and by then the wall clock may have gone back: the replica restarted with the write
   * pending and its clock set back (seeds 51, 9955). False when the time ran out first or
   * the replica stopped.
   */
  async onTime(event: ReplicatedEvent, untilMs: number): Promise<boolean> {
    const clock = this.s.ports.clock;
    for (;;) {
      const aheadMs = this.s.hlc.aheadMs(latestTime(event)) - this.s.limits.clockOffsetMaxMs;
      if (aheadMs <= 0) return true;
      const leftMs = untilMs - clock.nowMs();
      if (this.s.stopped || leftMs <= 0) return false;
      await new Promise<void>((resolve) => clock.setTimer(Math.min(aheadMs, leftMs), resolve));
    }
  }

  /** True when own event `seq` is applied here (stored and brought back by the stream, or in a snapshot). */
  has(seq: number): boolean {
    return vvGet(this.s.buffer.deliveredVector(), this.s.id) >= seq;
  }

  /**
   * Applies an own strong event the stream has stored at `revision` and makes it durable,
   * dropping the pending record in the same commit; the outbox counts it as published
   * (every own event before it was, see `StrongCommands`).
   */
  async commitStored(event: ReplicatedEvent, revision: number): Promise<void> {
    // The consumer may have brought it back from the stream before the ack came: then ingest applied and committed it.
    if (this.has(event.seq)) {
      this.s.strongPendingSeq = undefined;
      this.s.noteStrongRevision(event.key, revision);
      this.s.outbox.noteInStream(event.seq);
      this.s.waits.poke();
      await this.s.commits.setStrongPending(null);
      return;
    }
    this.take(event, undefined);
    this.s.strongPendingSeq = undefined;
    this.s.noteStrongRevision(event.key, revision);
    this.s.outbox.noteInStream(event.seq);
    this.s.waits.poke();
    await this.s.commits.setStrongPending(null, [event]);
    this.s.notifyChanged(event);
  }

  /**
   * The stream refused strong event `event` (it is not stored and never will be): its seq
   * goes to a no-op of the same key (no ops), which replaces the pending record on disk
   * and is published through the outbox like any own event.
   */
  async commitRefused(event: ReplicatedEvent): Promise<void> {
    if (this.has(event.seq)) throw new Error(`own strong event ${event.origin}#${event.seq} was applied, yet judged refused`);
    // No ops, and not a delete: a refused strong delete deletes nothing.
    const { delete: _refusedDelete, ...rest } = event;
    const noop: ReplicatedEvent = { ...rest, ops: [] };
    this.s.observer?.made?.(noop);
    this.take(noop, undefined);
    this.s.strongPendingSeq = undefined;
    await this.s.commits.setStrongPending(null, [noop]);
    this.s.outbox.push(noop);
    this.s.notifyChanged(noop);
    this.s.waits.poke();
  }

  /**
   * The stream a pending strong event went to is gone (deleted or recreated), so whether
   * it stored the event cannot be learnt, and peers may hold it: it becomes an ordinary
   * own event, published through the outbox (the stream's order was lost with the stream).
   */
  async commitUnordered(event: ReplicatedEvent): Promise<void> {
    if (this.has(event.seq)) {
      this.s.strongPendingSeq = undefined;
      await this.s.commits.setStrongPending(null);
      return;
    }
    this.take(event, undefined);
    this.s.strongPendingSeq = undefined;
    await this.s.commits.setStrongPending(null, [event]);
    this.s.outbox.push(event);
    this.s.notifyChanged(event);
    this.s.waits.poke();
  }

  /** Drops the pending record of an own event already applied here (it came back through the stream or a snapshot). */
  async dropPending(): Promise<void> {
    this.s.strongPendingSeq = undefined;
    await this.s.commits.setStrongPending(null);
  }

  /** True while a strong write holds the next own seq. */
  get isHeld(): boolean {
    return this.held;
  }

  /** Waits (bounded) until no strong write holds the next own seq; false when `timeoutMs` ran out or too many wait. */
  async free(timeoutMs: number): Promise<boolean> {
    if (!this.held) return true;
    return (await this.s.waits.wait(() => !this.held, timeoutMs)) ?? false;
  }

  /** Takes the next own seq for a strong write (waiting, bounded, for another one to finish); the release function, or undefined on timeout. */
  async hold(timeoutMs: number): Promise<(() => void) | undefined> {
    const until = this.s.ports.clock.nowMs() + timeoutMs;
    while (this.held) {
      const left = until - this.s.ports.clock.nowMs();
      if (left <= 0 || !(await this.free(left))) return undefined;
    }
    return this.holdNow();
  }

  /** Takes the next own seq now, for a strong write found pending at start; undefined when it is held already. */
  holdNow(): (() => void) | undefined {
    if (this.held) return undefined;
    this.held = true;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.held = false;
      this.s.waits.poke();
    };
  }

  private take(event: ReplicatedEvent, prepared: unknown): void {
    const applied = this.s.applyEvent(event, prepared);
    if (!applied.ok) throw new Error(`own event refused by its own key space: ${applied.reason}`);
    this.s.buffer.markDelivered(event.origin, event.seq);
    // Later own events order after this one, even one stamped before a restart that reset the clock (a pending strong write).
    this.s.hlc.restore(latestTime(event));
  }
}

/** The time of an event's last op (a batch used one HLC reading per op). */
function latestTime(event: ReplicatedEvent): number {
  return event.time + Math.max(0, event.ops.length - 1);
}
