import { conflictReply, errorReply, isStrongType, strongUnsupported, type AckLevel, type DeleteRequest, type GetRequest, type UpdateRequest } from '#protocol';
import type { Json } from '#crdt';
import type { OwnEvents } from './own-events';
import type { PeerLiveness } from './peer-liveness';
import type { StrongPending } from './ports';
import type { ReplicaState } from './replica-state';
import type { ReplicatedEvent } from './replicated-event';

/** What a strong command answers: a reply as sent on the wire. */
type Reply = Json | ReturnType<typeof errorReply>;

/** What a strong write asks, whatever it writes. */
interface StrongWrite {
  readonly key: string;
  readonly expect?: number;
  readonly ack: AckLevel;
  readonly timeoutMs: number;
}

/** The event a strong write stamps at HLC `time` (and how many HLC readings it took), or the reply that refuses it. */
type Stamp = (time: number) => { readonly ok: true; readonly event: ReplicatedEvent; readonly readings: number } | { readonly ok: false; readonly reply: Reply };

/** What became of a pending strong write: stored at `revision`; refused (the key is at `revision`); or sent to a stream since lost (`unordered`). */
type Settled = { readonly kind: 'stored'; readonly revision: number } | { readonly kind: 'refused'; readonly revision: number } | { readonly kind: 'unordered' };

/**
 * Strong consistency where a client asks for it (issue 10, item 2; docs/protocol.md §17),
 * on JetStream's own Raft log rather than a consensus of our own.
 *
 * A strong write is an ordinary event of this replica (its next own seq, its HLC time,
 * its causal deps) published alone on its key's strong subject with the condition that
 * the key's last strong write is at revision `expected` (the per-subject optimistic
 * concurrency of the stream), so the stream orders every strong write to a key. Before
 * stamping it the replica applies the key's history through `expected` (`appliedThrough`),
 * so its HLC is past the previous strong write's time and last-writer-wins agrees with the
 * stream's order.
 *
 * The event is written to disk as pending before it is published (`OwnEvents.reserve`),
 * and it holds the next own seq until its outcome is known. Stored: it is applied here
 * and every replica applies it from the stream. Refused: its seq goes to a no-op event
 * (never two contents under one origin and seq). Unknown (no answer): it is published
 * again with the same message id and expectation, now or after a crash (`recover`), until
 * the stream says. A refusal of a copy is only believed after looking at the one place
 * the event could be stored, the key's first strong write after `expected`
 * (`StreamPort.strongNext`): after the stream's two-minute duplicate window a stored
 * copy is refused rather than acknowledged.
 *
 * A read with `linearizable` asks the stream for the key's revision now, waits (bounded)
 * until this replica has applied the key through it, and answers with that state.
 *
 * Both are refused with `STRONG_UNAVAILABLE` on a replicated op stream unless the
 * deployment trusts its server (`ReplicaLimits.strongOnReplicatedStream`).
 */
export class StrongCommands {
  constructor(
    private readonly s: ReplicaState,
    private readonly peers: PeerLiveness,
    private readonly own: OwnEvents,
    /** The token of what is applied now (every reply carries one). */
    private readonly token: () => string,
  ) {}

  /** `update` with `"consistency": "strong"` (and `expect`: a compare-and-set). */
  async update(req: UpdateRequest): Promise<Reply> {
    const refused = this.unavailable('strong') ?? this.refuseType(req.key, req.type, 'strong');
    if (refused) return refused;
    return this.write(req, (time) => {
      const prepared = this.s.keys.prepare(req.key, req.type, req.options, req.ops, { replica: this.s.id, time });
      if (!prepared.ok) return { ok: false, reply: errorReply(prepared.error.code, prepared.error.message) };
      const w = prepared.value;
      return { ok: true, event: this.own.make(req.key, w.type, w.options, w.ops, time), readings: req.ops.length };
    });
  }

  /**
   * `delete` with `"consistency": "strong"` (and `expect`): the key's delete event goes
   * through its strong subject like a strong update, so it is ordered among the key's strong
   * writes and may be a compare-and-set. Refused, its seq goes to a no-op that deletes nothing.
   */
  async delete(req: DeleteRequest): Promise<Reply> {
    const { key } = req;
    const refused = this.unavailable('strong');
    if (refused) return refused;
    // Judged when stamped, against the key as applied through the revision expected (this replica may be behind it now).
    return this.write(req, (time) => {
      const v = this.s.keys.get(key);
      if (!v) return { ok: false, reply: errorReply('NOT_FOUND', `key ${JSON.stringify(key)} does not exist; nothing was deleted`) };
      if (!isStrongType(v.type)) return { ok: false, reply: strongUnsupported(key, v.type, 'strong') };
      return { ok: true, event: this.own.makeDelete(key, v.type, v.options, time), readings: 1 };
    });
  }

