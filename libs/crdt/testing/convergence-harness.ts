import * as fc from 'fast-check';
import type { CrdtType, OpContext } from '../src/crdt-type';
import type { Json } from '../src/json';
import { canonicalJson, digestOf } from '../src/encoding/canonical-json';

/**
 * Property-test harness shared by every CRDT type (after Yjs's tests/testHelper.js): a
 * few in-memory replicas, commands at random replicas, and delivery of the resulting ops
 * to every replica in random orders that respect causality, with duplicates. At the end
 * every replica must have the same value, the same canonical encoding and the same digest.
 */

/** One step of a schedule. */
export type Step =
  | { readonly kind: 'command'; readonly replica: number; readonly command: unknown }
  | { readonly kind: 'deliver'; readonly replica: number; readonly pick: number }
  | { readonly kind: 'duplicate'; readonly replica: number; readonly pick: number };

interface LoggedOp {
  readonly origin: number;
  readonly index: number; // position in the origin's sequence, from 1
  readonly deps: number[]; // per replica: how many ops of each origin the origin had applied
  readonly op: Json;
}

interface SimReplica<S> {
  readonly id: string;
  state: S;
  clock: number;
  readonly applied: number[]; // per origin, how many ops applied (causal order makes this a prefix)
}

/** What a run produced, for assertions beyond convergence. */
export interface RunOutcome<S> {
  readonly states: S[];
  readonly values: Json[];
  readonly opsMade: number;
}

/** Options of a convergence run. */
export interface HarnessOptions {
  readonly replicas?: number;
  readonly options?: Json;
}

/**
 * Replays a schedule: commands prepare and apply at their replica; deliveries apply one
 * causally-ready op; duplicates re-apply an op already applied (apply must be idempotent).
 * Finally every replica receives everything, in the order the picks give, and the run
 * asserts equal values, encodings and digests. Throws with a readable message on failure.
 */
