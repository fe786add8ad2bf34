import { vvGet, type VersionVector } from '#crdt';
import type { EventBatch, ReplicatedEvent } from '#protocol/replicated-event';
import { PeerResend } from './anti-entropy';
import type { ClockDoubt } from './clock/event-time-gate';
import type { PeerLiveness } from './peer-liveness';
import { recent } from './recent';
import type { ReplicaState } from './replica-state';

/**
 * Stream ingest and causal delivery: takes the op stream's messages in stream order,
 * passes their events through the causal buffer, applies and group-commits what it
 * releases together with the stream position, and keeps that position before any event
 * still waiting, so a crash never skips one. It reads the stream again for events a full
 * buffer left behind, asks whoever holds what is missing (the origin, or a peer: see
 * `PeerLiveness.askFor`), republishes own events peers miss and other origins' events it
 * holds when asked for them (`PeerResend`, anti-entropy), and starts over when the stream
 * was reset.
 */
export class StreamIngest {
  /** When the stream position first stuck at `stuckSince`. */
  private stuckSinceMs = 0;
  private lastResendMs = 0;
  private lastReceiveMs = 0;
  private lastRereadMs = 0;
  /** The last republish a resend request started: from where, up to which own seq, when. */
  private lastResend: { seq: number; through: number; atMs: number } | undefined;

  /** Republishes other origins' events peers ask this replica for (anti-entropy). */
  private readonly peerResend: PeerResend;

  constructor(
    private readonly s: ReplicaState,
    private readonly peers: PeerLiveness,
  ) {
    this.peerResend = new PeerResend(() => s.id, s.ports.store, s.ports.stream, s.ports.clock, s.ports.log, {
      eventsPerRequestMax: s.limits.outboxMemoryEventsMax,
      batchEventsMax: s.limits.publishBatchEventsMax,
      perOriginIntervalMs: s.limits.resendAfterMs,
    });
  }

  /**
   * Takes one stream message. Events go through the causal buffer; whatever it releases
   * is applied and group-committed together with the stream position. The position only
   * moves past a message once none of its events still waits, so a crash never skips one.
   * Resolves when the message's effects are durable.
   */
  async receive(batch: EventBatch, streamSeq: number, strongKey?: string): Promise<void> {
    if (streamSeq <= this.s.streamSeq || this.s.resetting) return;
    this.lastReceiveMs = this.s.ports.clock.nowMs();
    const released: ReplicatedEvent[] = [];
    let skipped = false;
    let held = false;
    // Whether this clock is in doubt is asked once per message, and only when an event needs it.
    let doubt: { value: ClockDoubt | undefined } | undefined;
    const clockDoubt = (): ClockDoubt | undefined => (doubt ??= { value: this.s.clockDoubt() }).value;
    for (const e of batch.events) {
      // An event timed too far ahead of this clock waits in the stream (see EventTimeGate).
      const timing = this.s.timeGate.judge(e, () => vvGet(this.s.buffer.deliveredVector(), e.origin) >= e.seq, clockDoubt);
      if (timing === 'refuse') continue;
      if (timing === 'hold') {
        held = true;
        continue;
      }
      const r = this.s.buffer.offer(e);
      if (!r.ok) {
        // Too much waits for missing dependencies. Leave this event for a later pass and
        // read on: what the waiting events need may be further down the stream (after a
        // stream reset each origin republishes its events in one run, far from causal
        // order). The durable position stays before this message, and `tick` reads the
        // stream again from there (`rereadSkipped`).
        skipped = true;
        continue;
      }
      for (const d of r.value) {
        const applied = this.s.applyEvent(d);
        if (!applied.ok) this.s.ports.log.error('refused an invalid event from the stream', { origin: d.origin, seq: d.seq, key: d.key, reason: applied.reason });
        // Own events come back from the stream after a re-join; peers may ask for them again,
        // and the outbox need not publish what the stream already has (seed 20670).
        if (d.origin === this.s.id) this.s.outbox.noteInStream(d.seq);
        // The gate let it in within the bound; should the wall clock have gone back since, causality still comes first.
        const t = d.time + Math.max(0, d.ops.length - 1);
        if (!this.s.hlc.observe(t)) this.s.hlc.restore(t);
        released.push(d);
      }
    }
    // A strong write from its key's subject, applied (now or before, as this replica's own): its revision is this position.
    if (strongKey !== undefined && batch.events.length === 1) {
      const e = batch.events[0];
      if (vvGet(this.s.buffer.deliveredVector(), e.origin) >= e.seq) this.s.noteStrongRevision(strongKey, streamSeq);
    }
    if ((skipped || held) && this.s.skippedSince === undefined) {
      this.s.skippedSince = streamSeq;
      if (skipped) {
        this.s.ports.log.warn('causal buffer full; reading on and reading this part of the stream again later', { streamSeq, waiting: this.s.buffer.waiting() });
        this.requestMissing(true);
      }
    }
    this.s.streamSeq = streamSeq;
    if (this.s.buffer.waiting() > 0 || this.s.skippedSince !== undefined) {
      if (this.s.stuckSince === undefined) {
        this.s.stuckSince = this.s.skippedSince ?? streamSeq;
        this.stuckSinceMs = this.s.ports.clock.nowMs();
      }
    } else {
      this.s.stuckSince = undefined;
    }
    const durable = this.s.stuckSince === undefined ? streamSeq : this.s.stuckSince - 1;
    if (released.length === 0) {
      // Our own events coming back, duplicates, or events that must wait: nothing to make durable now.
      this.s.commits.notePosition(durable);
      this.s.waits.poke();
      return;
    }
    for (const d of released) this.s.notifyChanged(d);
    // Durable in the stream already: the commit may wait a little for more (GroupCommit, `lazy`).
    const done = this.s.commits.add(released, durable, { lazy: true });
    this.s.waits.poke();
    if (released.length > 0) this.peers.queueProgressBeat();
    await done;
  }