  /**
   * A strong write: applies the key through the revision it expects, stamps the event
   * (`stamp`), keeps it pending on disk, publishes it on the key's strong subject with the
   * expectation and settles it (see the class). A blind write that lost the race applies the
   * winner and tries again (bounded).
   */
  private async write(req: StrongWrite, stamp: Stamp): Promise<Reply> {
    const { key } = req;
    const until = this.s.ports.clock.nowMs() + req.timeoutMs;
    const left = () => Math.max(0, until - this.s.ports.clock.nowMs());
    let expected = req.expect ?? this.s.strongRevisions.get(key) ?? 0;
    if (req.expect !== undefined && (this.s.strongRevisions.get(key) ?? 0) !== req.expect) {
      // This replica has not applied that revision (yet, or it is not the key's): the stream says where the key is.
      let current: number;
      try {
        current = await this.s.ports.stream.strongRevision(key);
      } catch (e) {
        return errorReply('UNAVAILABLE', `the stream did not say where key ${JSON.stringify(key)} is, so the compare-and-set was not tried; nothing was applied: ${String(e)}`);
      }
      if (current !== req.expect) return conflictReply(key, req.expect, current);
    }
    const release = await this.own.hold(left());
    if (!release) return errorReply('OVERLOADED', `other strong writes on replica ${this.s.id} held it for ${req.timeoutMs} ms; nothing was applied, retry`);
    let settling = false;
    try {
      for (let attempt = 1; ; attempt++) {
        const ready = await this.readyToStamp(key, expected, left());
        if (ready) return ready;
        // A freeze may have begun since the wait saw Work: a write is stamped in Work only.
        if (this.s.mode !== 'Work') continue;
        const time = this.s.hlc.now();
        const stamped = stamp(time);
        if (!stamped.ok) return stamped.reply;
        this.s.hlc.restore(time + stamped.readings - 1);
        const event = stamped.event;
        const pending: StrongPending = { event, expected, stream: this.s.ports.stream.incarnation() };
        await this.own.reserve(pending);
        const outcome = await this.settle(pending, left());
        if (outcome === undefined) {
          // Unknown: the next own seq stays held until the stream settles it (see `settleInBackground`).
          settling = true;
          void this.settleInBackground(pending, release);
          return errorReply('TIMEOUT', `the stream did not say within ${req.timeoutMs} ms whether it stored the strong write (replica ${this.s.id}, seq ${event.seq}); it may or may not take effect: read with "consistency": "linearizable" to learn which`);
        }
        if (outcome.kind === 'stored') return this.answer(req, event, outcome.revision, left());
        if (outcome.kind === 'unordered') {
          return {
            ...errorReply('TIMEOUT', `the op stream was lost while the strong write was out; it is applied as an ordinary write (not ordered by the stream) and will replicate; do not resend it`),
            key,
            type: event.type,
            replica: this.s.id,
            seq: event.seq,
            token: this.token(),
          };
        }
        if (req.expect !== undefined) return conflictReply(key, req.expect, outcome.revision);
        // A blind strong write: another one came first. Apply it, stamp again, retry (bounded).
        if (attempt >= this.s.limits.strongAttemptsMax || left() === 0) {
          return { ...errorReply('CONFLICT', `key ${JSON.stringify(key)} kept moving under ${attempt} strong writes (now at revision ${outcome.revision}); nothing was applied, retry`), revision: outcome.revision };
        }
        expected = outcome.revision;
      }
    } finally {
      if (!settling) release();
    }
  }

  /**
   * A strong write found pending on disk at start: its seq is held until the stream says
   * whether it stored it (or at once, when it is applied here already: the stream or a
   * snapshot brought it back before the crash).
   */
  recover(pending: StrongPending): void {
    if (this.own.has(pending.event.seq)) {
      void this.own.dropPending();
      return;
    }
    const release = this.own.holdNow();
    if (!release) throw new Error('a pending strong write found at start, but the next own seq is held already');
    this.s.strongPendingSeq = pending.event.seq;
    this.s.ports.log.warn('a strong write was pending at the last stop; learning its outcome from the stream', { key: pending.event.key, seq: pending.event.seq, expected: pending.expected });
    void this.settleInBackground(pending, release);
  }

