import type { Json } from './json';
import type { Result } from './result';
import type { Timestamp } from './causality/hlc';

/** A replica's identity: a short printable string, unique in the cluster. */
export type ReplicaId = string;

/** The type names of the catalogue, exactly as they appear on the wire. */
export const TYPE_NAMES = [
  'ew-flag',
  'dw-flag',
  'g-counter',
  'pn-counter',
  'lww-register',
  'mv-register',
  'g-set',
  '2p-set',
  'lww-set',
  'or-set',
  'or-map',
  'text',
  'list',
  'lifecycle',
] as const;

/** One of the catalogue's type names. */
export type TypeName = (typeof TYPE_NAMES)[number];

/**
 * What the origin knows when it turns a command into an op. Both fields come from the
 * replication layer, never from a hidden clock: `time` is a hybrid logical clock reading
 * that is unique at this replica, strictly greater than every earlier `time` it issued
 * and than every timestamp it has applied, so `(time, replica)` is a cluster-wide unique,
 * causality-respecting id.
 */
export interface OpContext {
  readonly replica: ReplicaId;
  readonly time: Timestamp;
}

/**
 * The one contract every CRDT type implements (after rust-crdt's `CmRDT`):
 *
 * - `prepare` runs at the origin only: it reads the state and turns a client command
 *   into an op. It never mutates.
 * - `apply` runs on every replica, the origin included, for every op exactly once in
 *   causal order, as the replication layer guarantees. It must also be idempotent (a
 *   duplicate changes nothing) and commute with every concurrent op, so that any causal
 *   delivery order gives equal states.
 * - Ops and encodings are JSON data; `encode` is canonical, so equal states give equal
 *   bytes and equal digests on every replica.
 *
 * Nothing here throws for bad input: commands and ops from outside come back as
 * `Result` errors and leave the state untouched. A throw means a broken invariant.
 */
export interface CrdtType<State = unknown, Op extends Json = Json, Value extends Json = Json> {
  readonly name: TypeName;
  /** Checks and normalises the options given when a key is created (null when the type takes none). */
  parseOptions(options: unknown): Result<Json>;
  /** A new, empty state for normalised options. */
  create(options: Json): State;
  /** Turns a client command into an op by reading `state` only. */
  prepare(state: State, command: unknown, ctx: OpContext): Result<Op>;
  /** Checks an op that came from another replica (it is untrusted input) against the key's state. */
  validateOp(op: unknown, state: State): Result<Op>;
  /** Applies a validated op in place: idempotent, commutative with concurrent ops, never throws. */
  apply(state: State, op: Op): void;
  /** The value a client reads. */
  value(state: State): Value;
  /** Canonical encoding of the whole state (including its options). */
  encode(state: State): Json;
  /** Rebuilds a state from `encode`'s output; rejects anything malformed. */
  decode(encoded: Json): Result<State>;
  /** A deep copy, so that a batch can be applied to a copy and committed all or nothing. */
  clone(state: State): State;
  /**
   * Drops metadata that no future op can need (tombstones, dominated dots). Called only at
   * a cut that every replica has applied, during a compaction round, so all replicas
   * compact identically and stay equal.
   */
  compact(state: State): void;
  /**
   * A new state that reads as empty but keeps what later ops may name (sequence elements
   * as tombstones, map fields hidden with their nested states cleared), for a key-level
   * delete (docs/crdt-types.md, "Deleting a key"). Types whose ops name nothing of the
   * state leave it out: for them a cleared state is `create(options)`.
   */
  clear?(state: State): State;
}
