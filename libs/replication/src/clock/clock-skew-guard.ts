/** Bounds of the clock check (from `ReplicaLimits`). */
export interface ClockSkewLimits {
  readonly clockOffsetMaxMs: number;
  readonly clockOffsetHardMaxMs: number;
  readonly clockJumpMaxMs: number;
  readonly clockConfirmWaitMs: number;
  readonly peerTimeoutMs: number;
}

/** Offset samples kept per peer (the largest is the estimate: network delay only ever lowers a sample). */
const SAMPLES_PER_PEER = 5;
/** Peers remembered at most (a replica hears from a cluster, not from the world). */
const PEERS_MAX = 1_000;

interface PeerClock {
  /** `sentMs - receivedMs` of its last heartbeats: its clock minus ours, less the delivery delay. */
  readonly offsets: number[];
  heardAtMs: number;
  /** Its last heartbeat said its clock stepped and is not yet confirmed. */
  stepped: boolean;
}

/**
 * Decides whether this replica's wall clock can be trusted to time its writes, after
 * CockroachDB's clock-offset check: a node whose clock is further than the maximum
 * offset from a majority of its live peers stops. Here it stops taking writes (the
 * `CLOCK_SKEW` error) until it is back in range; reads and replication go on. Three
 * reasons, each a plain value:
 * - its HLC is further ahead of its wall clock than the bound (its clock went back since
 *   it applied those times): a write would carry a time the bound forbids;
 * - the wall clock just stepped by more than `clockJumpMaxMs` (or the replica just
 *   started), and it has had peers: the offsets measured so far describe the old clock,
 *   so writes wait for one fresh heartbeat that agrees with the clock (one that disagrees
 *   does not end the wait), for at most `clockConfirmWaitMs` (a replica
 *   cut off from its peers cannot tell a jumped clock from a right one; after that wait it
 *   trusts its clock, so a replica whose peers are gone for good is not stopped forever);
 * - a strict majority of live peers' heartbeats (`sentMs`) say their clocks are further
 *   than the bound from ours. With a single live peer that disagrees, both sides stop:
 *   two clocks cannot tell which one is wrong.
 * A replica whose clock stepped, or that just started after having had peers, and is not
 * yet confirmed says so in its heartbeats (`stepUnconfirmed`). While any live peer's clock
 * is trusted, peers do not count such a clock as a vote, and it does not confirm a step
 * here: two clocks that stepped alike (one bad time source) would otherwise confirm each
 * other and, as a majority of three, write events timed years ahead that the third
 * refuses for good (seed 272). A start counts as a step: a replica restarted while its
 * clock was off (or whose clock jumped before its first reading) cannot see the step, and
 * its agreeing heartbeat confirmed a peer's clock that had jumped alike (seed 1468). When
 * every live peer is unconfirmed too, and all agree with this clock for `peerTimeoutMs`,
 * the clock is confirmed (every clock of the cluster stepped at once: a corrected time
 * source; or the whole cluster restarted), provided this clock's steps since it was last
 * confirmed add up to no more than `clockOffsetHardMaxMs`: events timed further ahead are
 * refused for good by any replica whose clock is right (EventTimeGate), so two clocks that
 * jumped years ahead alike while the third replica was down would write events it can
 * never take (seed 3363). Such a step waits for a trusted peer, its own way back, or
 * `clockConfirmWaitMs`.
 * While this replica's clock is in doubt, `peerOffsetMs` estimates the peers' clocks (the
 * event time gate judges remote events against it rather than against this clock).
 * Time comes from the caller (the core's clock port).
 */
export class ClockSkewGuard {
  private readonly peers = new Map<string, PeerClock>();
  private lastReadingMs: number | undefined;
  private jumpedAtMs: number | undefined;
  /** Peers are told this clock is unconfirmed (see `stepUnconfirmed`): set with `jumpedAtMs` by a step, or by a start with peers expected; cleared when confirmed. */
  private stepped = false;
  /** This replica has had peers (heard one, or its state holds other origins' events). */
  private peersExpected = false;
  /** The clock's steps added up since it was last confirmed (a start adds nothing: its size is unknown). */
  private driftMs = 0;

  constructor(private readonly limits: ClockSkewLimits) {}

  /**
   * The replica starts serving. One that has had peers (`expectPeers`) waits for one
   * peer's heartbeat, or `peerTimeoutMs` of silence, before it trusts its clock with a
   * write: a process restarted with a clock far off must not write before it can know.
   */
  begin(nowMs: number, expectPeers: boolean): void {
    this.lastReadingMs = nowMs;
    if (expectPeers) this.peersExpected = true;
    if (expectPeers && this.peers.size === 0) {
      // The clock may have been off since before this start: peers are told, as for a step (see the class comment).
      this.jumpedAtMs = nowMs;
      this.stepped = true;
    }
  }

  /**
   * A peer's heartbeat, sent at `sentMs` by its clock, arrived at `nowMs` by ours.
   * `peerStepUnconfirmed`: the peer says its own clock stepped and is not yet confirmed;
   * its clock then counts for nothing here (its older samples are dropped too).
   */
  heard(peer: string, sentMs: unknown, nowMs: number, peerStepUnconfirmed = false): void {
    if (typeof sentMs !== 'number' || !Number.isFinite(sentMs)) return;
    this.read(nowMs);
    let p = this.peers.get(peer);
    if (p && p.stepped !== peerStepUnconfirmed) {
      // Its clock stepped, or its step was confirmed: the older samples describe its old clock.
      this.peers.delete(peer);
      p = undefined;
    }
    if (!p) {
      if (this.peers.size >= PEERS_MAX) this.peers.delete(this.peers.keys().next().value!);
      p = { offsets: [], heardAtMs: nowMs, stepped: peerStepUnconfirmed };
      this.peers.set(peer, p);
    }
    const offset = sentMs - nowMs;
    p.offsets.push(offset);
    if (p.offsets.length > SAMPLES_PER_PEER) p.offsets.shift();
    p.heardAtMs = nowMs;
    this.peersExpected = true;
    // A heartbeat measured on the clock as it is now that agrees with it confirms the step.
    // One that disagrees does not end the wait: the majority check refuses writes while that
    // peer is live, and once it goes silent (a partition) nothing would be left to refuse a
    // clock far off, whose writes every peer then refuses for good (seed 5624). A peer whose
    // own clock stepped does not confirm (see the class comment).
    if (!peerStepUnconfirmed && Math.abs(offset) <= this.limits.clockOffsetMaxMs) this.confirm();
  }

