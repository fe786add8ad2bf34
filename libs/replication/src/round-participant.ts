import { vvLeq, type Json, type VersionVector } from '#crdt';
import { compareRounds, errorReply, parseCommit, parseCut, parseFreeze, parseResume, type RoundId, type RoundPhase } from '#protocol';
import type { ClockPort, LogPort, SnapshotRecord } from './ports';
import type { RoundHost } from './round-host';

export { compareRounds, type RoundId };

/** Just the round id of a round request (it is kept, and shown in heartbeats). */
function roundIdOf(r: RoundId): RoundId {
  return { epoch: r.epoch, round: r.round };
}

/**
 * A replica's side of a compaction round (Work → Sync → Ready → Work):
 *
 * 1. `freeze`: hold new client writes, make pending ones durable and published; report
 *    what this replica has published and applied.
 * 2. `cut`: wait until exactly the cut is applied (nobody writes while frozen, so applied
 *    can only reach the cut, not pass it); report the state's digest.
 * 3. `commit`: snapshot at the cut, compact, truncate the op log.
 * 4. `resume` / `abort`: back to Work; held writes run. The commit's named publisher then
 *    publishes the snapshot for joiners, in the background (see `publishAfterRound`).
 *
 * Every phase renews a freeze lease; when it runs out the replica returns to Work on its
 * own, so a coordinator that dies mid-round never leaves the cluster frozen. Messages of
 * an older round or epoch are refused.
 */
export class RoundParticipant {
  private seen: RoundId = { epoch: 0, round: 0 };
  private committed: RoundId = { epoch: 0, round: 0 };
  /** The cut this replica reached in the cut phase of the current round. */
  private cutOfRound: { id: RoundId; cut: VersionVector } | undefined;
  private cancelLease: (() => void) | undefined;
  /** A committed round whose snapshot this replica publishes once writes go again. */
  private toPublish: RoundId | undefined;

  constructor(
    private readonly core: RoundHost,
    private readonly clock: ClockPort,
    private readonly log: LogPort,
  ) {}

  /** Restores the last committed round from the snapshot loaded at start. */
  restore(snapshot: SnapshotRecord | undefined): void {
    this.committed = snapshot ? { epoch: snapshot.epoch, round: snapshot.round } : { epoch: 0, round: 0 };
    if (compareRounds(this.committed, this.seen) > 0) this.seen = this.committed;
  }

  /** The newest round this replica has heard of. */
  current(): RoundId {
    return this.seen;
  }

  /** The last round whose snapshot this replica holds. */
  lastCommitted(): RoundId {
    return this.committed;
  }

  /** Answers one round command (the coordinator's request for `phase`). */
  answer(phase: RoundPhase, body: unknown): Promise<Json> | Json {
    switch (phase) {
      case 'freeze':
        return this.freeze(body);
      case 'cut':
        return this.cut(body);
      case 'commit':
        return this.commit(body);
      case 'resume':
        return this.resume(body);
      case 'digests':
        return this.digests();
    }
  }

  /** Phase 1. */
  async freeze(body: unknown): Promise<Json> {
    const p = parseFreeze(body);
    if (!p.ok) return p as unknown as Json;
    const id = roundIdOf(p.request);
    const leaseMs = p.request.leaseMs;
    if (compareRounds(id, this.seen) < 0) return this.stale(id);
    if (this.core.currentMode === 'Starting') return errorReply('UNAVAILABLE', 'replica is still catching up') as unknown as Json;
    // A member must hold the newest committed round (the coordinator's floor, or what a live
    // peer holds): compacting a state that lacks it would fork the compaction history (the
    // stream no longer holds what that round covered, and this round's snapshot would
    // replace it for joiners) and differ at the cut from members that hold it.
    const floor = p.request.committed;
    const peer = this.core.newestPeerCommitted();
    const newer = [floor, peer].find((r): r is RoundId => r !== undefined && compareRounds(r, this.committed) > 0);
    if (newer) {
      void this.core.rejoin(`missed round ${newer.epoch}/${newer.round} (asked to freeze for ${id.epoch}/${id.round})`, true);
      return errorReply(
        'NOT_CAUGHT_UP',
        `holds round ${this.committed.epoch}/${this.committed.round} but round ${newer.epoch}/${newer.round} was committed; re-joining from its snapshot first`,
      ) as unknown as Json;
    }
    this.seen = id;
    this.armLease(leaseMs);
    if (this.core.currentMode === 'Work') this.core.setMode('Sync');
    await this.core.flushOutbox();
    const drained = await this.core.waitUntil(() => this.core.outboxDepth === 0, this.core.limits.freezeFlushMs);
    if (!drained) return errorReply('TIMEOUT', `outbox still holds ${this.core.outboxDepth} events; the stream is not taking them`) as unknown as Json;
    return { ok: true, replica: this.core.replicaId, published: this.core.ownPublished, applied: this.core.applied(), committed: { ...this.committed } };
  }

