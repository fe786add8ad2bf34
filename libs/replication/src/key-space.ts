import { withArticle } from '#crdt/type-article';
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
  type OpContext,
  type Timestamp,
  type TypeName,
  type CrdtError,
} from '#crdt';
import type { ReplicatedEvent } from './replicated-event';
import { StateDigest } from './state-digest';

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
}

/**
 * A key: its variants (almost always one, so an array rather than a map per key) and its
 * slot in the state digest.
 */
interface KeyEntry {
  variants: Variant[];
  readonly slot: number;
}

/** One key's encoding and digest term, as written to a snapshot. */
export type EncodedKey = readonly [key: string, encoded: Json, digestTerm: Uint8Array];

/** Why a write was refused at its origin, in protocol terms. */
export interface KeySpaceError {
  readonly code: 'NOT_FOUND' | 'TYPE_MISMATCH' | 'UNKNOWN_TYPE' | 'INVALID_OP' | 'INVALID_OPTIONS';
  readonly message: string;
}

/** What the origin turns a write into: the CRDT ops and the variant they are for. */
export interface PreparedWrite {
  readonly type: TypeName;
  readonly options: Json;
  readonly ops: Json[];
  readonly created: boolean;
  /** For a batch: the state with every op applied already (pass it to `apply` to skip doing it twice). */
  readonly applied?: unknown;
}

/** Names a variant: type plus its canonical options. */
export function typeKeyOf(type: TypeName, options: Json): string {
  return options === null ? type : `${type}|${canonicalJson(options)}`;
}

/** The variant clients see: the earliest created. */
function visibleVariant(variants: readonly Variant[]): Variant {
  let best: Variant | undefined;
  for (const v of variants) {
    if (!best || v.createdTime < best.createdTime || (v.createdTime === best.createdTime && v.createdBy < best.createdBy)) best = v;
  }
  return best!;
}

/** Maps a library error on a client's command to a protocol error. */
function commandError(e: CrdtError): KeySpaceError {
  if (e.code === 'UNKNOWN_TYPE') return { code: 'UNKNOWN_TYPE', message: e.message };
  if (e.code === 'INVALID_OPTIONS') return { code: 'INVALID_OPTIONS', message: e.message };
  return { code: 'INVALID_OP', message: `${e.code}: ${e.message}` };
}

/**
 * All keys of a replica and their CRDT states: pure, in memory.
 *
 * A round's cost follows what changed since the last round, not the number of keys
 * (issue 11): the key space remembers which keys changed since the last snapshot (only
 * those are compacted and written at the next one) and which keys' digest terms are out
 * of date (only those are encoded and hashed when the digest is asked for). Every state
 * change goes through `apply`, `loadKey`, `compactChanged` or `clear`, which keep both sets.
 */
export class KeySpace {
  private readonly entries = new Map<string, KeyEntry>();
  private readonly stateDigest = new StateDigest();
  /** Keys changed since the last snapshot: not yet compacted, not yet in the store's snapshot. */
  private changed = new Set<string>();
  /** Keys whose digest term does not match their state. */
  private stale = new Set<string>();
  /**
   * Keys whose term was loaded from disk rather than computed here, checked again in
   * bounded background steps (`refreshStale`): a term is a cache of a pure function of the
   * encoding, stored with it in one transaction, but a term written by another version of
   * this code must not outlive the load. A walk over the keys, not a set, so it costs no
   * memory per key.
   */
  private unverified: Iterator<[string, KeyEntry]> | undefined;

  /** Number of keys. */
  get size(): number {
    return this.entries.size;
  }

  /** The visible variant of a key, if the key exists. */
  get(key: string): Variant | undefined {
    const e = this.entries.get(key);
    return e ? visibleVariant(e.variants) : undefined;
  }

  /** Keys in sorted order with a prefix, at most `limit`. */
  list(prefix: string, limit: number): { keys: Array<{ key: string; type: TypeName }>; truncated: boolean } {
    const names = [...this.entries.keys()].filter((k) => k.startsWith(prefix)).sort();
    return {
      keys: names.slice(0, limit).map((key) => ({ key, type: this.get(key)!.type })),
      truncated: names.length > limit,
    };
  }

