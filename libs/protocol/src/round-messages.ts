import { isVersionVector, type VersionVector } from '#crdt/causality/version-vector';
import { isNat, isObject } from '#crdt/json';
import { errorReply, type ErrorReply } from './error-codes';

/**
 * The compaction round's messages between the coordinator and a replica
 * (`<prefix>.replica.<id>.<phase>` requests, the `<prefix>.round.resume` broadcast) and
 * their replies. The replica side is libs/replication/src/round-participant.ts, the
 * coordinator side libs/coordination/src/round-runner.ts.
 */

/** A round's identity: the coordinator's epoch (leadership term) and its round number. */
export interface RoundId {
  readonly epoch: number;
  readonly round: number;
}

/** Orders round ids: epochs first, then rounds. */
export function compareRounds(a: RoundId, b: RoundId): number {
  return a.epoch !== b.epoch ? a.epoch - b.epoch : a.round - b.round;
}

/** Reads the round id of a round message; undefined when it has none. */
export function parseRoundId(body: unknown): RoundId | undefined {
  if (!isObject(body) || !isNat(body.epoch) || !isNat(body.round)) return undefined;
  return { epoch: body.epoch, round: body.round };
}

/** The per-replica round requests, in the order a round sends them (`digests` only after a mismatch). */
export const ROUND_PHASES = ['freeze', 'cut', 'commit', 'resume', 'digests'] as const;

/** One of the per-replica round requests. */
export type RoundPhase = (typeof ROUND_PHASES)[number];

/** `freeze`: hold writes, flush the outbox. */
export interface FreezeRequest extends RoundId {
  readonly leaseMs: number;
  /**
   * The newest round the coordinator knows committed: a member that holds an older one
   * refuses (`NOT_CAUGHT_UP`) and re-joins first, so the compaction history stays one chain.
   * Absent from coordinators that predate it.
   */
  readonly committed?: RoundId;
}
/** `cut`: reach exactly this cut and report the digest. */
export interface CutRequest extends RoundId {
  readonly cut: VersionVector;
  readonly leaseMs?: number;
}
/** `commit`: snapshot at the cut; `publisher` also publishes it for joiners. */
export interface CommitRequest extends RoundId {
  readonly publisher?: string;
  readonly leaseMs?: number;
}
/** `resume` (request and `<prefix>.round.resume` broadcast): back to Work. */
export interface ResumeRequest extends RoundId {
  readonly committed?: boolean;
}

/** Body of the broadcast `<prefix>.round.resume`. */
export interface ResumeBroadcast extends RoundId {
  readonly committed: boolean;
}

/** `freeze` → what the member has published and applied. */
export interface FreezeReply {
  readonly published: number;
  readonly applied: VersionVector;
  /** The newest round whose snapshot the member holds (absent from replicas that predate it). */
  readonly committed?: RoundId;
}

/** `cut` → the digest of the member's state at the cut. */
export interface CutReply {
  readonly digest: string;
  readonly applied: VersionVector;
}

/** `commit` → where the member's snapshot ends in the stream. */
export interface CommitReply {
  readonly streamSeq: number;
  readonly keys: number;
}

/** `digests` → per-key digests. */
export interface DigestsReply {
  readonly digests: Readonly<Record<string, string>>;
}

type Shape<T> = (body: Record<string, unknown>) => T | undefined;

/** The fields each phase's successful reply must carry. */
const REPLY_SHAPES = {
  freeze: ((b) => {
    if (!isNat(b.published) || !isVersionVector(b.applied)) return undefined;
    if (b.committed === undefined) return { published: b.published, applied: b.applied };
    const committed = parseRoundId(b.committed);
    return committed ? { published: b.published, applied: b.applied, committed } : undefined;
  }) as Shape<FreezeReply>,
  cut: ((b) => (typeof b.digest === 'string' && isVersionVector(b.applied) ? { digest: b.digest, applied: b.applied } : undefined)) as Shape<CutReply>,
  commit: ((b) => (isNat(b.streamSeq) && isNat(b.keys) ? { streamSeq: b.streamSeq, keys: b.keys } : undefined)) as Shape<CommitReply>,
  resume: (() => ({})) as Shape<Record<string, never>>,
  digests: ((b) => (isObject(b.digests) && Object.values(b.digests).every((d) => typeof d === 'string') ? { digests: b.digests as Record<string, string> } : undefined)) as Shape<DigestsReply>,
} satisfies Record<RoundPhase, Shape<unknown>>;

/** The typed reply of each phase. */
export type RoundReplyOf<P extends RoundPhase> = NonNullable<ReturnType<(typeof REPLY_SHAPES)[P]>>;

/** Reads the fields of a successful (`ok: true`) reply to `phase`; undefined when any is missing or malformed. */
export function roundReplyFields<P extends RoundPhase>(phase: P, body: Record<string, unknown>): RoundReplyOf<P> | undefined {
  return REPLY_SHAPES[phase](body) as RoundReplyOf<P> | undefined;
}

/** A parsed round request, or the error reply to send. */
export type ParsedRound<T> = { readonly ok: true; readonly request: T } | ErrorReply;

/** Parses `freeze`: a round id; `leaseMs` defaults to 5 s; `committed` (the coordinator's floor) when well-formed. */
export function parseFreeze(body: unknown): ParsedRound<FreezeRequest> {
  const id = parseRoundId(body);
  const leaseMs = isObject(body) && isNat(body.leaseMs) ? body.leaseMs : FREEZE_LEASE_MS_DEFAULT;
  if (!id) return errorReply('BAD_REQUEST', 'freeze needs {"epoch","round","leaseMs"}');
  const committed = isObject(body) ? parseRoundId(body.committed) : undefined;
  return { ok: true, request: committed ? { ...id, leaseMs, committed } : { ...id, leaseMs } };
}

/** Parses `cut`: a round id and the cut; `leaseMs` renews the freeze lease when present. */
export function parseCut(body: unknown): ParsedRound<CutRequest> {
  const id = parseRoundId(body);
  if (!id || !isObject(body) || !isVersionVector(body.cut)) return errorReply('BAD_REQUEST', 'cut needs {"epoch","round","cut"}');
  return { ok: true, request: { ...id, cut: body.cut, ...(isNat(body.leaseMs) ? { leaseMs: body.leaseMs } : {}) } };
}

/** Parses `commit`: a round id; `publisher` names the member that publishes the snapshot. */
export function parseCommit(body: unknown): ParsedRound<CommitRequest> {
  const id = parseRoundId(body);
  if (!id || !isObject(body)) return errorReply('BAD_REQUEST', 'commit needs {"epoch","round"}');
  return {
    ok: true,
    request: { ...id, ...(typeof body.publisher === 'string' ? { publisher: body.publisher } : {}), ...(isNat(body.leaseMs) ? { leaseMs: body.leaseMs } : {}) },
  };
}

/** Parses `resume` (the request and the broadcast): a round id; `committed` when the round committed. */
export function parseResume(body: unknown): ParsedRound<ResumeRequest> {
  const id = parseRoundId(body);
  if (!id || !isObject(body)) return errorReply('BAD_REQUEST', 'resume needs {"epoch","round"}');
  return { ok: true, request: { ...id, committed: body.committed === true } };
}

/** Parses `digests` (no fields). */
export function parseDigests(_body: unknown): ParsedRound<Record<string, never>> {
  return { ok: true, request: {} };
}

/** How long a freeze holds when the coordinator names no lease, ms. */
export const FREEZE_LEASE_MS_DEFAULT = 5_000;