  /** Phase 2. */
  async cut(body: unknown): Promise<Json> {
    const p = parseCut(body);
    if (!p.ok) return p as unknown as Json;
    const id = roundIdOf(p.request);
    if (compareRounds(id, this.seen) !== 0 || this.core.currentMode === 'Work') return this.stale(id);
    const cut: VersionVector = p.request.cut;
    if (p.request.leaseMs !== undefined) this.armLease(p.request.leaseMs);
    const stopAsking = this.askForMissing(cut);
    const reached = await this.core.waitUntil(() => vvLeq(cut, this.core.applied()), this.core.limits.cutWaitMs);
    stopAsking();
    if (!reached) return errorReply('NOT_CAUGHT_UP', `did not reach the cut within ${this.core.limits.cutWaitMs} ms`) as unknown as Json;
    if (!vvLeq(this.core.applied(), cut)) {
      // Expected when a replica outside the round (restarted, not yet a member) wrote
      // meanwhile: the round aborts and the next one includes it.
      const applied = this.core.applied();
      const beyond = Object.keys(applied).filter((r) => applied[r] > (cut[r] ?? 0));
      return errorReply('NOT_CAUGHT_UP', `applied events past the cut from ${beyond.join(', ')} (a replica outside the round wrote); the next round includes them`) as unknown as Json;
    }
    // The freeze lease may have run out while we waited: then we are back in Work and
    // taking writes, so this replica can no longer vouch for the cut.
    if (compareRounds(id, this.seen) !== 0 || this.core.currentMode !== 'Sync') return this.stale(id);
    this.cutOfRound = { id, cut: { ...cut } };
    this.core.setMode('Ready');
    return { ok: true, replica: this.core.replicaId, digest: this.core.digest(), applied: this.core.applied() };
  }

  /** Phase 3. */
  async commit(body: unknown): Promise<Json> {
    const p = parseCommit(body);
    if (!p.ok) return p as unknown as Json;
    const id = roundIdOf(p.request);
    if (compareRounds(id, this.seen) !== 0 || this.core.currentMode !== 'Ready') return this.stale(id);
    const publisher = p.request.publisher;
    if (p.request.leaseMs !== undefined) this.armLease(p.request.leaseMs);
    const cut = this.cutOfRound && compareRounds(this.cutOfRound.id, id) === 0 ? this.cutOfRound.cut : undefined;
    // Frozen members write nothing, but a replica outside the round (restarted, or not yet
    // seen by the coordinator) may: an event it made can arrive here after the cut. Compacting
    // then would drop what a late op may still need (a text tombstone) at a state the other
    // members do not share, so this replica does not commit; it catches up from the round's
    // snapshot instead (`checkRoundAgreement`).
    const snapshot = await this.core.takeSnapshot(id.epoch, id.round, cut);
    if (!snapshot) {
      return errorReply('NOT_CAUGHT_UP', 'events from outside the round were applied after the cut; not compacting at a state the other members may not share') as unknown as Json;
    }
    this.committed = id;
    if (publisher === this.core.replicaId) this.toPublish = id;
    this.log.info('round committed', { epoch: id.epoch, round: id.round, keys: snapshot.keys, changedKeys: snapshot.changedKeys, streamSeq: snapshot.streamSeq });
    return { ok: true, replica: this.core.replicaId, streamSeq: snapshot.streamSeq, keys: snapshot.keys };
  }

