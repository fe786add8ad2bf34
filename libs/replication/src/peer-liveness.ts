import type { Heartbeat } from '#protocol/heartbeat';
import { PeerView } from './peer-view';
import type { ReplicaState } from './replica-state';
import type { RoundParticipant } from './round-participant';

/**
 * Peers and liveness: what this replica says of itself in heartbeats (on a timer, on a
 * mode change, and soon after progress so `ack: "all"` waits end quickly), and what it
 * hears of its peers (`PeerView`: who is live, what each has applied, which round each
 * holds).
 *
 * Anti-entropy from peers (issue 8, item 3: a replica missing events asks any live peer
 * that holds them, not only the origin) belongs here: `PeerView` knows what each live
 * peer has applied, which is what choosing whom to ask needs.
 */
export class PeerLiveness {
  private readonly view: PeerView;
  private progressBeatQueued = false;
  private lastBeatMs = 0;

  constructor(
    private readonly s: ReplicaState,
    private readonly round: RoundParticipant,
  ) {
    this.view = new PeerView(() => s.id, s.limits.peerTimeoutMs);
  }

  /** Takes a peer's heartbeat. */
  heardPeer(beat: Heartbeat): void {
    this.view.heard(beat, this.s.ports.clock.nowMs());
    this.s.waits.poke();
  }

  /** What this replica says of itself. */
  heartbeat(): Heartbeat {
    const s = this.s;
    const r = this.round.current();
    return {
      v: 1,
      replica: s.id,
      mode: s.mode,
      applied: s.buffer.deliveredVector(),
      opLogLength: s.ports.store.opLogLength() + s.commits.depth,
      outboxDepth: s.outbox.depth,
      streamSeq: s.streamSeq,
      keys: s.keys.size,
      epoch: r.epoch,
      round: r.round,
      committed: { ...this.round.lastCommitted() },
      sentMs: s.ports.clock.nowMs(),
    };
  }

  /** Publishes a heartbeat now (the heartbeat timer). */
  sendBeat(): void {
    this.lastBeatMs = this.s.ports.clock.nowMs();
    this.s.ports.notices.heartbeat(this.heartbeat());
  }

  /** Publishes a heartbeat now without moving the progress-beat pacing (a mode change: peers and the coordinator hear of it at once). */
  announceMode(): void {
    this.s.ports.notices.heartbeat(this.heartbeat());
  }

  /**
   * Publishes a heartbeat right after progress, so peers waiting on `ack: all` learn of it
   * at once, but no more often than every `progressBeatMs`, so a stream of writes does not
   * become a stream of heartbeats.
   */
  queueProgressBeat(): void {
    if (this.progressBeatQueued) return;
    this.progressBeatQueued = true;
    const { clock } = this.s.ports;
    const waitMs = Math.max(0, this.lastBeatMs + this.s.limits.progressBeatMs - clock.nowMs());
    clock.setTimer(waitMs, () => {
      this.progressBeatQueued = false;
      if (!this.s.stopped) this.sendBeat();
    });
  }

  /** True when every live peer has applied `origin`'s event `seq`. */
  allApplied(origin: string, seq: number): boolean {
    return this.view.allApplied(origin, seq, this.s.ports.clock.nowMs());
  }

  /** The newest round any live peer holds the snapshot of (undefined when no peer says). */
  newestCommitted(nowMs: number): { epoch: number; round: number } | undefined {
    return this.view.newestCommitted(nowMs);
  }

  /** The oldest round a live peer holds the snapshot of (undefined when no peer says). */
  oldestCommitted(nowMs: number): { epoch: number; round: number } | undefined {
    return this.view.oldestCommitted(nowMs);
  }
}
