import { withArticle } from '#crdt/type-article';
import {
  canonicalJson,
  crdtType,
  digestOf,
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
  readonly impl: AnyCrdtType;
  state: unknown;
  /** The earliest event seen for this variant: (time, origin). Min is commutative, so all replicas agree. */
  createdTime: Timestamp;
  createdBy: string;
}

/** A key's variants, by `typeKey`. */
export type KeyEntry = Map<string, Variant>;

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
export function visibleVariant(entry: KeyEntry): Variant {
  let best: Variant | undefined;
  for (const v of entry.values()) {
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

/** All keys of a replica and their CRDT states: pure, in memory. */
export class KeySpace {
  private readonly entries = new Map<string, KeyEntry>();

  /** Number of keys. */
  get size(): number {
    return this.entries.size;
  }

  /** The visible variant of a key, if the key exists. */
  get(key: string): Variant | undefined {
    const e = this.entries.get(key);
    return e ? visibleVariant(e) : undefined;
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
    const variant = entry?.get(typeKey);
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
      if (!entry) this.entries.set(event.key, (entry = new Map()));
      entry.set(typeKey, { type: impl.name, options: parsedOptions.value, impl, state, createdTime: event.time, createdBy: event.origin });
    }
    return { ok: true };
  }

  /** Canonical encoding of one key (all its variants), or undefined. */
  encodeKey(key: string): Json | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    return [...entry.keys()].sort().map((tk) => {
      const v = entry.get(tk)!;
      return { type: v.type, options: v.options, createdTime: v.createdTime, createdBy: v.createdBy, state: v.impl.encode(v.state) };
    });
  }

  /** Every key's canonical encoding, sorted by key. */
  *encodedKeys(): Generator<[string, Json]> {
    for (const key of [...this.entries.keys()].sort()) yield [key, this.encodeKey(key)!];
  }

  /** Digest of the whole key space: equal on replicas with equal states. */
  digest(): string {
    const all: Record<string, Json> = {};
    for (const [k, enc] of this.encodedKeys()) all[k] = enc;
    return digestOf(all);
  }

  /** One digest per key, to name the keys that differ when digests disagree. */
  digestsByKey(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, enc] of this.encodedKeys()) out[k] = digestOf(enc);
    return out;
  }

  /** Loads one key from its encoding (snapshot restore); false when malformed. */
  loadKey(key: string, encoded: unknown): boolean {
    const entry = decodeEntry(encoded);
    if (!entry) return false;
    this.entries.set(key, entry);
    return true;
  }

  /** Value of a key from its encoding, without loading it (before-sync reads). */
  static valueOfEncoded(encoded: unknown): { type: TypeName; value: Json } | undefined {
    const entry = decodeEntry(encoded);
    if (!entry) return undefined;
    const v = visibleVariant(entry);
    return { type: v.type, value: v.impl.value(v.state) };
  }

  /**
   * Drops what no future op can need. Only at a round's cut, which every replica has
   * applied: losing variants go (no new op can target them, because origins prepare
   * against the visible one) and each type compacts its own metadata.
   */
  compact(): void {
    for (const [key, entry] of this.entries) {
      const keep = visibleVariant(entry);
      for (const [tk, v] of entry) if (v !== keep) entry.delete(tk);
      keep.impl.compact(keep.state);
      if (entry.size === 0) this.entries.delete(key);
    }
  }

  /** Removes every key (before loading a snapshot on re-join). */
  clear(): void {
    this.entries.clear();
  }
}

function decodeEntry(encoded: unknown): KeyEntry | undefined {
  if (!Array.isArray(encoded) || encoded.length === 0) return undefined;
  const entry: KeyEntry = new Map();
  for (const e of encoded) {
    if (!isObject(e) || !isTypeName(e.type) || !isJson(e.options) || !isTimestamp(e.createdTime) || !isNonEmptyString(e.createdBy)) return undefined;
    const t = crdtType(e.type);
    if (!t.ok) return undefined;
    const state = t.value.decode(e.state as Json);
    if (!state.ok) return undefined;
    entry.set(typeKeyOf(e.type, e.options), { type: e.type, options: e.options, impl: t.value, state: state.value, createdTime: e.createdTime, createdBy: e.createdBy });
  }
  return entry;
}