  /** This replica's clock stepped (or it started after having had peers) and no peer has confirmed it yet (said in its heartbeats). */
  stepUnconfirmed(nowMs: number): boolean {
    return this.stepped && this.unconfirmed(nowMs);
  }

  /**
   * The peers' clocks minus this one: the median over live peers (the lower one of two
   * middle values), or undefined when none was heard since the start or the last step.
   */
  peerOffsetMs(nowMs: number): number | undefined {
    const live = this.liveOffsets(nowMs);
    if (live.length === 0) return undefined;
    live.sort((a, b) => a - b);
    return live[(live.length - 1) >> 1];
  }

  /** Why this replica must not take a write now, or undefined when it may. `hlcWallMs`: its HLC's wall-clock part. */
  refusal(nowMs: number, hlcWallMs: number): string | undefined {
    this.read(nowMs);
    const bound = this.limits.clockOffsetMaxMs;
    if (hlcWallMs - nowMs > bound) {
      return `this replica's wall clock is ${hlcWallMs - nowMs} ms behind the times of events it has applied (maximum offset ${bound} ms); it takes writes again once its clock is back in range`;
    }
    const liveOffsets = this.liveOffsets(nowMs);
    const off = liveOffsets.filter((o) => Math.abs(o) > bound);
    if (off.length * 2 > liveOffsets.length) {
      off.sort((a, b) => a - b);
      const median = off[off.length >> 1];
      return `this replica's wall clock is about ${-median} ms off from ${off.length} of ${liveOffsets.length} live peers' clocks (maximum offset ${bound} ms); it takes writes again once back in range`;
    }
    // Checked after the peers: when they disagree with this clock, theirs is the reason to give.
    if (this.unconfirmed(nowMs) && !this.confirmedBySteppedPeers(nowMs)) {
      return `this replica's wall clock is not yet confirmed by a peer (it just started, or stepped by more than ${this.limits.clockJumpMaxMs} ms); writes resume with the next peer heartbeat`;
    }
    return undefined;
  }

  /** A start or a step not yet confirmed, within `clockConfirmWaitMs` (after it the clock is trusted). */
  private unconfirmed(nowMs: number): boolean {
    if (this.jumpedAtMs === undefined) return false;
    if (nowMs >= this.jumpedAtMs && nowMs - this.jumpedAtMs < this.limits.clockConfirmWaitMs) return true;
    this.confirm();
    return false;
  }

  /**
   * A step (or start) of this clock that every live peer's clock took too (all of them say
   * so, all agree with this one, and for `peerTimeoutMs` no peer whose clock is trusted was
   * heard): confirmed, so a cluster whose every clock stepped at once, or that restarted
   * whole, does not stop for `clockConfirmWaitMs`.
   */
  private confirmedBySteppedPeers(nowMs: number): boolean {
    if (!this.stepped || this.jumpedAtMs === undefined || nowMs - this.jumpedAtMs < this.limits.peerTimeoutMs) return false;
    if (Math.abs(this.driftMs) > this.limits.clockOffsetHardMaxMs) return false;
    const live = this.livePeers(nowMs);
    if (live.length === 0 || live.some((p) => !p.stepped || Math.abs(Math.max(...p.offsets)) > this.limits.clockOffsetMaxMs)) return false;
    this.confirm();
    return true;
  }

  /** The clock is trusted again: by a peer, by the stepped peers, or after `clockConfirmWaitMs`. */
  private confirm(): void {
    this.jumpedAtMs = undefined;
    this.stepped = false;
    this.driftMs = 0;
  }

  /** Live peers: those whose clocks are trusted when there are any, else all (see the class comment). */
  private livePeers(nowMs: number): PeerClock[] {
    const live = [...this.peers.values()].filter((p) => nowMs - p.heardAtMs <= this.limits.peerTimeoutMs && p.heardAtMs <= nowMs);
    const trusted = live.filter((p) => !p.stepped);
    return trusted.length > 0 ? trusted : live;
  }

  /** Each live peer's offset (the largest of its samples: delivery delay only ever lowers one). */
  private liveOffsets(nowMs: number): number[] {
    return this.livePeers(nowMs).map((p) => Math.max(...p.offsets));
  }

  /**
   * Takes one reading of the wall clock and notices a step (forward past `clockJumpMaxMs`,
   * backward past the bound). The core reads on every heartbeat tick, so readings are
   * close together and a step stands out.
   */
  read(nowMs: number): void {
    const last = this.lastReadingMs;
    this.lastReadingMs = nowMs;
    if (last === undefined) return;
    const step = nowMs - last;
    if (step <= this.limits.clockJumpMaxMs && step >= -this.limits.clockOffsetMaxMs) return;
    // The samples were measured on the old clock.
    this.peers.clear();
    if (this.peersExpected) {
      this.driftMs += step;
      this.jumpedAtMs = nowMs;
      this.stepped = true;
    }
  }
}
