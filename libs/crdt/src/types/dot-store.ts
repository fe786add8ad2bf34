import type { ReplicaId } from '../crdt-type';
import { compareDots, dotKey, isDot, type Dot } from '../causality/dot';
import { isNat, isNonEmptyString, isObject, type Json } from '../json';
import { compareStrings } from '../encoding/canonical-json';

/**
 * A dot store with its causal context (rust-crdt's `VClock` plus the live dots of an
 * `MVReg` or `Orswot`; Almeida, Shoker & Baquero, "Delta State Replicated Data Types",
 * 2018, §5): the live dots, each with a payload, and a clock of every dot ever applied.
 *
 * The clock is per key. An origin names its next event `(replica, clock[replica] + 1)`,
 * and because every replica applies one key's ops in causal order, each replica's dots on
 * a key are numbered 1, 2, 3, ... with no gaps. So "seen" is just `counter ≤ clock`, and
 * an op whose dot was seen is a duplicate that apply skips.
 *
 * An op that overwrites names the dots it observed; apply removes exactly those. A dot
 * that is concurrent with the op was not observed, so it survives: that is what makes
 * concurrent writes commute (add-wins for the writer's own side).
 */
export interface DotStore<V> {
  /** Per replica, the highest counter applied on this key (all lower ones are applied too). */
  readonly clock: Map<ReplicaId, number>;
  /** The live dots by `dotKey`, each with its payload. */
  readonly entries: Map<string, DotEntry<V>>;
}

/** One live dot and what it carries. */
export interface DotEntry<V> {
  readonly dot: Dot;
  readonly value: V;
}

/** A dot as it appears on the wire: a JSON object (a type alias, so it is assignable to `Json`). */
export type DotJson = { readonly replica: ReplicaId; readonly counter: number };

/**
 * At most this many dots in one op's `observed` list or one encoding's entries. Live dots
 * are mutually concurrent (each op removes the dots it saw), so there are at most as many
 * as replicas that wrote the key concurrently; a longer list is hostile, not real.
 */
export const DOTS_MAX = 4096;

/** An empty store. */
export function createDotStore<V>(): DotStore<V> {
  return { clock: new Map(), entries: new Map() };
}

/** A store with no live dots that has seen everything `store` has (a key-level delete: later ops' dots follow on). */
export function clearDotStore<V>(store: DotStore<V>): DotStore<V> {
  return { clock: new Map(store.clock), entries: new Map() };
}

/** The dot the origin gives its next event on this key, or undefined past 2^53 - 1. */
export function nextDot<V>(store: DotStore<V>, replica: ReplicaId): DotJson | undefined {
  const counter = (store.clock.get(replica) ?? 0) + 1;
  return Number.isSafeInteger(counter) ? { replica, counter } : undefined;
}

/** True when the store has applied the event the dot names. */
export function hasSeen<V>(store: DotStore<V>, dot: Dot): boolean {
  return (store.clock.get(dot.replica) ?? 0) >= dot.counter;
}

/** The live dots in canonical order: what an overwriting op observed. */
export function liveDots<V>(store: DotStore<V>): DotJson[] {
  return sortedEntries(store).map((e) => ({ replica: e.dot.replica, counter: e.dot.counter }));
}

/** The live entries in canonical order (by replica, then counter). */
export function sortedEntries<V>(store: DotStore<V>): Array<DotEntry<V>> {
  return [...store.entries.values()].sort((a, b) => compareDots(a.dot, b.dot));
}

/**
 * Applies an op's effect: drops the observed dots, then, when the op makes an event, adds
 * its dot with `value` and records it in the clock. An op whose dot was already seen is a
 * duplicate and changes nothing. Ops without a dot only remove, which is idempotent as is.
 */
export function applyDots<V>(store: DotStore<V>, dot: Dot | null, value: V, observed: readonly Dot[]): void {
  if (dot && hasSeen(store, dot)) return;
  for (const d of observed) store.entries.delete(dotKey(d));
  if (!dot) return;
  store.entries.set(dotKey(dot), { dot: { replica: dot.replica, counter: dot.counter }, value });
  store.clock.set(dot.replica, dot.counter);
}

