/** Bounds of the clock check (from `ReplicaLimits`). */
export interface ClockSkewLimits {
  readonly clockOffsetMaxMs: number;
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
 * Time comes from the caller (the core's clock port).
 */
export class ClockSkewGuard {
  private readonly peers = new Map<string, PeerClock>();
  private lastReadingMs: number | undefined;
  private jumpedAtMs: number | undefined;
  /** This replica has had peers (heard one, or its state holds other origins' events). */
  private peersExpected = false;

  constructor(private readonly limits: ClockSkewLimits) {}

  /**
   * The replica starts serving. One that has had peers (`expectPeers`) waits for one
   * peer's heartbeat, or `peerTimeoutMs` of silence, before it trusts its clock with a
   * write: a process restarted with a clock far off must not write before it can know.
   */
  begin(nowMs: number, expectPeers: boolean): void {
    this.lastReadingMs = nowMs;
    if (expectPeers) this.peersExpected = true;
    if (expectPeers && this.peers.size === 0) this.jumpedAtMs = nowMs;
  }

  /** A peer's heartbeat, sent at `sentMs` by its clock, arrived at `nowMs` by ours. */
  heard(peer: string, sentMs: unknown, nowMs: number): void {
    if (typeof sentMs !== 'number' || !Number.isFinite(sentMs)) return;
    this.read(nowMs);
    let p = this.peers.get(peer);
    if (!p) {
      if (this.peers.size >= PEERS_MAX) this.peers.delete(this.peers.keys().next().value!);
      p = { offsets: [], heardAtMs: nowMs };
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
    // clock far off, whose writes every peer then refuses for good (seed 5624).
    if (Math.abs(offset) <= this.limits.clockOffsetMaxMs) this.jumpedAtMs = undefined;
  }

  /** Why this replica must not take a write now, or undefined when it may. `hlcWallMs`: its HLC's wall-clock part. */
  refusal(nowMs: number, hlcWallMs: number): string | undefined {
    this.read(nowMs);
    const bound = this.limits.clockOffsetMaxMs;
    if (hlcWallMs - nowMs > bound) {
      return `this replica's wall clock is ${hlcWallMs - nowMs} ms behind the times of events it has applied (maximum offset ${bound} ms); it takes writes again once its clock is back in range`;
    }
    let live = 0;
    const off: number[] = [];
    for (const p of this.peers.values()) {
      if (nowMs - p.heardAtMs > this.limits.peerTimeoutMs || p.heardAtMs > nowMs) continue;
      live++;
      const offset = Math.max(...p.offsets);
      if (Math.abs(offset) > bound) off.push(offset);
    }
    if (off.length * 2 > live) {
      off.sort((a, b) => a - b);
      const median = off[off.length >> 1];
      return `this replica's wall clock is about ${-median} ms off from ${off.length} of ${live} live peers' clocks (maximum offset ${bound} ms); it takes writes again once back in range`;
    }
    // Checked after the peers: when they disagree with this clock, theirs is the reason to give.
    if (this.jumpedAtMs !== undefined) {
      if (nowMs >= this.jumpedAtMs && nowMs - this.jumpedAtMs < this.limits.clockConfirmWaitMs) {
        return `this replica's wall clock is not yet confirmed by a peer (it just started, or stepped by more than ${this.limits.clockJumpMaxMs} ms); writes resume with the next peer heartbeat`;
      }
      this.jumpedAtMs = undefined;
    }
    return undefined;
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
    if (this.peersExpected) this.jumpedAtMs = nowMs;
  }
}
