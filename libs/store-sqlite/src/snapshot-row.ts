import type { Json } from '#crdt';

/** Column values of a snapshot row (`snapshot_key`), shared by the store and its reset thread's job. */

/** A key's encoding as its JSON text: a string is that text already (see `SnapshotKey`: an encoding is an array, never a string). */
export function encodingText(encoded: Json): string {
  return typeof encoded === 'string' ? encoded : JSON.stringify(encoded);
}

/** A key's digest term as a column value: its bytes, or NULL when there is none (anything else than bytes is not a term). */
export function termOrNull(term: unknown): Uint8Array | null {
  return ArrayBuffer.isView(term) ? (term as Uint8Array) : null;
}
