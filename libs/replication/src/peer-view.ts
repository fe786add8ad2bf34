import { isNat, vvGet } from '#crdt';
import type { Heartbeat } from './ports';

/**
 * What this replica knows of its peers from their heartbeats: who is live and how far
 * each has applied. It answers `ack: "all"` (has every live peer applied my op?).
 */
export class PeerView {
  private readonly peers = new Map<string, { beat: Heartbeat; seenMs: number }>();

  constructor(
    /** This replica's id (read when needed: it is known only once the disk is loaded). */
    private readonly self: () => string,
    private readonly peerTimeoutMs: number,
  ) {}

  /** Records a heartbeat heard at `nowMs`. */
  heard(beat: Heartbeat, nowMs: number): void {
    if (beat.replica === this.self()) return;
    this.peers.set(beat.replica, { beat, seenMs: nowMs });
  }

  /**
   * Live peers' latest heartbeats (expired peers are forgotten). A heartbeat heard more
   * than `peerTimeoutMs` after now was heard before this clock went back by more than that:
   * expired too. Counted live, a peer that died while this clock ran ahead would stay live
   * for as long as the step (seed 4648: a replica asked a dead origin, not the live peers
   * holding its events, for thirteen minutes of wall-clock time, and never converged).
   */
  live(nowMs: number): Heartbeat[] {
    const out: Heartbeat[] = [];
    for (const [id, p] of this.peers) {
      if (Math.abs(nowMs - p.seenMs) > this.peerTimeoutMs) this.peers.delete(id);
      else out.push(p.beat);
    }
    return out;
  }

  /** The newest round any live peer holds the snapshot of (undefined when no peer says). */
  newestCommitted(nowMs: number): { epoch: number; round: number } | undefined {
    return this.extremeCommitted(nowMs, 1);
  }

  /** The oldest round a live peer holds the snapshot of (undefined when no peer says). */
  oldestCommitted(nowMs: number): { epoch: number; round: number } | undefined {
    return this.extremeCommitted(nowMs, -1);
  }

  private extremeCommitted(nowMs: number, sign: 1 | -1): { epoch: number; round: number } | undefined {
    let best: { epoch: number; round: number } | undefined;
    for (const b of this.live(nowMs)) {
      const c = b.committed;
      if (!c || !isNat(c.epoch) || !isNat(c.round)) continue;
      const order = best ? (c.epoch !== best.epoch ? c.epoch - best.epoch : c.round - best.round) : 0;
      if (!best || order * sign > 0) best = { epoch: c.epoch, round: c.round };
    }
    return best;
  }

  /** True when every live peer has applied `origin`'s event `seq`. */
  allApplied(origin: string, seq: number, nowMs: number): boolean {
    return this.live(nowMs).every((b) => vvGet(b.applied, origin) >= seq);
  }
}
