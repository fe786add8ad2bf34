import { isNat, isObject } from '#crdt/json';
import type { Heartbeat } from '#protocol/heartbeat';
import { compareRoundIds, type RoundId } from './round-result';

/** The heartbeat's parser lives with the message in libs/protocol. */
export { parseHeartbeat } from '#protocol/heartbeat';

/** A live replica: its latest heartbeat and when this coordinator heard it. */
export interface MemberView {
  readonly beat: Heartbeat;
  /** This coordinator's clock when the heartbeat arrived (the replica's `sentMs` may be skewed). */
  readonly heardAtMs: number;
}

/** Limits of the membership table. */
export interface MembershipLimits {
  /** A replica silent for longer than this is no longer a member. */
  readonly silenceMsMax: number;
  /** Most replicas tracked; heartbeats of further new replicas are dropped (a bound on memory). */
  readonly membersMax: number;
}

/**
 * Who is in the cluster, from heartbeats alone: a replica is a member while its latest
 * heartbeat is younger than the silence bound. Ages are measured on this coordinator's
 * clock at arrival, so skewed replica clocks do not matter. Also remembers the newest
 * round any replica has reported, so a coordinator never reuses a round id replicas have
 * already seen (they would refuse it as stale).
 */
export class Membership {
  private readonly members = new Map<string, MemberView>();
  private newest: RoundId = { epoch: 0, round: 0 };
  /** The newest round any replica said it holds the snapshot of (heartbeats' `committed`). */
  private newestCommitted: RoundId = { epoch: 0, round: 0 };
  private dropped = 0;

  constructor(private readonly limits: MembershipLimits) {}

  /** Records a heartbeat heard at `nowMs`. Returns false when it was dropped because the table is full. */
  heard(beat: Heartbeat, nowMs: number): boolean {
    if (beat.epoch > this.newest.epoch || (beat.epoch === this.newest.epoch && beat.round > this.newest.round)) {
      this.newest = { epoch: beat.epoch, round: beat.round };
    }
    const c = beat.committed;
    if (isObject(c) && isNat(c.epoch) && isNat(c.round) && compareRoundIds(c, this.newestCommitted) > 0) {
      this.newestCommitted = { epoch: c.epoch, round: c.round };
    }
    if (!this.members.has(beat.replica) && this.members.size >= this.limits.membersMax) {
      this.expire(nowMs);
      if (this.members.size >= this.limits.membersMax) {
        this.dropped++;
        return false;
      }
    }
    this.members.set(beat.replica, { beat, heardAtMs: nowMs });
    return true;
  }

  /** Live members, sorted by replica id (the order rounds use, e.g. to pick the publisher). */
  live(nowMs: number): MemberView[] {
    this.expire(nowMs);
    return [...this.members.values()].sort((a, b) => (a.beat.replica < b.beat.replica ? -1 : a.beat.replica > b.beat.replica ? 1 : 0));
  }

  /** The newest round id any replica has reported (expired members included). */
  newestRoundSeen(): RoundId {
    return this.newest;
  }

  /**
   * The newest round any replica has reported holding (expired members included): a
   * round must not be run by members that lack it (see `Coordinator.runOne`).
   */
  newestCommittedSeen(): RoundId {
    return this.newestCommitted;
  }

  /** Heartbeats dropped because `membersMax` was reached. */
  get droppedBeats(): number {
    return this.dropped;
  }

  private expire(nowMs: number): void {
    for (const [id, m] of this.members) if (nowMs - m.heardAtMs > this.limits.silenceMsMax) this.members.delete(id);
  }
}