export function runSchedule<S>(type: CrdtType<S>, steps: readonly Step[], opts: HarnessOptions = {}): RunOutcome<S> {
  const n = opts.replicas ?? 3;
  const options = opts.options ?? null;
  const replicas: SimReplica<S>[] = [];
  for (let i = 0; i < n; i++) replicas.push({ id: `r${i}`, state: type.create(options), clock: 0, applied: new Array(n).fill(0) });
  const log: LoggedOp[][] = replicas.map(() => []);

  const ready = (r: SimReplica<S>): LoggedOp[] => {
    const out: LoggedOp[] = [];
    for (let o = 0; o < n; o++) {
      const next = log[o][r.applied[o]];
      if (next && next.deps.every((d, k) => k === o || d <= r.applied[k])) out.push(next);
    }
    return out;
  };
  const applyAt = (r: SimReplica<S>, entry: LoggedOp): void => {
    // The op crosses the wire as JSON and is validated like any untrusted input.
    const wire = JSON.parse(JSON.stringify(entry.op)) as unknown;
    const checked = type.validateOp(wire, r.state);
    if (!checked.ok) throw new Error(`validateOp rejected a prepared op ${JSON.stringify(entry.op)}: ${checked.error.message}`);
    type.apply(r.state, checked.value);
  };
  const observe = (r: SimReplica<S>, entry: LoggedOp): void => {
    const t = timeOf(entry.op);
    if (t !== undefined && t > r.clock) r.clock = t;
  };

  let pick = 0;
  for (const step of steps) {
    const r = replicas[step.replica % n];
    if (step.kind === 'command') {
      r.clock += 1;
      const ctx: OpContext = { replica: r.id, time: r.clock };
      const before = canonicalJson(type.encode(r.state));
      const prepared = type.prepare(r.state, step.command, ctx);
      if (canonicalJson(type.encode(r.state)) !== before) throw new Error(`prepare mutated the state for ${JSON.stringify(step.command)}`);
      if (!prepared.ok) continue;
      const origin = step.replica % n;
      const entry: LoggedOp = { origin, index: log[origin].length + 1, deps: [...r.applied], op: prepared.value };
      log[origin].push(entry);
      applyAt(r, entry);
      r.applied[origin] += 1;
    } else if (step.kind === 'deliver') {
      const candidates = ready(r);
      if (candidates.length === 0) continue;
      const entry = candidates[step.pick % candidates.length];
      observe(r, entry);
      applyAt(r, entry);
      r.applied[entry.origin] += 1;
    } else {
      const seen: LoggedOp[] = [];
      for (let o = 0; o < n; o++) for (let k = 0; k < r.applied[o]; k++) seen.push(log[o][k]);
      if (seen.length === 0) continue;
      applyAt(r, seen[step.pick % seen.length]);
    }
    pick = step.kind === 'command' ? pick : step.pick;
  }

  // Deliver the rest, in an order still driven by the schedule's picks.
  for (const r of replicas) {
    for (let candidates = ready(r); candidates.length > 0; candidates = ready(r)) {
      pick = (pick * 1103515245 + 12345) >>> 0;
      const entry = candidates[pick % candidates.length];
      observe(r, entry);
      applyAt(r, entry);
      r.applied[entry.origin] += 1;
    }
  }

  const values = replicas.map((r) => type.value(r.state));
  const encodings = replicas.map((r) => canonicalJson(type.encode(r.state)));
  const digests = replicas.map((r) => digestOf(type.encode(r.state)));
  for (let i = 1; i < n; i++) {
    if (canonicalJson(values[i]) !== canonicalJson(values[0])) {
      throw new Error(`values diverged: r0=${canonicalJson(values[0])} r${i}=${canonicalJson(values[i])}`);
    }
    if (encodings[i] !== encodings[0]) throw new Error(`encodings diverged: r0=${encodings[0]} r${i}=${encodings[i]}`);
    if (digests[i] !== digests[0]) throw new Error('digests diverged');
  }
  // Round trips: decode(encode(s)) encodes the same, and a clone is independent and equal.
  for (const r of replicas) {
    const decoded = type.decode(JSON.parse(JSON.stringify(type.encode(r.state))) as Json);
    if (!decoded.ok) throw new Error(`decode rejected an encoding: ${decoded.error.message}`);
    if (canonicalJson(type.encode(decoded.value)) !== encodings[0]) throw new Error('decode(encode(s)) differs from s');
    if (canonicalJson(type.encode(type.clone(r.state))) !== encodings[0]) throw new Error('clone(s) differs from s');
  }
  return { states: replicas.map((r) => r.state), values, opsMade: log.reduce((a, l) => a + l.length, 0) };
}

/** An op's HLC time if it carries one in a `time` field, so replicas observe it as a clock would. */
function timeOf(op: Json): number | undefined {
  if (op && typeof op === 'object' && !Array.isArray(op) && typeof op.time === 'number') return op.time;
  return undefined;
}

/** A schedule arbitrary: commands from `command`, deliveries and duplicates mixed in. */
export function scheduleArb(command: fc.Arbitrary<unknown>, opts: { replicas?: number; maxSteps?: number } = {}): fc.Arbitrary<Step[]> {
  const n = opts.replicas ?? 3;
  const replica = fc.nat({ max: n - 1 });
  const step: fc.Arbitrary<Step> = fc.oneof(
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('command' as const), replica, command }) },
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('deliver' as const), replica, pick: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('duplicate' as const), replica, pick: fc.nat() }) },
  );
  return fc.array(step, { maxLength: opts.maxSteps ?? 60 });
}

/**
 * The standard convergence property for a type: run with `fc.assert` so that a failure
 * prints its seed and shrunk schedule (keep it as a named regression test).
 */
export function assertConverges<S>(
  type: CrdtType<S>,
  command: fc.Arbitrary<unknown>,
  opts: HarnessOptions & { numRuns?: number; maxSteps?: number } = {},
): void {
  fc.assert(
    fc.property(scheduleArb(command, { replicas: opts.replicas, maxSteps: opts.maxSteps }), (steps) => {
      runSchedule(type, steps, opts);
    }),
    { numRuns: opts.numRuns ?? 200 },
  );
}
