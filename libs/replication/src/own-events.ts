import { vvGet } from '#crdt';
import { EVENT_VERSION, type ReplicatedEvent } from '#protocol/replicated-event';
import type { ReplicaState } from './replica-state';

/**
 * This replica's own events: the next own seq, and the two ways an own event is born.
 * An eventual write is applied at once, made durable, then handed to the outbox
 * (`commit`). A strong write is published first, conditionally, and exists only if the
 * stream stored it (`commitPublished`); while its publish is out, it holds the next own
 * seq (`hold`), so that no other write takes that seq and a refused strong write leaves no
 * gap in this origin's seqs (the causal buffer delivers each origin's seqs in order).
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

  /** Applies an own event at once (later commands prepare against it), then waits until it is durable, and hands it to the outbox. */
  async commit(event: ReplicatedEvent, prepared?: unknown): Promise<void> {
    this.take(event, prepared);
    await this.s.commits.add([event]);
    this.s.outbox.push(event);
    this.s.notifyChanged(event);
    this.s.waits.poke();
  }

  /**
   * Applies an own strong event the stream has stored at `revision` and makes it durable;
   * the outbox counts it as published (every own event before it was, see `StrongCommands`).
   */
  async commitPublished(event: ReplicatedEvent, revision: number): Promise<void> {
    // The consumer may have brought it back from the stream before the ack came: then ingest applied and committed it.
    if (vvGet(this.s.buffer.deliveredVector(), this.s.id) >= event.seq) {
      this.s.noteStrongRevision(event.key, revision);
      this.s.waits.poke();
      await this.s.commits.flushed();
      return;
    }
    this.take(event, undefined);
    this.s.noteStrongRevision(event.key, revision);
    this.s.outbox.noteInStream(event.seq);
    this.s.waits.poke();
    await this.s.commits.add([event]);
    this.s.notifyChanged(event);
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
  }
}
