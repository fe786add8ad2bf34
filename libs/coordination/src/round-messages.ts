import { isVersionVector, type VersionVector } from '#crdt/causality/version-vector';
import { isNat, isObject } from '#crdt/json';
import { roundReplyFields, type FreezeReply } from '#protocol/round-messages';
import type { ReplicaPhase } from './ports';
import type { RoundFailure } from './round-result';

/**
 * The replies of the round protocol (the replica side is
 * libs/replication/src/round-participant.ts), parsed into typed values. Anything else a
 * replica answers is a failure value naming the replica, never an exception.
 */

/** `freeze` → what the member has published and applied, and the newest round it holds (the wire shape is libs/protocol's). */
export type { FreezeReply };

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

/** A parsed reply or the failure it amounts to. */
export type ParsedReply<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly failure: RoundFailure };

type Shape<T> = (body: Record<string, unknown>) => T | undefined;

const SHAPES = {
  freeze: ((b) => roundReplyFields('freeze', b)) as Shape<FreezeReply>,
  cut: ((b) => (typeof b.digest === 'string' && isVersionVector(b.applied) ? { digest: b.digest, applied: b.applied } : undefined)) as Shape<CutReply>,
  commit: ((b) => (isNat(b.streamSeq) && isNat(b.keys) ? { streamSeq: b.streamSeq, keys: b.keys } : undefined)) as Shape<CommitReply>,
  resume: (() => ({})) as Shape<Record<string, never>>,
  digests: ((b) => (isObject(b.digests) && Object.values(b.digests).every((d) => typeof d === 'string') ? { digests: b.digests as Record<string, string> } : undefined)) as Shape<DigestsReply>,
} satisfies Record<ReplicaPhase, Shape<unknown>>;

/** The typed reply of each phase. */
export type ReplyOf<P extends ReplicaPhase> = NonNullable<ReturnType<(typeof SHAPES)[P]>>;

/** Parses `replica`'s reply to `phase`: refusals become `REFUSED`, anything unexpected `BAD_REPLY`. */
export function parseReply<P extends ReplicaPhase>(phase: P, replica: string, raw: unknown): ParsedReply<ReplyOf<P>> {
  if (!isObject(raw)) return bad(phase, replica, `answered ${JSON.stringify(raw)?.slice(0, 200)}, not a JSON object`);
  if (raw.ok === false) {
    const err = isObject(raw.error) ? raw.error : {};
    const code = typeof err.code === 'string' ? err.code : 'UNKNOWN';
    const message = typeof err.message === 'string' ? err.message : 'no message';
    return { ok: false, failure: { replica, phase, code: 'REFUSED', replicaCode: code, message: `${replica} refused ${phase}: ${code}: ${message}` } };
  }
  if (raw.ok !== true) return bad(phase, replica, 'answered without "ok"');
  // Replies name their replica (resume and digests too); a reply from another one means crossed wires.
  if (raw.replica !== undefined && raw.replica !== replica) return bad(phase, replica, `answered as replica ${JSON.stringify(raw.replica)}`);
  const value = SHAPES[phase](raw) as ReplyOf<P> | undefined;
  if (value === undefined) return bad(phase, replica, `answered a ${phase} reply with missing or malformed fields: ${JSON.stringify(raw).slice(0, 200)}`);
  return { ok: true, value };
}

function bad(phase: ReplicaPhase, replica: string, what: string): { ok: false; failure: RoundFailure } {
  return { ok: false, failure: { replica, phase, code: 'BAD_REPLY', message: `${replica} ${what}` } };
}
