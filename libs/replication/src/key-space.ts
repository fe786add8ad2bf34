import { withArticle } from '#crdt/type-article';
import {
  canonicalJson,
  crdtType,
  vvMerge,
  type AnyCrdtType,
  type Json,
  type OpContext,
  type TypeName,
  type CrdtError,
} from '#crdt';
import { deleteContext, type ReplicatedEvent } from '#protocol/replicated-event';
import { recompute, startSince, namesState } from './key-delete';
import { canonicalEntry, decodeVariants, encodeEntry, flat, isPresent, typeKeyOf, variantsOf, visibleVariant, warm, type KeyEntry, type Variant } from './key-entry';
import { StateDigest } from './state-digest';

export { typeKeyOf, type Variant } from './key-entry';

/** One key's encoding and digest term, as written to a snapshot. */
export type EncodedKey = readonly [key: string, encoded: Json, digestTerm?: Uint8Array];

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
  /**
   * A walk over the keys that finds those loaded without a digest term (their slot's term
   * is still zero) and computes it: the same work as `stale`, without a set entry per key.
   * The digest finishes it before it answers; `refreshStale` takes bounded steps of it.
   */
  private termless: Iterator<[string, KeyEntry]> | undefined;

  /** Number of keys. */
  get size(): number {
    return this.entries.size;
  }

  /** The visible variant of a key, if the key exists. */
  get(key: string): Variant | undefined {
    const e = this.entries.get(key);
    return e && isPresent(e) ? visibleVariant(variantsOf(e)) : undefined;
  }

  /** Keys in sorted order with a prefix, at most `limit` (deleted keys left out). */
  list(prefix: string, limit: number): { keys: Array<{ key: string; type: TypeName }>; truncated: boolean } {
    const names = [...this.entries].filter(([k, e]) => k.startsWith(prefix) && isPresent(e)).map(([k]) => k).sort();
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
      // A deleted key keeps its variants' cleared states until the next round: ops are
      // prepared against them (their clocks and the elements later ops may name), a copy.
      const typeKey = typeKeyOf(impl.name, options);
      const gone = this.entries.get(key);
      const hidden = gone ? variantsOf(gone).find((v) => v.typeKey === typeKey) : undefined;
      state = hidden ? impl.clone(hidden.state) : impl.create(options);
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
    if (event.delete) return this.applyDelete(event);
    const t = crdtType(event.type);
    if (!t.ok) return { ok: false, reason: t.error.message };
    const impl = t.value;
    const parsedOptions = impl.parseOptions(event.options);
    if (!parsedOptions.ok) return { ok: false, reason: parsedOptions.error.message };
    const typeKey = typeKeyOf(impl.name, parsedOptions.value);
    let entry = this.entries.get(event.key);
    const variant = entry ? warm(entry).find((v) => v.typeKey === typeKey) : undefined;
    // The first change since the last snapshot: keep what a delete would recompute from.
    if (entry && !entry.since) startSince(entry);
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
      if (variant.hidden) {
        // Deleted before: it is created again by the events since, of which this is the first here.
        delete variant.hidden;
        variant.createdTime = event.time;
        variant.createdBy = event.origin;
      } else if (event.time < variant.createdTime || (event.time === variant.createdTime && event.origin < variant.createdBy)) {
        variant.createdTime = event.time;
        variant.createdBy = event.origin;
      }
    } else {
      if (!entry) this.entries.set(event.key, (entry = { variants: [], cold: undefined, slot: this.stateDigest.allocate(), since: [] }));
      warm(entry).push({ type: impl.name, options: parsedOptions.value, typeKey, impl, state, createdTime: event.time, createdBy: event.origin });
    }
    entry!.since!.push({ event, typeKey, impl, options: parsedOptions.value });
    this.changed.add(event.key);
    this.stale.add(event.key);
    return { ok: true };
  }

  /**
   * A key-level delete (docs/crdt-types.md, "Deleting a key"): observed-remove. The
   * delete covers the events its origin had applied (`deleteContext`); afterwards the key
   * holds exactly what the events on it that no delete covers make of it, every variant
   * recomputed from the events since the last snapshot: for a type with `clear`, the
   * state before them plus the covered events, cleared (so later ops still find the
   * elements and clocks they name), then the uncovered events; for the others a new
   * state with the uncovered events. A variant with no uncovered event is hidden; a key
   * whose variants are all hidden reads as absent. What the last snapshot holds counts
   * as covered: a delete made after a round has seen all of it, and one made by a
   * replica that missed the round removes it too (the documented limit).
   *
   * The contexts join into the key's tombstone, so a later delete and the one before it
   * cover what either saw; the tombstone, the events and the hidden variants are dropped
   * at the next snapshot (`compactChanged`), but for the cleared states ops may still name
   * (`namesState`). An event that a delete covers always arrives
   * before it (causal delivery), so events applied after a delete are applied as usual.
   */
  private applyDelete(event: ReplicatedEvent): { ok: true } {
    const entry = this.entries.get(event.key);
    // Nothing here to remove: the key is gone already (an earlier round dropped it).
    if (!entry) return { ok: true };
    if (!entry.since) startSince(entry);
    const ctx = deleteContext(event);
    entry.deleted = entry.deleted ? vvMerge(entry.deleted, ctx) : ctx;
    recompute(entry, entry.deleted);
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
    this.termlessStep(Infinity);
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
   * kept for it if any; false when malformed. `text`, when the caller has it already, is
   * the encoding's JSON text (`encoded` is then the parsed encoding): a join writes that
   * text to its store too, and stringifying a million keys twice costs a second.
   */
  loadKey(key: string, encoded: unknown, digestTerm?: Uint8Array, text?: string): boolean {
    const checked = checkEncoding(encoded);
    if (checked === undefined) return false;
    this.putCold(key, text ?? checked.text, digestTerm, checked.absent);
    return true;
  }

  /**
   * Loads a whole snapshot's keys, as `loadKey` does one (`texts[i]` is the JSON text of
   * `keys[i]`'s encoding when the caller has it); returns the first key that does not
   * decode (the keys before it are loaded), else undefined.
   *
   * In two passes: every encoding is decoded first (to check it, and to learn whether the
   * key reads as absent), then the entries are made. Interleaved, the decoded objects
   * (garbage at once) run the young generation's collections so often while the entries
   * it must keep are being made that a million keys took 2.2 s rather than 1.3 s.
   */
  loadKeys(keys: ReadonlyArray<readonly [key: string, encoded: unknown, digestTerm?: Uint8Array]>, texts?: readonly string[]): string | undefined {
    const absent = new Uint8Array(keys.length);
    let valid = 0;
    for (; valid < keys.length; valid++) {
      // The text is only needed below: keep nothing of this pass but one byte per key.
      const checked = checkEncoding(keys[valid][1], true);
      if (checked === undefined) break;
      absent[valid] = checked.absent ? 1 : 0;
    }
    for (let i = 0; i < valid; i++) {
      const [key, encoded, term] = keys[i];
      const text = texts?.[i] ?? (typeof encoded === 'string' ? encoded : JSON.stringify(encoded));
      this.putCold(key, text, term, absent[i] === 1);
    }
    return valid < keys.length ? keys[valid][0] : undefined;
  }

  /** Sets a key, checked already, to its encoding's JSON text (cold), with its digest term if any. */
  private putCold(key: string, text: string, digestTerm: Uint8Array | undefined, absent: boolean): void {
    const old = this.entries.get(key);
    // The snapshot is the new base: events since and tombstones start again empty.
    const entry: KeyEntry = { variants: undefined, cold: text, slot: old?.slot ?? this.stateDigest.allocate() };
    if (absent) entry.absent = true;
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
      // pay for hashing every key; or by the digest, should a round come first. A replaced
      // key's term is out of date: it goes to `stale`; a new key's slot is zero, and the
      // walk over keys without a term finds it (adding a million joined keys to a set
      // costs the join most of a second).
      if (old) this.stale.add(key);
      else this.termless ??= this.entries.entries();
    }
  }

  /**
   * Brings at most `keysMax` stale digest terms up to date (a background step between
   * rounds, so the digest a round asks for finds little left to do), then checks terms
   * loaded from disk against their keys' states; returns how many stay stale (an unfinished
   * walk over keys loaded without a term counts as one).
   */
  refreshStale(keysMax: number): number {
    let done = 0;
    for (const key of this.stale) {
      if (done++ >= keysMax) break;
      this.refreshTerm(key, this.entries.get(key));
      this.stale.delete(key);
    }
    done += this.termlessStep(keysMax - done);
    while (this.unverified && done++ < keysMax) {
      const next = this.unverified.next();
      if (next.done) this.unverified = undefined;
      else if (this.entries.get(next.value[0]) === next.value[1]) this.refreshTerm(next.value[0], next.value[1]);
    }
    return this.stale.size + (this.termless ? 1 : 0);
  }

  /** Walks at most `keysMax` keys of `termless`, computing the terms still unset; returns how many it walked. */
  private termlessStep(keysMax: number): number {
    let walked = 0;
    while (this.termless && walked < keysMax) {
      const next = this.termless.next();
      walked++;
      if (next.done) this.termless = undefined;
      else if (!this.stateDigest.isSet(next.value[1].slot)) this.refreshTerm(next.value[0], next.value[1]);
    }
    return walked;
  }

  /**
   * Value of a key from its encoding, without loading it (before-sync reads): `null` when
   * every variant is hidden (a deleted key's row, see `namesState`), undefined when malformed.
   */
  static valueOfEncoded(encoded: unknown): { type: TypeName; value: Json } | null | undefined {
    const variants = decodeVariants(encoded);
    if (!variants) return undefined;
    const v = visibleVariant(variants);
    return v ? { type: v.type, value: v.impl.value(v.state) } : null;
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
      const visible = entry && visibleVariant(warm(entry));
      // Deleted, and nothing came after the delete: the hidden variants whose cleared
      // state an op may still name stay, hidden (see `namesState`); the others go.
      const kept = !entry ? [] : visible ? [visible] : warm(entry).filter(namesState);
      if (!entry || kept.length === 0) {
        // Nothing left that any op can need: the key leaves the state and the snapshot
        // (`null` removes its row), with its tombstone.
        if (entry) {
          this.entries.delete(key);
          this.stateDigest.release(entry.slot);
        }
        this.stale.delete(key);
        out.push([key, null]);
        continue;
      }
      entry.since = undefined;
      entry.base = undefined;
      entry.deleted = undefined;
      // A kept hidden variant stays as the delete left it: compacting it would drop what
      // in-flight ops name (an or-map's hidden fields and their counters' floors).
      if (visible) visible.impl.compact(visible.state);
      entry.variants = kept;
      const encoded = encodeEntry(entry);
      const text = canonicalJson(encoded);
      const term = StateDigest.term(key, text);
      this.stateDigest.set(entry.slot, term);
      this.stale.delete(key);
      // Written to the snapshot: cold again until its next write.
      entry.variants = undefined;
      entry.cold = flat(text);
      if (!visible) entry.absent = true;
      out.push([key, encoded, term]);
    }
    return out;
  }

  /** Marks keys as changed again (their snapshot delta did not reach the disk; a removal is written again too). */
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
    this.termless = undefined;
  }

  /** Sets a key's digest term from its state (or the encoding given), or drops it when the key is gone. */
  private refreshTerm(key: string, entry: KeyEntry | undefined, encoded?: Json): Uint8Array | undefined {
    if (!entry) return undefined;
    const term = StateDigest.term(key, encoded === undefined ? canonicalEntry(entry) : canonicalJson(encoded));
    this.stateDigest.set(entry.slot, term);
    return term;
  }
}

/**
 * Decodes a key's encoding (its JSON text, or parsed) to check it, and drops the result:
 * whether every variant is hidden (the key reads as absent), and the text (unless
 * `withoutText`); undefined when malformed.
 */
function checkEncoding(encoded: unknown, withoutText = false): { absent: boolean; text: string } | undefined {
  let parsed: unknown;
  let text = '';
  try {
    // The store hands the JSON text (an encoding is an array, never a string), kept as is.
    if (typeof encoded === 'string') {
      text = encoded;
      parsed = JSON.parse(encoded);
    } else {
      parsed = encoded;
      if (!withoutText) text = JSON.stringify(encoded);
    }
  } catch {
    return undefined;
  }
  const decoded = decodeVariants(parsed);
  if (!decoded) return undefined;
  return { absent: !visibleVariant(decoded), text };
}