  /**
   * Turns a client's commands into CRDT ops by reading state only (the origin's half of
   * prepare/apply). A batch prepares each command against a copy that already has the
   * earlier ones applied, so the batch behaves like sequential writes; the real state
   * changes only when the event is applied, all or nothing.
   */
  prepare(key: string, typeName: string | undefined, rawOptions: unknown, commands: readonly unknown[], ctx: OpContext): { ok: true; value: PreparedWrite } | { ok: false; error: KeySpaceError } {
    const existing = this.get(key);
    let impl: AnyCrdtType;
    let options: Json;
    let state: unknown;
    let created = false;
    if (existing) {
      if (typeName !== undefined && typeName !== existing.type) {
        return { ok: false, error: { code: 'TYPE_MISMATCH', message: `key ${JSON.stringify(key)} is ${withArticle(existing.type)}, not ${withArticle(typeName)}` } };
      }
      impl = existing.impl;
      options = existing.options;
      state = existing.state;
    } else {
      if (typeName === undefined) {
        return { ok: false, error: { code: 'NOT_FOUND', message: `key ${JSON.stringify(key)} does not exist; create it or pass "type" with the update` } };
      }
      const t = crdtType(typeName);
      if (!t.ok) return { ok: false, error: commandError(t.error) };
      impl = t.value;
      const o = impl.parseOptions(rawOptions);
      if (!o.ok) return { ok: false, error: commandError(o.error) };
      options = o.value;
      state = impl.create(options);
      created = true;
    }
    const ops: Json[] = [];
    // A batch on an existing key runs on a copy (a fresh key's new state is a copy already).
    if (commands.length > 1 && existing) state = impl.clone(state);
    for (let i = 0; i < commands.length; i++) {
      // Each op in a batch gets its own HLC reading so that ids derived from time stay unique.
      const prepared = impl.prepare(state, commands[i], { replica: ctx.replica, time: ctx.time + i });
      if (!prepared.ok) {
        const where = commands.length > 1 ? ` (op ${i} of the batch; nothing was applied)` : '';
        return { ok: false, error: { code: 'INVALID_OP', message: `${prepared.error.code}: ${prepared.error.message}${where}` } };
      }
      ops.push(prepared.value);
      if (commands.length > 1) impl.apply(state, prepared.value);
    }
    return { ok: true, value: { type: impl.name, options, ops, created, applied: commands.length > 1 ? state : undefined } };
  }

  /** Checks that options are valid for a type (for `create`), normalised. */
  static parseCreate(typeName: string, rawOptions: unknown): { ok: true; type: TypeName; options: Json } | { ok: false; error: KeySpaceError } {
    const t = crdtType(typeName);
    if (!t.ok) return { ok: false, error: commandError(t.error) };
    const o = t.value.parseOptions(rawOptions);
    if (!o.ok) return { ok: false, error: commandError(o.error) };
    return { ok: true, type: t.value.name, options: o.value };
  }

  /**
   * Validates every op of an event against its variant, then applies them all: an event
   * is applied whole or not at all. An invalid event (a bug or a forged message) is
   * refused with a reason and changes nothing; every replica refuses it alike.
   */
  apply(event: ReplicatedEvent, prepared?: unknown): { ok: true } | { ok: false; reason: string } {
    const t = crdtType(event.type);
    if (!t.ok) return { ok: false, reason: t.error.message };
    const impl = t.value;
    const parsedOptions = impl.parseOptions(event.options);
    if (!parsedOptions.ok) return { ok: false, reason: parsedOptions.error.message };
    const typeKey = typeKeyOf(impl.name, parsedOptions.value);
    let entry = this.entries.get(event.key);
    const variant = entry?.variants.find((v) => v.typeKey === typeKey);
    let state: unknown;
    if (prepared !== undefined) {
      // The origin's own batch: `prepare` built this state by applying exactly these ops.
      state = prepared;
    } else {
      // Later ops of a batch may depend on earlier ones (an insert after a just-inserted
      // element), so ops are validated and applied one by one. Client input was checked
      // whole at the origin (on a copy, all or nothing); an event from the stream that
      // fails half-way is a bug or a forgery, refused loudly, and every replica with the
      // same state stops at the same op, so they stay equal.
      state = variant ? variant.state : impl.create(parsedOptions.value);
      for (let i = 0; i < event.ops.length; i++) {
        const v = impl.validateOp(event.ops[i], state);
        if (!v.ok) return { ok: false, reason: `${v.error.code}: ${v.error.message}${i > 0 ? ` (op ${i} of the event; the ones before it stay applied)` : ''}` };
        impl.apply(state, v.value);
      }
    }
    if (variant) {
      variant.state = state;
      if (event.time < variant.createdTime || (event.time === variant.createdTime && event.origin < variant.createdBy)) {
        variant.createdTime = event.time;
        variant.createdBy = event.origin;
      }
    } else {
      if (!entry) this.entries.set(event.key, (entry = { variants: [], slot: this.stateDigest.allocate() }));
      entry.variants.push({ type: impl.name, options: parsedOptions.value, typeKey, impl, state, createdTime: event.time, createdBy: event.origin });
    }
    this.changed.add(event.key);
    this.stale.add(event.key);
    return { ok: true };
  }