  /**
   * Reads the stream again from the first message with an event not yet delivered, once
   * events were left behind by a full causal buffer and there is room again (or the
   * consumer has gone quiet, so what was missing has either come or never will by reading
   * on). At most once per `resendAfterMs`. Each pass delivers at least the causally
   * earliest event missing, so passes end.
   */
  rereadSkipped(now: number): void {
    if (this.s.skippedSince === undefined || recent(now, this.lastRereadMs, this.s.limits.resendAfterMs)) return;
    const quiet = now - this.lastReceiveMs >= this.s.limits.resendAfterMs;
    if (!quiet && this.s.buffer.waiting() > this.s.limits.causalPendingMax / 2) return;
    // Events held for their time: not before the earliest of them is due.
    if (now < this.s.timeGate.retryAtMs()) return;
    this.s.timeGate.rereading();
    const from = Math.min(this.s.stuckSince ?? this.s.skippedSince, this.s.skippedSince);
    this.s.skippedSince = undefined;
    this.lastRereadMs = now;
    this.s.streamSeq = from - 1;
    this.s.ports.log.info('reading the stream again for events a full causal buffer left behind', { from, waiting: this.s.buffer.waiting() });
    this.s.ports.stream.consumeFrom(from);
  }

  /**
   * The stream was lost or reset (deleted, recreated, or it came back shorter after a
   * broker crash). Everyone publishes again what it has not had confirmed by a round, and
   * reads the stream again from `fromSeq`.
   */
  streamReset(fromSeq: number): void {
    if (!this.s.outbox) {
      // Before `start`: the position loaded from disk is used, and the adapter's next check sees the stream as it is.
      this.s.ports.log.warn('stream reset before the replica started; ignored', { fromSeq });
      return;
    }
    this.s.ports.log.warn('stream reset: republishing own events since the last round', { fromSeq, ownSince: vvGet(this.s.snapshotCut, this.s.id) });
    this.s.streamSeq = Math.max(0, fromSeq - 1);
    // Revisions are positions in the stream that was lost.
    this.s.strongRevisions.clear();
    this.s.stuckSince = undefined;
    this.s.skippedSince = undefined;
    this.s.outbox.rewind(vvGet(this.s.snapshotCut, this.s.id));
    this.s.ports.stream.consumeFrom(fromSeq);
  }

