import { conflictReply, errorReply, isStrongType, strongUnsupported, type GetRequest, type UpdateRequest } from '#protocol';
import type { Json } from '#crdt';
import type { OwnEvents } from './own-events';
import type { PeerLiveness } from './peer-liveness';
import type { StrongPublish } from './ports';
import type { ReplicaState } from './replica-state';
import type { ReplicatedEvent } from './replicated-event';

/** What a strong command answers: a reply as sent on the wire. */
type Reply = Json | ReturnType<typeof errorReply>;

/**
 * Strong consistency where a client asks for it (issue 10, item 2; docs/protocol.md §4.6),
 * on JetStream's own Raft log rather than a consensus of our own.
 *
 * A strong write is an ordinary event of this replica (its next own seq, its HLC time,
 * its causal deps) published alone on its key's strong subject with the condition that
 * the key's last strong write is at revision `expected` (the per-subject optimistic
 * concurrency of the stream), so the stream orders every strong write to a key. Before
 * stamping it the replica applies the key's history through `expected` (`appliedThrough`),
 * so its HLC is past the previous strong write's time and last-writer-wins agrees with the
 * stream's order. The event exists only if the stream stored it: it is applied here when
 * the stream acknowledges it, and every replica applies it from the stream like any other
 * event (exactly once, in causal order). While its publish is out it holds the next own
 * seq (`OwnEvents.hold`): a refusal frees the seq, so this origin's seqs stay contiguous.
 *
 * A read with `linearizable` asks the stream for the key's revision now, waits (bounded)
 * until this replica has applied the key through it, and answers with that state.
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
    const { key } = req;
    const until = this.s.ports.clock.nowMs() + req.timeoutMs;
    const left = () => Math.max(0, until - this.s.ports.clock.nowMs());
    const refused = this.refuseType(key, req.type, 'strong');
    if (refused) return refused;
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
        const time = this.s.hlc.now();
        const prepared = this.s.keys.prepare(key, req.type, req.options, req.ops, { replica: this.s.id, time });
        if (!prepared.ok) return errorReply(prepared.error.code, prepared.error.message);
        this.s.hlc.restore(time + req.ops.length - 1);
        const w = prepared.value;
        const event = this.own.make(key, w.type, w.options, w.ops, time);
        const outcome = await this.publish(event, expected, left());
        if (outcome === undefined) {
          // Unknown: the next own seq stays held until the stream settles it (see `settle`).
          settling = true;
          void this.settle(event, expected, release);
          return errorReply('TIMEOUT', `the stream did not say within ${req.timeoutMs} ms whether it stored the strong write (replica ${this.s.id}, seq ${event.seq}); it may or may not take effect: read with "consistency": "linearizable" to learn which`);
        }
        if (outcome.ok) {
          // Applied op by op, not from `w.applied`: other events may have changed the key while the publish was out.
          await this.own.commitPublished(event, outcome.revision);
          return this.answer(req, event, outcome.revision, left());
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

  /** `get` with `"consistency": "linearizable"`. */
  async get(req: GetRequest): Promise<Reply> {
    const { key } = req;
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
    const ready = () => this.s.appliedThrough(key, expected) && this.s.outbox.publishedThrough >= this.s.outbox.lastOwnSeq && this.s.mode === 'Work';
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

  /** One conditional publish, retried with the same event while its outcome is unknown; undefined when still unknown after `timeoutMs`. */
  private async publish(event: ReplicatedEvent, expected: number, timeoutMs: number): Promise<StrongPublish | undefined> {
    const until = this.s.ports.clock.nowMs() + timeoutMs;
    for (;;) {
      try {
        return await this.s.ports.stream.publishStrong(event, expected);
      } catch (e) {
        this.s.ports.log.warn('strong publish outcome unknown; retrying it', { key: event.key, seq: event.seq, error: String(e) });
      }
      if (this.s.ports.clock.nowMs() + this.s.limits.strongRetryMs >= until) return undefined;
      await new Promise<void>((resolve) => this.s.ports.clock.setTimer(this.s.limits.strongRetryMs, resolve));
    }
  }

  /**
   * Settles a strong write whose outcome the client was not told: retried with the same
   * message id (a stored copy is acknowledged as a duplicate, within the stream's window)
   * until the stream stores or refuses it; the next own seq stays held until then. Past
   * `strongSettleMs` the outcome can no longer be learnt safely, and the replica stops
   * (`onFatal`) rather than risk giving that seq to another event.
   */
  private async settle(event: ReplicatedEvent, expected: number, release: () => void): Promise<void> {
    const outcome = await this.publish(event, expected, this.s.limits.strongSettleMs);
    try {
      if (outcome === undefined) {
        this.s.ports.onFatal(new Error(`the stream did not settle strong write ${event.origin}#${event.seq} within ${this.s.limits.strongSettleMs} ms`));
        return;
      }
      if (outcome.ok) await this.own.commitPublished(event, outcome.revision);
    } finally {
      release();
    }
  }

  /** The reply of a stored strong write, after the acknowledgement it asked for (`all`: every live peer applied it). */
  private async answer(req: UpdateRequest, event: ReplicatedEvent, revision: number, timeoutMs: number): Promise<Reply> {
    const written = { key: req.key, type: event.type, replica: this.s.id, seq: event.seq, revision, token: this.token() };
    if (req.ack !== 'all') return { ok: true, ...written };
    const waited = await (this.s.waits.wait(() => this.peers.allApplied(this.s.id, event.seq), timeoutMs) ?? Promise.resolve(false));
    if (!waited) {
      return { ...errorReply('TIMEOUT', `the strong write is stored at revision ${revision} and will replicate, but ack "all" did not come within ${req.timeoutMs} ms; do not resend it`), ...written };
    }
    return { ok: true, ...written };
  }
}
