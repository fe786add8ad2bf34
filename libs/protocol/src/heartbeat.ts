import { isVersionVector, type VersionVector } from '#crdt/causality/version-vector';
import { isNat, isNonEmptyString, isObject } from '#crdt/json';

/** Replica modes of a compaction round. */
export type ReplicaMode = 'Starting' | 'Work' | 'Sync' | 'Ready';

/** Every replica mode, for parsers. */
export const REPLICA_MODES: readonly ReplicaMode[] = ['Starting', 'Work', 'Sync', 'Ready'];

/** Version of the heartbeat message. */
export const HEARTBEAT_VERSION = 1;

/** What a replica says of itself, several times a second, on `<prefix>.heartbeat`. */
export interface Heartbeat {
  readonly v: typeof HEARTBEAT_VERSION;
  readonly replica: string;
  readonly mode: ReplicaMode;
  readonly applied: VersionVector;
  readonly opLogLength: number;
  readonly outboxDepth: number;
  readonly streamSeq: number;
  readonly keys: number;
  readonly epoch: number;
  readonly round: number;
  /** The newest round whose snapshot this replica holds (peers that missed it re-join). */
  readonly committed?: { readonly epoch: number; readonly round: number };
  readonly sentMs: number;
  /**
   * Present (true) while this replica's wall clock has stepped (or the replica restarted)
   * and no peer has confirmed it: peers do not count `sentMs` as a vote on their own clocks
   * (see ClockSkewGuard).
   */
  readonly clockStepUnconfirmed?: true;
}

const MODES: ReadonlySet<string> = new Set<string>(REPLICA_MODES);

/** Parses a heartbeat off the wire; undefined when it is not one (wrong version, missing or malformed field). */
export function parseHeartbeat(v: unknown): Heartbeat | undefined {
  if (!isObject(v) || v.v !== HEARTBEAT_VERSION) return undefined;
  if (!isNonEmptyString(v.replica) || typeof v.mode !== 'string' || !MODES.has(v.mode) || !isVersionVector(v.applied)) return undefined;
  for (const f of ['opLogLength', 'outboxDepth', 'streamSeq', 'keys', 'epoch', 'round', 'sentMs'] as const) if (!isNat(v[f])) return undefined;
  return v as unknown as Heartbeat;
}

/**
 * The looser check a replica applies to a peer's heartbeat: a replica id and an applied
 * vector are all `ack: "all"` and the round check read (a peer of another minor version
 * still counts). The coordinator uses `parseHeartbeat`.
 */
export function isPeerHeartbeat(v: unknown): v is Heartbeat {
  return isObject(v) && isNonEmptyString(v.replica) && isObject(v.applied);
}

/**
 * Body of `<prefix>.replica.<id>.resend`: a peer misses `origin`'s events from `fromSeq` on
 * (anti-entropy: the replica asked may hold another origin's events). `origin` absent (a
 * requester that predates it) means the asked replica's own events.
 */
export interface ResendRequest {
  readonly fromSeq: number;
  readonly origin?: string;
}

/** Parses a resend request; undefined when it is not one (a malformed `origin` included). */
export function parseResendRequest(v: unknown): ResendRequest | undefined {
  if (!isObject(v) || !isNat(v.fromSeq) || v.fromSeq === 0) return undefined;
  if (v.origin === undefined) return { fromSeq: v.fromSeq };
  return isNonEmptyString(v.origin) ? { fromSeq: v.fromSeq, origin: v.origin } : undefined;
}
