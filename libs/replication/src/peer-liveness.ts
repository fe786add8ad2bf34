import { vvGet } from '#crdt';
import type { Heartbeat } from '#protocol/heartbeat';
import { chooseHolder } from './anti-entropy';
import { PeerView } from './peer-view';
import { recent } from './recent';
import type { ReplicaState } from './replica-state';
import type { RoundParticipant } from './round-participant';

/**
 * Peers and liveness: what this replica says of itself in heartbeats (on a timer, on a
 * mode change, and soon after progress so `ack: "all"` waits end quickly), and what it
 * hears of its peers (`PeerView`: who is live, what each has applied, which round each
 * holds).
 *
 * Anti-entropy from peers (issue 8, item 3) lives here too: a replica missing events asks
 * whoever holds them (`askFor`: the origin while it is live, else the live peer that has
 * applied the most of them, see `chooseHolder` in anti-entropy.ts), and compares version
 * vectors with its live peers to ask for what nothing waiting would ask for
 * (`askPeersAhead`). `PeerView` knows what each live peer has applied.
 */
export class PeerLiveness {
  private readonly view: PeerView;
  private progressBeatQueued = false;
  private lastBeatMs = 0;
  /** Per origin a live peer has applied more of: how far this replica was, since when, and when it last asked. */
  private readonly behindPeers = new Map<string, { seq: number; sinceMs: number; askedMs: number }>();

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
      ...(s.skewGuard.stepUnconfirmed(s.ports.clock.nowMs()) ? { clockStepUnconfirmed: true as const } : {}),
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

  /** Asks whoever holds `origin`'s events from `nextSeq` on: the origin while it is live, else the peer that has most of them. */
  askFor(origin: string, nextSeq: number): void {
    this.s.ports.notices.requestResend(origin, nextSeq, chooseHolder(origin, nextSeq, this.view.live(this.s.ports.clock.nowMs())));
  }

  /**
   * Anti-entropy by version vectors (Bayou, seed 001): a live peer has applied events of an
   * origin that this replica has not, and this replica has not moved on that origin for
   * `resendAfterMs`. With nothing waiting on them the causal buffer would never ask (the
   * stream lost them, the consumer skipped them): ask their holder. While Starting, only
   * for own events this replica waits to get back before it writes again (`ownSeqFloor`,
   * seed 20670): peers that applied them may hold the last copies.
   */
  askPeersAhead(now: number): void {
    const s = this.s;
    if (s.resetting || s.rejoining) return;
    const starting = s.mode === 'Starting';
    const mine = s.buffer.deliveredVector();
    const ahead = new Set<string>();
    const wanted = (o: string) => (o === s.id ? vvGet(mine, o) < s.ownSeqFloor : !starting);
    for (const b of this.view.live(now)) {
      for (const o of Object.keys(b.applied)) if (wanted(o) && vvGet(b.applied, o) > vvGet(mine, o)) ahead.add(o);
    }
    for (const o of [...this.behindPeers.keys()]) if (!ahead.has(o)) this.behindPeers.delete(o);
    for (const o of ahead) {
      const have = vvGet(mine, o);
      const t = this.behindPeers.get(o);
      if (!t || t.seq !== have) {
        this.behindPeers.set(o, { seq: have, sinceMs: now, askedMs: 0 });
        continue;
      }
      if (recent(now, t.sinceMs, s.limits.resendAfterMs) || recent(now, t.askedMs, s.limits.resendAfterMs)) continue;
      t.askedMs = now;
      this.askFor(o, have + 1);
    }
  }

  /** The oldest round a live peer holds the snapshot of (undefined when no peer says). */
  oldestCommitted(nowMs: number): { epoch: number; round: number } | undefined {
    return this.view.oldestCommitted(nowMs);
  }
}
