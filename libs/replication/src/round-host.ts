import type { VersionVector } from '#crdt';
import type { RoundId } from '#protocol/round-messages';
import type { ReplicaMode, SnapshotSummary } from './ports';
import type { ReplicaLimits } from './replica-config';

/**
 * What the round participant needs from the replica it runs in, and nothing more: the
 * replica core implements it, the coordinator's specs bind a small fake. Keeping it
 * narrow keeps the participant free of the core (no import cycle) and says exactly what
 * a round may do to a replica.
 */
export interface RoundHost {
  /** This replica's id. */
  readonly replicaId: string;
  /** Current mode. */
  readonly currentMode: ReplicaMode;
  /** The limits a round's waits use. */
  readonly limits: Pick<ReplicaLimits, 'freezeFlushMs' | 'cutWaitMs' | 'resendAfterMs'>;
  /** Own events not yet in the stream. */
  readonly outboxDepth: number;
  /** The own seq known to be in the stream. */
  readonly ownPublished: number;
  /** Sets the mode (the round drives Sync and Ready, and back to Work). */
  setMode(mode: ReplicaMode): void;
  /** Makes pending writes durable and starts publishing them. */
  flushOutbox(): Promise<void>;
  /** Resolves true once `ready()` holds, false after `timeoutMs`. */
  waitUntil(ready: () => boolean, timeoutMs: number): Promise<boolean>;
  /** What has been applied. */
  applied(): VersionVector;
  /** Digest of the whole state. */
  digest(): string;
  /** Per-key digests (to name the keys that differ after a mismatch). */
  digestsByKey(): Record<string, string>;
  /** Snapshot at the current state; undefined when the state is not at `cut`. */
  takeSnapshot(epoch: number, round: number, cut?: VersionVector): Promise<SnapshotSummary | undefined>;
  /** Publishes a snapshot for joiners. */
  publishSnapshot(of: { readonly epoch: number; readonly round: number }): Promise<boolean>;
  /** Re-joins from the cluster's snapshot (a missed round); with `onlyIfNewer`, only from a newer round than the one held. */
  rejoin(reason: string, onlyIfNewer?: boolean): Promise<boolean>;
  /**
   * The newest round a live peer holds the snapshot of (undefined when no peer says): a
   * freeze is refused while a peer holds a newer round than this replica (rounds stay one chain).
   */
  newestPeerCommitted(): RoundId | undefined;
  /** Asks the origins of what `cut` names and this replica lacks to publish it again. */
  requestBehind(cut: VersionVector): void;
}
