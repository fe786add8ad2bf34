import type { SnapshotKey, SnapshotRecord } from '#replication/ports';
import { StateDigest } from '#replication/state-digest';
import type { SqliteSynchronous } from './data-source';
import { encodingText, termOrNull } from './snapshot-row';
import type { WireError } from './store-thread-protocol';

/**
 * A `resetTo` as the reset thread gets it (`reset-thread.ts`): the snapshot's keys and
 * their encodings' JSON texts each joined into one string, so the thread gets two copies
 * rather than two million small strings to clone, with their lengths, and the digest terms
 * side by side.
 */
export interface ResetJob {
  readonly snapshot: Omit<SnapshotRecord, 'keys'>;
  readonly streamSeq: number;
  readonly keep: { readonly origin: string; readonly afterSeq: number } | undefined;
  /** The keys, one after the other. */
  readonly packedKeys: string;
  /** The encodings' JSON texts, one after the other. */
  readonly packedTexts: string;
  /** Per key: the key's length, the text's length (UTF-16 code units), and 1 when it has a digest term in `terms`, else 0. */
  readonly lengths: Int32Array;
  /** The digest terms of the keys that have one, `StateDigest.TERM_BYTES` each, in key order. */
  readonly terms: Uint8Array;
}

/** Where the reset thread opens the store's file, and how (its `workerData`). */
export interface ResetThreadData {
  readonly file: string;
  readonly synchronous: SqliteSynchronous;
  readonly busyTimeoutMs: number;
}

/** The reset thread's answer. */
export type ResetReply = { readonly ok: true } | { readonly ok: false; readonly error: WireError };

/** Packs a `resetTo` for the reset thread (see `ResetJob`). */
export function packResetJob(snapshot: SnapshotRecord, streamSeq: number, keep: { origin: string; afterSeq: number } | undefined): ResetJob {
  const { keys, ...meta } = snapshot;
  const lengths = new Int32Array(keys.length * 3);
  const keyParts = new Array<string>(keys.length);
  const textParts = new Array<string>(keys.length);
  // A term of another size than a digest's is no term (a load ignores it): not packed.
  const isTerm = (term: unknown): term is Uint8Array => termOrNull(term)?.length === StateDigest.TERM_BYTES;
  let termCount = 0;
  for (const [, , term] of keys) if (isTerm(term)) termCount++;
  const terms = new Uint8Array(termCount * StateDigest.TERM_BYTES);
  for (let i = 0, t = 0; i < keys.length; i++) {
    const [key, encoded, term] = keys[i];
    const text = encodingText(encoded);
    keyParts[i] = key;
    textParts[i] = text;
    lengths[3 * i] = key.length;
    lengths[3 * i + 1] = text.length;
    if (isTerm(term)) {
      lengths[3 * i + 2] = 1;
      terms.set(term, t++ * StateDigest.TERM_BYTES);
    }
  }
  // `join` writes one flat string; `+=` would build a tree of two million pieces first.
  return { snapshot: meta, streamSeq, keep, packedKeys: keyParts.join(''), packedTexts: textParts.join(''), lengths, terms };
}

/** The reset thread's side of `packResetJob`. */
export function unpackResetJob(job: ResetJob): { snapshot: SnapshotRecord; streamSeq: number; keep: { origin: string; afterSeq: number } | undefined } {
  const n = job.lengths.length / 3;
  const keys = new Array<SnapshotKey>(n);
  for (let i = 0, atKey = 0, atText = 0, t = 0; i < n; i++) {
    const key = job.packedKeys.slice(atKey, (atKey += job.lengths[3 * i]));
    const text = job.packedTexts.slice(atText, (atText += job.lengths[3 * i + 1]));
    keys[i] = job.lengths[3 * i + 2] === 1 ? [key, text, job.terms.subarray(t * StateDigest.TERM_BYTES, ++t * StateDigest.TERM_BYTES)] : [key, text];
  }
  return { snapshot: { ...job.snapshot, keys }, streamSeq: job.streamSeq, keep: job.keep };
}