  /** Canonical encoding of one key (all its variants), or undefined. */
  encodeKey(key: string): Json | undefined {
    const entry = this.entries.get(key);
    return entry ? encodeEntry(entry) : undefined;
  }

  /** Every key's canonical encoding, sorted by key (a full snapshot; costs the whole key space). */
  *encodedKeys(): Generator<[string, Json]> {
    for (const key of [...this.entries.keys()].sort()) yield [key, encodeEntry(this.entries.get(key)!)];
  }

  /**
   * Digest of the whole key space: equal on replicas with equal states (see
   * `StateDigest`). Costs one encoding and one hash per key changed since it was last
   * asked for.
   */
  digest(): string {
    for (const key of this.stale) this.refreshTerm(key, this.entries.get(key));
    this.stale.clear();
    return this.stateDigest.hex();
  }

  /** One digest term per key, to name the keys that differ when digests disagree. */
  digestsByKey(): Record<string, string> {
    this.digest();
    const out: Record<string, string> = {};
    for (const key of [...this.entries.keys()].sort()) out[key] = this.stateDigest.termHex(this.entries.get(key)!.slot);
    return out;
  }

  /** The digest computed from every key's encoding, ignoring what is kept up to date (tests compare the two). */
  digestFromScratch(): string {
    const d = new StateDigest();
    for (const [key, entry] of this.entries) d.set(d.allocate(), StateDigest.term(key, canonicalJson(encodeEntry(entry))));
    return d.hex();
  }

  /**
   * Loads one key from its encoding (snapshot restore), with the digest term the store
   * kept for it if any; false when malformed.
   */
  loadKey(key: string, encoded: unknown, digestTerm?: Uint8Array): boolean {
    const variants = decodeVariants(encoded);
    if (!variants) return false;
    const old = this.entries.get(key);
    const entry: KeyEntry = { variants, slot: old?.slot ?? this.stateDigest.allocate() };
    this.entries.set(key, entry);
    // A key loaded from a snapshot is compacted already and is in the store's snapshot.
    this.changed.delete(key);
    if (digestTerm !== undefined && digestTerm.length === StateDigest.TERM_BYTES) {
      // The term its last compaction computed: a round right after a restart finds the
      // digest ready instead of hashing every key inside the write hold. Checked again in
      // the background (`refreshStale`).
      this.stateDigest.set(entry.slot, digestTerm);
      this.stale.delete(key);
      this.unverified ??= this.entries.entries();
    } else {
      // Computed later, in bounded background steps (`refreshStale`), so a load does not
      // pay for hashing every key; or by the digest, should a round come first.
      this.stale.add(key);
    }
    return true;
  }

  /**
   * Brings at most `keysMax` stale digest terms up to date (a background step between
   * rounds, so the digest a round asks for finds little left to do), then checks terms
   * loaded from disk against their keys' states; returns how many stay stale.
   */
  refreshStale(keysMax: number): number {
    let done = 0;
    for (const key of this.stale) {
      if (done++ >= keysMax) break;
      this.refreshTerm(key, this.entries.get(key));
      this.stale.delete(key);
    }
    while (this.unverified && done++ < keysMax) {
      const next = this.unverified.next();
      if (next.done) this.unverified = undefined;
      else if (this.entries.get(next.value[0]) === next.value[1]) this.refreshTerm(next.value[0], next.value[1]);
    }
    return this.stale.size;
  }

  /** Value of a key from its encoding, without loading it (before-sync reads). */
  static valueOfEncoded(encoded: unknown): { type: TypeName; value: Json } | undefined {
    const variants = decodeVariants(encoded);
    if (!variants) return undefined;
    const v = visibleVariant(variants);
    return { type: v.type, value: v.impl.value(v.state) };
  }

  /** Number of keys changed since the last snapshot. */
  get changedCount(): number {
    return this.changed.size;
  }

