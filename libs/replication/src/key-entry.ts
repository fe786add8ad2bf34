import {
  canonicalJson,
  crdtType,
  isObject,
  isNonEmptyString,
  isTimestamp,
  isTypeName,
  isJson,
  type AnyCrdtType,
  type Json,
  type Timestamp,
  type TypeName,
  type VersionVector,
} from '#crdt';
import type { ReplicatedEvent } from '#protocol/replicated-event';

// One key of the key space (`KeySpace`): its variants, hot or cold, and their encodings.

/**
 * One CRDT instance under a key. A key normally has one; when replicas create the same
 * key concurrently with different types (or options), each becomes a variant and every
 * replica shows the same one: the variant created first by (HLC time, origin). Ops always
 * go to the variant they were made for, so no op is ever lost or misapplied whatever
 * order events arrive in, and all replicas converge.
 */
export interface Variant {
  readonly type: TypeName;
  readonly options: Json;
  /** `typeKeyOf(type, options)`. */
  readonly typeKey: string;
  readonly impl: AnyCrdtType;
  state: unknown;
  /** The earliest event seen for this variant: (time, origin). Min is commutative, so all replicas agree. */
  createdTime: Timestamp;
  createdBy: string;
  /**
   * Set when a delete removed every event of this variant that the key space holds: the
   * variant reads as absent but keeps its cleared state (what later ops may name); the
   * next round's compaction drops it, or keeps it hidden (`namesState`). See `KeySpace.apply` for deletes.
   */
  hidden?: true;
}

/**
 * A key: its slot in the state digest, and its state in one of two forms.
 * - Hot: its variants (almost always one, so an array rather than a map per key), decoded.
 *   A key is hot from its first write after a round until that round's compaction.
 * - Cold: its encoding as JSON text, as the snapshot holds it. Most keys of a large key
 *   space are untouched between rounds, and a small key's text takes a few hundred bytes
 *   where its decoded objects take several times that (issue 11: at most 1 KiB per small
 *   key). Reads decode a cold key without keeping the result; a write makes it hot.
 */
export interface KeyEntry {
  /** The decoded variants while hot; undefined while cold. */
  variants: Variant[] | undefined;
  /** The encoding's JSON text while cold; undefined while hot. */
  cold: string | undefined;
  /**
   * Set while cold when every variant is hidden (a deleted key's kept row): the key reads
   * as absent without decoding its text (`keys` lists a prefix of every key).
   */
  absent?: true;
  readonly slot: number;
  /** The events applied to this key since the last snapshot, in the order applied (a causal order): a delete recomputes the key from them. */
  since?: SinceEvent[];
  /** The state before the first of those events, of each variant whose type has `clear` (by type key). */
  base?: Map<string, unknown>;
  /** The tombstone: the join of the contexts of the deletes applied since the last snapshot (dropped at the next one). */
  deleted?: VersionVector;
}

/** An event applied to a key since the last snapshot, with the variant it went to. */
export interface SinceEvent {
  readonly event: ReplicatedEvent;
  readonly typeKey: string;
  readonly impl: AnyCrdtType;
  readonly options: Json;
}

/** Names a variant: type plus its canonical options. */
export function typeKeyOf(type: TypeName, options: Json): string {
  return options === null ? type : `${type}|${canonicalJson(options)}`;
}

/** The variant clients see: the earliest created of those not hidden by a delete; undefined when every one is. */
export function visibleVariant(variants: readonly Variant[]): Variant | undefined {
  let best: Variant | undefined;
  for (const v of variants) {
    if (v.hidden) continue;
    if (!best || v.createdTime < best.createdTime || (v.createdTime === best.createdTime && v.createdBy < best.createdBy)) best = v;
  }
  return best;
}

/**
 * The same text as one flat string. `canonicalJson` builds its result by concatenation,
 * which V8 keeps as a tree of the pieces (a "cons string"): kept for a cold key, that tree
 * takes about 930 bytes for a 111-character counter encoding, the flat string about 150.
 * Reading a character makes V8 flatten the string in place.
 */
