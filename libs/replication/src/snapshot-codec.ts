import { isNat, isObject, isVersionVector } from '#crdt';
import { KEY_PATTERN } from '#protocol/limits';
import type { SnapshotKey, SnapshotRecord } from './ports';

/**
 * The published snapshot's wire format (the joiners' object store), written once here for
 * the replica's adapter, the simulator and the benchmarks.
 *
 * Lines: `crdt-snapshot 2`, then the header as JSON (`epoch`, `round`, `cut`, `streamSeq`,
 * `keys`: how many follow), then one line per key, sorted: the key, a tab, the key's
 * encoding as JSON text. Keys are protocol keys (no tab, no line break) and JSON text never
 * holds a raw line break, nor a tab outside a string (where it is escaped), so a line splits
 * at its first tab. A joiner then takes each encoding's text as it is, for its store row
 * and its cold key, instead of parsing the whole snapshot into objects and turning each
 * key back into text (at a million keys, a second of a join's five).
 *
 * Decoding checks the framing and the header; each encoding is checked when the key space
 * loads it (`KeySpace.loadKeys`). The format before it, one JSON object, is still read.
 */
export const SNAPSHOT_FORMAT_LINE = 'crdt-snapshot 2';

/** A snapshot as the text to publish. Encodings given as text are written as they are. */
export function encodeSnapshot(snapshot: SnapshotRecord): string {
  const { epoch, round, cut, streamSeq, keys } = snapshot;
  const lines = new Array<string>(keys.length + 2);
  lines[0] = SNAPSHOT_FORMAT_LINE;
  lines[1] = JSON.stringify({ epoch, round, cut, streamSeq, keys: keys.length });
  for (let i = 0; i < keys.length; i++) {
    const [key, encoded] = keys[i];
    lines[i + 2] = `${key}\t${typeof encoded === 'string' ? encoded : JSON.stringify(encoded)}`;
  }
  return lines.join('\n');
}

/** A published snapshot read back: each key's encoding as its JSON text. Throws on text that is not a snapshot. */
export function decodeSnapshot(text: string): SnapshotRecord {
  if (text.startsWith('{')) return decodeJsonSnapshot(text);
  const lines = text.split('\n');
  if (lines[0] !== SNAPSHOT_FORMAT_LINE) throw new Error(`not a snapshot: it starts ${JSON.stringify(lines[0].slice(0, 40))}, not "${SNAPSHOT_FORMAT_LINE}"`);
  let header: unknown;
  try {
    header = JSON.parse(lines[1] ?? '');
  } catch {
    throw new Error('not a snapshot: its header is not JSON');
  }
  if (!isObject(header) || !isNat(header.epoch) || !isNat(header.round) || !isVersionVector(header.cut) || !isNat(header.streamSeq) || !isNat(header.keys)) {
    throw new Error('not a snapshot: its header lacks epoch, round, cut, streamSeq or keys');
  }
  if (lines.length - 2 !== header.keys) throw new Error(`not a snapshot: its header names ${header.keys} keys, ${lines.length - 2} follow`);
  const keys = new Array<SnapshotKey>(header.keys);
  for (let i = 0; i < keys.length; i++) {
    const line = lines[i + 2];
    const tab = line.indexOf('\t');
    const key = tab > 0 ? line.slice(0, tab) : '';
    if (!KEY_PATTERN.test(key) || tab === line.length - 1) throw new Error(`not a snapshot: line ${i + 3} is not a key, a tab and an encoding`);
    keys[i] = [key, line.slice(tab + 1)];
  }
  return { epoch: header.epoch, round: header.round, cut: header.cut, streamSeq: header.streamSeq, keys };
}

/** The format before `crdt-snapshot 2`: the record as one JSON object, encodings as JSON values. */
function decodeJsonSnapshot(text: string): SnapshotRecord {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new Error('not a snapshot: it is not JSON');
  }
  if (
    !isObject(v) ||
    !isNat(v.epoch) ||
    !isNat(v.round) ||
    !isVersionVector(v.cut) ||
    !isNat(v.streamSeq) ||
    !Array.isArray(v.keys) ||
    !v.keys.every((e) => Array.isArray(e) && e.length === 2 && typeof e[0] === 'string')
  ) {
    throw new Error('not a snapshot: a JSON object without epoch, round, cut, streamSeq and [key, encoding] pairs');
  }
  return v as unknown as SnapshotRecord;
}