  /**
   * Drops what no future op can need, in the keys changed since the last snapshot, and
   * returns their encodings sorted by key (the snapshot's delta); their digest terms are
   * brought up to date from the same encodings. Only at a round's cut, which every replica
   * has applied: losing variants go (no new op can target them, because origins prepare
   * against the visible one) and each type compacts its own metadata.
   *
   * A key untouched since the last snapshot was compacted then, and every type's
   * `compact` depends on the state alone and is idempotent, so compacting it again would
   * change nothing: skipping it leaves every replica with the state a full compaction gives.
   * The caller hands the keys back with `unwriteChanged` if the delta does not reach the disk.
   */
  compactChanged(): EncodedKey[] {
    const keys = [...this.changed].sort();
    this.changed = new Set();
    const out: EncodedKey[] = [];
    for (const key of keys) {
      const entry = this.entries.get(key);
      if (!entry) continue;
      if (entry.variants.length > 1) entry.variants = [visibleVariant(entry.variants)];
      const keep = entry.variants[0];
      keep.impl.compact(keep.state);
      const encoded = encodeEntry(entry);
      const term = this.refreshTerm(key, entry, encoded)!;
      this.stale.delete(key);
      out.push([key, encoded, term]);
    }
    return out;
  }

  /** Marks keys as changed again (their snapshot delta did not reach the disk). */
  unwriteChanged(keys: Iterable<EncodedKey>): void {
    for (const [key] of keys) this.changed.add(key);
  }

  /** Removes every key (before loading a snapshot on re-join). */
  clear(): void {
    this.entries.clear();
    this.stateDigest.clear();
    this.changed = new Set();
    this.stale = new Set();
    this.unverified = undefined;
  }

  /** Sets a key's digest term from its state (or the encoding given), or drops it when the key is gone. */
  private refreshTerm(key: string, entry: KeyEntry | undefined, encoded?: Json): Uint8Array | undefined {
    if (!entry) return undefined;
    const term = StateDigest.term(key, encoded === undefined ? canonicalEntry(entry) : canonicalJson(encoded));
    this.stateDigest.set(entry.slot, term);
    return term;
  }
}

/** `canonicalJson(encodeEntry(entry))`, without sorting the fields `encodeEntry` writes in a fixed order. */
function canonicalEntry(entry: KeyEntry): string {
  const variants = entry.variants.length > 1 ? [...entry.variants].sort((a, b) => (a.typeKey < b.typeKey ? -1 : a.typeKey > b.typeKey ? 1 : 0)) : entry.variants;
  let s = '[';
  for (let i = 0; i < variants.length; i++) {
    const v = variants[i];
    s += `${i ? ',' : ''}{"createdBy":${JSON.stringify(v.createdBy)},"createdTime":${canonicalJson(v.createdTime)},"options":${canonicalJson(v.options)},"state":${canonicalJson(v.impl.encode(v.state))},"type":${JSON.stringify(v.type)}}`;
  }
  return s + ']';
}

function encodeEntry(entry: KeyEntry): Json {
  const variants = entry.variants.length > 1 ? [...entry.variants].sort((a, b) => (a.typeKey < b.typeKey ? -1 : a.typeKey > b.typeKey ? 1 : 0)) : entry.variants;
  return variants.map((v) => ({ type: v.type, options: v.options, createdTime: v.createdTime, createdBy: v.createdBy, state: v.impl.encode(v.state) }));
}

function decodeVariants(encoded: unknown): Variant[] | undefined {
  if (!Array.isArray(encoded) || encoded.length === 0) return undefined;
  const variants: Variant[] = [];
  for (const e of encoded) {
    if (!isObject(e) || !isTypeName(e.type) || !isJson(e.options) || !isTimestamp(e.createdTime) || !isNonEmptyString(e.createdBy)) return undefined;
    const t = crdtType(e.type);
    if (!t.ok) return undefined;
    const state = t.value.decode(e.state as Json);
    if (!state.ok) return undefined;
    // The type's own name string, not the one parsed from JSON: one copy for every key.
    const type = t.value.name;
    const typeKey = typeKeyOf(type, e.options);
    // Two encodings of one variant: malformed (the map this replaced kept the last one).
    if (variants.some((v) => v.typeKey === typeKey)) return undefined;
    variants.push({ type, options: e.options, typeKey, impl: t.value, state: state.value, createdTime: e.createdTime, createdBy: e.createdBy });
  }
  return variants;
}