  /** Another replica misses events of `origin` (ours when absent) from `fromSeq` on: publish again those held here. */
  resend(fromSeq: number, origin?: string): void {
    if (!this.s.outbox) return;
    if (origin !== undefined && origin !== this.s.id) {
      if (!this.s.resetting && !this.s.rejoining) this.peerResend.serve(origin, fromSeq, this.s.snapshotCut);
      return;
    }
    const floor = vvGet(this.s.snapshotCut, this.s.id);
    const seq = Math.max(floor, fromSeq - 1);
    // Several peers ask for the same events, and each asks again every `resendAfterMs`
    // until they arrive. A republish from at or before `seq` that is still under way (or
    // just finished, its copies still on their way) serves them all; restarting it for
    // every request would keep it from ever finishing while the stream fills with copies.
    const now = this.s.ports.clock.nowMs();
    const r = this.lastResend;
    if (r && seq >= r.seq && (this.s.outbox.publishedThrough < r.through || recent(now, r.atMs, this.s.limits.resendAfterMs))) return;
    this.lastResend = { seq, through: this.s.outbox.lastOwnSeq, atMs: now };
    this.s.outbox.rewind(seq);
  }

  requestMissing(force: boolean): void {
    const now = this.s.ports.clock.nowMs();
    // Events waiting, not `stuckSince`: a stream reset clears the position marker while
    // events still wait, and in a quiet stream nothing would set it again.
    if (!force && (this.s.buffer.waiting() === 0 || recent(now, this.stuckSinceMs, this.s.limits.resendAfterMs))) return;
    if (recent(now, this.lastResendMs, this.s.limits.resendAfterMs)) return;
    this.lastResendMs = now;
    // Ask for what is truly missing (not the origins whose next event waits here for
    // another origin's event: asking them again only grows the stream), of whoever holds it.
    for (const m of this.s.buffer.missing()) if (m.origin !== this.s.id) this.peers.askFor(m.origin, m.nextSeq);
  }

  /**
   * Asks the holders (the origin, or a live peer: anti-entropy) of the events `cut` names
   * and this replica lacks to publish them again: a broker crash or a skipped stream range can lose them, and then nothing else
   * would bring them (a round waiting for them would wait forever).
   */
  requestBehind(cut: VersionVector): void {
    const applied = this.s.buffer.deliveredVector();
    for (const origin of Object.keys(cut)) {
      const have = vvGet(applied, origin);
      if (origin !== this.s.id && cut[origin] > have) this.peers.askFor(origin, have + 1);
    }
  }

  /**
   * Other origins' events this replica holds beyond `cut` go to the stream again before a
   * re-join drops the op log: the snapshot's members may never have had them (they were
   * down, the stream lost them, the origin died) and this op log may be their last copy
   * (seed 40467). Receivers that have them drop the copies. False when a publish failed.
   */
  async republishOthersBeyond(cut: VersionVector): Promise<boolean> {
    const applied = this.s.buffer.deliveredVector();
    try {
      for (const origin of Object.keys(applied)) {
        if (origin === this.s.id) continue;
        const from = Math.max(vvGet(cut, origin), vvGet(this.s.snapshotCut, origin));
        if (vvGet(applied, origin) > from) await this.peerResend.republishHeld(origin, from);
      }
      return true;
    } catch (e) {
      this.s.ports.log.warn('could not republish other origins\' events before a re-join', { error: String(e) });
      return false;
    }
  }

  /** Forgets the last republish (a load starts a new outbox). */
  forgetResend(): void {
    this.lastResend = undefined;
  }
}