/**
 * Why an op's dots cannot follow this store's history in causal order, or undefined when
 * they can. A new dot must be the next of its replica (or a duplicate), and observed dots
 * must have been seen: anything else means the op skipped ahead of an op it depends on,
 * and applying it would make replicas diverge silently (rust-crdt's `DotRange` check).
 */
export function causalGap<V>(store: DotStore<V>, dot: Dot | null, observed: readonly Dot[]): string | undefined {
  if (dot && dot.counter > (store.clock.get(dot.replica) ?? 0) + 1) {
    return `dot ${dotKey(dot)} skips ahead of ${store.clock.get(dot.replica) ?? 0}@${dot.replica} applied on this key`;
  }
  for (const d of observed) if (!hasSeen(store, d)) return `observed dot ${dotKey(d)} was never applied on this key`;
  return undefined;
}

/** A copy; `copyValue` copies payloads that are mutable. */
export function cloneDotStore<V>(store: DotStore<V>, copyValue: (v: V) => V = (v) => v): DotStore<V> {
  const entries = new Map<string, DotEntry<V>>();
  for (const [k, e] of store.entries) entries.set(k, { dot: e.dot, value: copyValue(e.value) });
  return { clock: new Map(store.clock), entries };
}

/**
 * Canonical JSON: `{"clock":{replica:counter},"entries":[...]}` with clock keys sorted
 * and entries in dot order. Each entry is `{"counter","replica"}` plus `"value"` when
 * `encodeValue` is given (a store whose payloads carry no information leaves it out).
 */
export function encodeDotStore<V>(store: DotStore<V>, encodeValue?: (v: V) => Json): Json {
  // Object.fromEntries defines own properties, so a replica named "__proto__" survives.
  const clock = Object.fromEntries([...store.clock.keys()].sort(compareStrings).map((r): [string, Json] => [r, store.clock.get(r)!]));
  const entries = sortedEntries(store).map((e): Json => {
    const d: Record<string, Json> = { counter: e.dot.counter, replica: e.dot.replica };
    if (encodeValue) d.value = encodeValue(e.value);
    return d;
  });
  return { clock, entries };
}

/**
 * Rebuilds a store from `encodeDotStore`'s output; undefined when malformed: a bad clock,
 * a bad or repeated dot, a live dot the clock has not seen, or a payload `decodeValue`
 * rejects (it returns undefined for those).
 */
export function decodeDotStore<V>(encoded: unknown, decodeValue: (v: unknown) => V | undefined): DotStore<V> | undefined {
  if (!isObject(encoded) || !isObject(encoded.clock) || !Array.isArray(encoded.entries)) return undefined;
  if (encoded.entries.length > DOTS_MAX) return undefined;
  const store = createDotStore<V>();
  for (const r of Object.keys(encoded.clock)) {
    const c = encoded.clock[r];
    if (!isNonEmptyString(r) || !isNat(c) || c === 0) return undefined;
    store.clock.set(r, c);
  }
  for (let i = 0; i < encoded.entries.length; i++) {
    const raw: unknown = encoded.entries[i];
    const dot = parseDot(raw);
    if (!dot || !hasSeen(store, dot) || store.entries.has(dotKey(dot))) return undefined;
    const value = decodeValue(isObject(raw) ? raw.value : undefined);
    if (value === undefined) return undefined;
    store.entries.set(dotKey(dot), { dot, value });
  }
  return store;
}

/** A well-formed dot copied to exactly its two fields, or undefined. */
export function parseDot(v: unknown): DotJson | undefined {
  return isDot(v) ? { replica: v.replica, counter: v.counter } : undefined;
}

/** A list of at most `DOTS_MAX` well-formed dots, copied, or undefined. */
export function parseDots(v: unknown): DotJson[] | undefined {
  if (!Array.isArray(v) || v.length > DOTS_MAX) return undefined;
  const out: DotJson[] = [];
  for (let i = 0; i < v.length; i++) {
    const d = parseDot(v[i]);
    if (!d) return undefined;
    out.push(d);
  }
  return out;
}