  /** `get` with `"consistency": "linearizable"`. */
  async get(req: GetRequest): Promise<Reply> {
    const { key } = req;
    const off = this.unavailable('linearizable');
    if (off) return off;
    const before = this.s.keys.get(key);
    if (before && !isStrongType(before.type)) return strongUnsupported(key, before.type, 'linearizable');
    let revision: number;
    try {
      revision = await this.s.ports.stream.strongRevision(key);
    } catch (e) {
      return errorReply('TIMEOUT', `the stream did not say where key ${JSON.stringify(key)} is, so a linearizable read cannot be answered: ${String(e)}`);
    }
    const waited = this.s.waits.wait(() => this.s.appliedThrough(key, revision), req.timeoutMs);
    if (!waited) return errorReply('OVERLOADED', 'too many requests are waiting');
    if (!(await waited)) return errorReply('NOT_CAUGHT_UP', `the replica did not apply key ${JSON.stringify(key)} through revision ${revision} within ${req.timeoutMs} ms (stream position ${this.s.streamSeq})`);
    const v = this.s.keys.get(key);
    if (!v) return errorReply('NOT_FOUND', `key ${JSON.stringify(key)} does not exist`);
    if (!isStrongType(v.type)) return strongUnsupported(key, v.type, 'linearizable');
    // A strong write applied here after the stream answered is newer still: name the one whose value this is.
    const at = Math.max(revision, this.s.strongRevisions.get(key) ?? 0);
    return { ok: true, key, type: v.type, value: v.impl.value(v.state), revision: at, token: this.token() };
  }

  /** `STRONG_UNSUPPORTED` when the key (or the type an update would create it with) takes no strong writes. */
  private refuseType(key: string, type: string | undefined, asked: 'strong' | 'linearizable'): Reply | undefined {
    const existing = this.s.keys.get(key);
    const name = existing?.type ?? type;
    if (name === undefined) return errorReply('NOT_FOUND', `key ${JSON.stringify(key)} does not exist; create it or pass "type" with the update`);
    return isStrongType(name) ? undefined : strongUnsupported(key, name, asked);
  }

  /**
   * Waits (bounded) until a strong write may be stamped: the key applied through
   * `expected` (so the HLC is past it), every own event before it in the stream (so no
   * own event of a lower seq is still only here), Work mode (not during a round) and a
   * trusted clock. Undefined when ready, else the reply to give.
   */
  private async readyToStamp(key: string, expected: number, timeoutMs: number): Promise<Reply | undefined> {
    const ready = () => this.s.appliedThrough(key, expected) && this.own.allInStream() && this.s.mode === 'Work';
    const waited = this.s.waits.wait(ready, timeoutMs);
    if (!waited) return errorReply('OVERLOADED', 'too many requests are waiting');
    if (!(await waited)) {
      const why = !this.s.appliedThrough(key, expected)
        ? `the replica did not apply key ${JSON.stringify(key)} through revision ${expected}`
        : this.s.mode !== 'Work'
          ? 'a compaction round held the write'
          : 'earlier writes of this replica did not reach the stream';
      return errorReply('NOT_CAUGHT_UP', `${why} within the request's wait; nothing was applied, retry or ask another replica`);
    }
    const skew = this.s.clockRefusal();
    return skew ? errorReply('CLOCK_SKEW', skew) : undefined;
  }

  /**
   * `STRONG_UNAVAILABLE` while the op stream is replicated and the deployment does not
   * trust its server to check a publish's expected last subject sequence atomically (or
   * `UNAVAILABLE` before the stream was seen); undefined when strong requests may run.
   */
  private unavailable(asked: 'strong' | 'linearizable'): Reply | undefined {
    const replicas = this.s.ports.stream.streamReplicas();
    if (replicas === undefined) return errorReply('UNAVAILABLE', `replica ${this.s.id} has not seen the op stream yet; "consistency": "${asked}" needs to know how it is replicated; retry`);
    if (replicas <= 1 || this.s.limits.strongOnReplicatedStream === 'trust-server') return undefined;
    return errorReply(
      'STRONG_UNAVAILABLE',
      `"consistency": "${asked}" is off: the op stream has ${replicas} JetStream replicas, and a replicated stream's nats-server (2.9.10 at least) does not check a publish's expected last subject sequence atomically, so two compare-and-sets could both win; use a stream with one replica, or set STRONG_ON_REPLICATED_STREAM=trust-server for a server known to check it (docs/protocol.md §17)`,
    );
  }

  /**
   * Learns what became of a pending strong write, publishing it again (same message id,
   * same expectation) while the answer is unknown, for at most `timeoutMs`; writes the
   * outcome to disk (the event, a no-op, or an ordinary event) before it resolves.
   * Undefined when still unknown.
   */
  private async settle(pending: StrongPending, timeoutMs: number): Promise<Settled | undefined> {
    const until = this.s.ports.clock.nowMs() + timeoutMs;
    for (;;) {
      const outcome = await this.learn(pending);
      // Applied here (the write, or a no-op in its place) only within the clock offset bound, as any event (`OwnEvents.onTime`).
      if (outcome && !this.own.has(pending.event.seq) && !(await this.own.onTime(pending.event, until))) return undefined;
      if (outcome) {
        if (outcome.kind === 'stored') await this.own.commitStored(pending.event, outcome.revision);
        else if (outcome.kind === 'refused') await this.own.commitRefused(pending.event);
        else await this.own.commitUnordered(pending.event);
        return outcome;
      }
      if (this.s.stopped || this.s.ports.clock.nowMs() + this.s.limits.strongRetryMs >= until) return undefined;
      await new Promise<void>((resolve) => this.s.ports.clock.setTimer(this.s.limits.strongRetryMs, resolve));
    }
  }

