import { isObject } from '#crdt/json';
import { roundReplyFields, type RoundReplyOf } from '#protocol/round-messages';
import type { ReplicaPhase } from './ports';
import type { RoundFailure } from './round-result';

/**
 * The replies of the round protocol (the messages and their fields are in
 * libs/protocol/src/round-messages.ts; the replica side is
 * libs/replication/src/round-participant.ts), parsed into typed values. Anything else a
 * replica answers is a failure value naming the replica, never an exception.
 */

export type { CommitReply, CutReply, DigestsReply, FreezeReply } from '#protocol/round-messages';

/** A parsed reply or the failure it amounts to. */
export type ParsedReply<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly failure: RoundFailure };

/** The typed reply of each phase. */
export type ReplyOf<P extends ReplicaPhase> = RoundReplyOf<P>;

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
  const value = roundReplyFields(phase, raw);
  if (value === undefined) return bad(phase, replica, `answered a ${phase} reply with missing or malformed fields: ${JSON.stringify(raw).slice(0, 200)}`);
  return { ok: true, value };
}

function bad(phase: ReplicaPhase, replica: string, what: string): { ok: false; failure: RoundFailure } {
  return { ok: false, failure: { replica, phase, code: 'BAD_REPLY', message: `${replica} ${what}` } };
}