  /** Phase 4 (also the abort path). A replica that missed a committed round re-joins. */
  resume(body: unknown): Json {
    const p = parseResume(body);
    if (!p.ok) return p as unknown as Json;
    const id = roundIdOf(p.request);
    if (compareRounds(id, this.seen) < 0) return this.stale(id);
    this.seen = id;
    this.cancelLease?.();
    this.cancelLease = undefined;
    if (this.core.currentMode === 'Sync' || this.core.currentMode === 'Ready') this.core.setMode('Work');
    this.publishAfterRound();
    const committedRound = p.request.committed === true;
    if (committedRound && compareRounds(this.committed, id) < 0 && this.core.currentMode !== 'Starting') {
      void this.core.rejoin(`missed round ${id.epoch}/${id.round}`);
    }
    return { ok: true, replica: this.core.replicaId };
  }

  /**
   * The publisher of a committed round publishes its snapshot for joiners once the round
   * has let writes go: reading every key and sending them is work in proportion to the
   * key space, and inside the freeze it would hold writes for as long. Members that
   * committed have compacted; a replica that missed the round can only catch up from this
   * snapshot, so a failed publish is retried with back-off (until it succeeds or a newer
   * round is committed). Until it lands, a joiner finds the previous round's snapshot and
   * waits (its stream position may be purged already), as it does when a publisher dies.
   */
  private publishAfterRound(): void {
    const id = this.toPublish;
    if (!id || this.core.currentMode !== 'Work') return;
    this.toPublish = undefined;
    // After the resume reply and the held writes' group commit have gone out.
    this.publishLater(id, 0);
  }

  /** Publishes a committed round's snapshot after a back-off, retrying until it succeeds or a newer round is committed. */
  private publishLater(id: RoundId, attempt: number): void {
    this.clock.setTimer(attempt === 0 ? 0 : Math.min(500 * 2 ** attempt, 30_000), () => {
      if (compareRounds(this.committed, id) !== 0) return;
      this.core.publishSnapshot(id).then(
        (published) => {
          if (published) this.log.info('snapshot published', { epoch: id.epoch, round: id.round, attempt });
        },
        (e: unknown) => {
          this.log.warn('snapshot not published; retrying', { epoch: id.epoch, round: id.round, attempt, error: String(e) });
          if (attempt < 20) this.publishLater(id, attempt + 1);
        },
      );
    });
  }

  /** Per-key digests, to name the keys that differ when a round finds a mismatch. */
  digests(): Json {
    return { ok: true, replica: this.core.replicaId, digests: this.core.digestsByKey() };
  }

  /**
   * While waiting for the cut: events it names that do not arrive within `resendAfterMs`
   * may be nowhere in the stream (a broker crash lost them, a consumer skipped them), and
   * with no later event depending on them nothing else would ask for them. Asks their
   * origins again, every `resendAfterMs`, until the wait ends.
   */
  private askForMissing(cut: VersionVector): () => void {
    let cancel: (() => void) | undefined;
    const ask = () => {
      this.core.requestBehind(cut);
      cancel = this.clock.setTimer(this.core.limits.resendAfterMs, ask);
    };
    cancel = this.clock.setTimer(this.core.limits.resendAfterMs, ask);
    return () => cancel?.();
  }

  private armLease(ms: number): void {
    this.cancelLease?.();
    this.cancelLease = this.clock.setTimer(ms, () => {
      this.cancelLease = undefined;
      if (this.core.currentMode === 'Sync' || this.core.currentMode === 'Ready') {
        this.log.warn('freeze lease expired; back to Work', { epoch: this.seen.epoch, round: this.seen.round });
        this.core.setMode('Work');
        this.publishAfterRound();
      }
    });
  }

  private stale(id: RoundId): Json {
    return errorReply('BAD_REQUEST', `round ${id.epoch}/${id.round} is not the current one (${this.seen.epoch}/${this.seen.round}, mode ${this.core.currentMode})`) as unknown as Json;
  }
}