  /** One try at learning a pending strong write's outcome (see `settle`); undefined when unknown. */
  private async learn(pending: StrongPending): Promise<Settled | undefined> {
    const { event, expected } = pending;
    const stream = this.s.ports.stream;
    const now = stream.incarnation();
    if (pending.stream === undefined || (now !== undefined && now !== pending.stream)) return { kind: 'unordered' };
    let r;
    try {
      r = await stream.publishStrong(event, expected);
    } catch (e) {
      this.s.ports.log.warn('strong publish outcome unknown; retrying it', { key: event.key, seq: event.seq, error: String(e) });
      // The consumer may have brought it back meanwhile.
      return this.own.has(event.seq) ? { kind: 'stored', revision: this.s.strongRevisions.get(event.key) ?? 0 } : undefined;
    }
    if (r.ok) return { kind: 'stored', revision: r.revision };
    if (this.own.has(event.seq)) return { kind: 'stored', revision: this.s.strongRevisions.get(event.key) ?? 0 };
    // Refused. A copy of a write stored more than the duplicate window ago is refused too:
    // the write can only be the key's first strong write after `expected`, so look there.
    let after;
    try {
      after = await stream.strongNext(event.key, expected);
    } catch (e) {
      this.s.ports.log.warn('a refused strong write could not be looked up; retrying', { key: event.key, seq: event.seq, error: String(e) });
      return undefined;
    }
    if (after.created !== pending.stream) return { kind: 'unordered' };
    if (after.next && after.next.origin === event.origin && after.next.seq === event.seq) return { kind: 'stored', revision: after.next.revision };
    // Something else (or nothing) follows `expected`, and nothing after `expected` was
    // purged: the write was not stored, and never will be. When a round's purge removed
    // messages after `expected`, this replica read them all before (it is past the purge
    // point with nothing still waiting), so had the write been among them it would be
    // applied here (`has` above): it was not stored either. Otherwise the replica is behind
    // the purge and re-joins; the snapshot then says.
    const purgedThrough = after.firstSeq - 1;
    const readPurged = this.s.streamSeq >= purgedThrough && (this.s.stuckSince === undefined || this.s.stuckSince > purgedThrough);
    if (after.firstSeq <= expected + 1 || readPurged) return { kind: 'refused', revision: r.revision };
    this.s.ports.log.warn('a refused strong write may have been purged from the stream; waiting for it to come back through a snapshot', { key: event.key, seq: event.seq, firstSeq: after.firstSeq, expected });
    return undefined;
  }

  /**
   * Settles a pending strong write in the background (its client was told TIMEOUT, or the
   * replica restarted with it pending), retrying for as long as it takes; the next own
   * seq stays held until then, so writes on this replica wait (bounded, per request).
   */
  private async settleInBackground(pending: StrongPending, release: () => void): Promise<void> {
    try {
      for (;;) {
        if (this.s.stopped) return;
        if (await this.settle(pending, this.s.limits.strongSettleMs)) return;
        this.s.ports.log.warn('the stream has not settled a strong write yet; still trying', { key: pending.event.key, seq: pending.event.seq, triedMs: this.s.limits.strongSettleMs });
      }
    } catch (e) {
      this.s.ports.onFatal(e);
    } finally {
      release();
    }
  }

  /** The reply of a stored strong write, after the acknowledgement it asked for (`all`: every live peer applied it). */
  private async answer(req: StrongWrite, event: ReplicatedEvent, revision: number, timeoutMs: number): Promise<Reply> {
    const written = { key: req.key, type: event.type, ...(event.delete ? { deleted: true } : {}), replica: this.s.id, seq: event.seq, revision, token: this.token() };
    if (req.ack !== 'all') return { ok: true, ...written };
    const waited = await (this.s.waits.wait(() => this.peers.allApplied(this.s.id, event.seq), timeoutMs) ?? Promise.resolve(false));
    if (!waited) {
      return { ...errorReply('TIMEOUT', `the strong write is stored at revision ${revision} and will replicate, but ack "all" did not come within ${req.timeoutMs} ms; do not resend it`), ...written };
    }
    return { ok: true, ...written };
  }
}