export function flat(s: string): string {
  s.charCodeAt(0);
  return s;
}

/** A key's variants: its own while hot; decoded afresh, and not kept, while cold. */
export function variantsOf(entry: KeyEntry): Variant[] {
  if (entry.variants) return entry.variants;
  const decoded = decodeVariants(JSON.parse(entry.cold!));
  // Checked when loaded, or written by `compactChanged` from a valid state.
  if (!decoded) throw new Error('a cold key\'s encoding does not decode');
  return decoded;
}

/** Whether a key reads as present: some variant not hidden by a delete (`absent` says so for a cold key). */
export function isPresent(entry: KeyEntry): boolean {
  return entry.variants ? visibleVariant(entry.variants) !== undefined : !entry.absent;
}

/** Makes a key hot (before a write changes it) and returns its variants. */
export function warm(entry: KeyEntry): Variant[] {
  if (!entry.variants) {
    entry.variants = variantsOf(entry);
    entry.cold = undefined;
    entry.absent = undefined;
  }
  return entry.variants;
}

/** `canonicalJson(encodeEntry(entry))`, without sorting the fields `encodeEntry` writes in a fixed order. */
export function canonicalEntry(entry: KeyEntry): string {
  if (!entry.variants) return canonicalJson(JSON.parse(entry.cold!) as Json);
  const variants = entry.variants.length > 1 ? [...entry.variants].sort((a, b) => (a.typeKey < b.typeKey ? -1 : a.typeKey > b.typeKey ? 1 : 0)) : entry.variants;
  let s = '[';
  for (let i = 0; i < variants.length; i++) {
    const v = variants[i];
    s += `${i ? ',' : ''}{"createdBy":${JSON.stringify(v.createdBy)},"createdTime":${canonicalJson(v.createdTime)},${v.hidden ? '"hidden":true,' : ''}"options":${canonicalJson(v.options)},"state":${canonicalJson(v.impl.encode(v.state))},"type":${JSON.stringify(v.type)}}`;
  }
  return s + ']';
}

export function encodeEntry(entry: KeyEntry): Json {
  if (!entry.variants) return JSON.parse(entry.cold!) as Json;
  const variants = entry.variants.length > 1 ? [...entry.variants].sort((a, b) => (a.typeKey < b.typeKey ? -1 : a.typeKey > b.typeKey ? 1 : 0)) : entry.variants;
  return variants.map((v) => ({ type: v.type, options: v.options, createdTime: v.createdTime, createdBy: v.createdBy, ...(v.hidden ? { hidden: true } : {}), state: v.impl.encode(v.state) }));
}

export function decodeVariants(encoded: unknown): Variant[] | undefined {
  if (!Array.isArray(encoded) || encoded.length === 0) return undefined;
  const variants: Variant[] = [];
  for (const e of encoded) {
    if (!isObject(e) || !isTypeName(e.type) || !isJson(e.options) || !isTimestamp(e.createdTime) || !isNonEmptyString(e.createdBy)) return undefined;
    if (e.hidden !== undefined && e.hidden !== true) return undefined;
    const t = crdtType(e.type);
    if (!t.ok) return undefined;
    const state = t.value.decode(e.state as Json);
    if (!state.ok) return undefined;
    // The type's own name string, not the one parsed from JSON: one copy for every key.
    const type = t.value.name;
    const typeKey = typeKeyOf(type, e.options);
    // Two encodings of one variant: malformed (the map this replaced kept the last one).
    if (variants.some((v) => v.typeKey === typeKey)) return undefined;
    variants.push({ type, options: e.options, typeKey, impl: t.value, state: state.value, createdTime: e.createdTime, createdBy: e.createdBy, ...(e.hidden ? { hidden: true as const } : {}) });
  }
  return variants;
}
