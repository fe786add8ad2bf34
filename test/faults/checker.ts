import type { CounterRecord, ElementRecord, Ledger, WriteKind } from './ledger';

/**
 * The final checks of the fault suite, as pure functions of what the clients recorded
 * (the ledger) and what the healed cluster holds. Each check says what it checked and,
 * when it fails, exactly which key, element or round broke it.
 */

/** The outcome of one check. */
export interface Check {
  readonly name: string;
  readonly ok: boolean;
  /** What was checked (figures) or, on failure, what broke. */
  readonly detail: string;
}

/** A round result as the suite collected it (from `sync` replies and round events). */
export interface RoundRecord {
  readonly epoch: number;
  readonly round: number;
  readonly outcome: 'committed' | 'aborted';
  readonly coordinator: string;
  readonly startedAtMs: number;
  readonly code?: string;
  readonly reason?: string;
  readonly mismatchedKeys?: readonly string[];
  /** The cut sent to the members (empty when the round stopped before it). */
  readonly cut?: Readonly<Record<string, number>>;
  readonly members?: readonly string[];
  /** The phase of the first failure, when aborted. */
  readonly failedPhase?: string;
}

/** What the healed, converged cluster holds, and what happened on the way. */
export interface FinalState {
  readonly replicaIds: readonly string[];
  /** replica → key → value read from that replica (undefined: the key is missing there). */
  readonly values: ReadonlyMap<string, ReadonlyMap<string, unknown>>;
  /** Every round seen during the run. */
  readonly rounds: readonly RoundRecord[];
  /** Coordinator log lines that report a digest mismatch. */
  readonly mismatchLogLines: readonly string[];
  /** When the last fault was healed (ms since the epoch). */
  readonly lastFaultHealedMs: number;
  /** replica → its `lastRound` after the final round. */
  readonly lastRounds: ReadonlyMap<string, { epoch: number; round: number } | undefined>;
}

/** Most offending items named in one check's detail. */
const NAMED_MAX = 10;

/** Runs every check. */
export function runChecks(ledger: Ledger, state: FinalState): Check[] {
  return [
    checkAgreement(ledger, state),
    checkCounters(ledger, state),
    checkSets(ledger, state),
    checkMaps(ledger, state),
    checkTexts(ledger, state),
    checkNoDigestMismatch(state),
    checkRoundAfterLastFault(state),
    checkSameLastRound(state),
  ];
}

/** Canonical JSON (sorted object keys), to compare values across replicas. */
export function canonical(v: unknown): string {
  return JSON.stringify(sortDeep(v));
}

function sortDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortDeep);
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.keys(v as object).sort().map((k) => [k, sortDeep((v as Record<string, unknown>)[k])]));
  }
  return v;
}

function first(state: FinalState, key: string): unknown {
  return state.values.get(state.replicaIds[0])?.get(key);
}

function named(items: readonly string[]): string {
  return items.slice(0, NAMED_MAX).join('; ') + (items.length > NAMED_MAX ? `; ... (${items.length} in all)` : '');
}

function keysOf(ledger: Ledger, kind: WriteKind): string[] {
  return ledger.keys().filter((k) => k.kind === kind).map((k) => k.key);
}

function checkAgreement(ledger: Ledger, state: FinalState): Check {
  const keys = new Set<string>(ledger.keys().map((k) => k.key));
  for (const m of state.values.values()) for (const k of m.keys()) keys.add(k);
  const differing: string[] = [];
  for (const key of [...keys].sort()) {
    const seen = state.replicaIds.map((r) => (state.values.get(r)?.has(key) ? canonical(state.values.get(r)!.get(key)) : '(missing)'));
    if (new Set(seen).size > 1) {
      differing.push(`${key}: ${state.replicaIds.map((r, i) => `${r}=${seen[i].length > 80 ? `${seen[i].slice(0, 80)}...(${seen[i].length} chars)` : seen[i]}`).join(' ')}`);
    }
  }
  return {
    name: 'every replica holds the same value for every key',
    ok: differing.length === 0,
    detail: differing.length === 0 ? `${keys.size} keys equal on ${state.replicaIds.length} replicas` : `${differing.length} key(s) differ: ${named(differing)}`,
  };
}

/** value must lie in [acked, acked + uncertain]: below is a lost acknowledged write, above is a write counted twice (or a refused one applied). */
function boundsProblem(what: string, value: unknown, r: CounterRecord): string | undefined {
  if (typeof value !== 'number' || !Number.isInteger(value)) return `${what}: value ${JSON.stringify(value)} is not an integer (acked ${r.acked})`;
  if (value < r.acked) return `${what}: ${value} < ${r.acked} acknowledged (${r.acked - value} acknowledged increment(s) lost)`;
  if (value > r.acked + r.uncertain) {
    return `${what}: ${value} > ${r.acked} acknowledged + ${r.uncertain} uncertain (${value - r.acked - r.uncertain} counted twice or applied though refused; attempted ${r.attempted})`;
  }
  return undefined;
}

function checkCounters(ledger: Ledger, state: FinalState): Check {
  const problems: string[] = [];
  let acked = 0;
  let value = 0;
  for (const key of keysOf(ledger, 'counter')) {
    const r = ledger.counters.get(key)!;
    const v = first(state, key) ?? 0;
    const p = boundsProblem(key, v, r);
    if (p) problems.push(p);
    acked += r.acked;
    value += typeof v === 'number' ? v : 0;
  }
  return {
    name: 'counters: every acknowledged increment counted exactly once',
    ok: problems.length === 0,
    detail: problems.length === 0 ? `sum of values ${value}, acknowledged ${acked}, surplus ${value - acked} from uncertain writes` : named(problems),
  };
}

function checkMaps(ledger: Ledger, state: FinalState): Check {
  const problems: string[] = [];
  let fields = 0;
  for (const key of keysOf(ledger, 'or-map')) {
    const value = first(state, key);
    if (!value || typeof value !== 'object' || Array.isArray(value)) {
      problems.push(`${key}: value ${JSON.stringify(value)} is not an object`);
      continue;
    }
    const obj = value as Record<string, unknown>;
    const expected = ledger.maps.get(key)!;
    for (const [field, r] of expected) {
      fields++;
      // A field whose every update was refused may be absent: read as 0.
      const p = boundsProblem(`${key}.${field}`, obj[field] ?? 0, r);
      if (p) problems.push(p);
    }
    for (const field of Object.keys(obj)) if (!expected.has(field)) problems.push(`${key}.${field}: a field no client wrote`);
  }
  return {
    name: 'or-maps: every acknowledged field update counted exactly once',
    ok: problems.length === 0,
    detail: problems.length === 0 ? `${fields} fields within [acknowledged, acknowledged + uncertain]` : named(problems),
  };
}

/** Problems of a final collection of elements against their record: acknowledged ones missing, unknown or refused ones present, duplicates. */
function elementProblems(key: string, present: readonly string[], r: ElementRecord): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  const dups: string[] = [];
  for (const e of present) {
    if (seen.has(e)) dups.push(e);
    seen.add(e);
  }
  if (dups.length > 0) problems.push(`${key}: ${dups.length} element(s) present twice: ${dups.slice(0, 5).join(', ')}`);
  const missing = [...r.acked].filter((e) => !seen.has(e));
  if (missing.length > 0) problems.push(`${key}: ${missing.length} acknowledged element(s) missing: ${missing.slice(0, 5).join(', ')}`);
  const unknown = [...seen].filter((e) => !r.attempted.has(e));
  if (unknown.length > 0) problems.push(`${key}: ${unknown.length} element(s) no client wrote: ${unknown.slice(0, 5).join(', ')}`);
  const refused = [...seen].filter((e) => r.attempted.has(e) && !r.acked.has(e) && !r.uncertain.has(e));
  if (refused.length > 0) problems.push(`${key}: ${refused.length} element(s) present though their write was refused: ${refused.slice(0, 5).join(', ')}`);
  return problems;
}

function checkSets(ledger: Ledger, state: FinalState): Check {
  const problems: string[] = [];
  let acked = 0;
  let present = 0;
  for (const key of keysOf(ledger, 'or-set')) {
    const r = ledger.sets.get(key)!;
    const value = first(state, key) ?? [];
    if (!Array.isArray(value) || value.some((e) => typeof e !== 'string')) {
      problems.push(`${key}: value is not an array of strings: ${JSON.stringify(value).slice(0, 200)}`);
      continue;
    }
    problems.push(...elementProblems(key, value as string[], r));
    acked += r.acked.size;
    present += value.length;
  }
  return {
    name: 'or-sets: every acknowledged add present, nothing unwritten',
    ok: problems.length === 0,
    detail: problems.length === 0 ? `${present} elements present, ${acked} acknowledged` : named(problems),
  };
}

/** Splits a text into its markers; undefined when something other than whole markers is in it (an insert split or garbled). */
export function splitMarkers(text: string): string[] | undefined {
  const markers = text.match(/<[^<>]+>/g) ?? [];
  return markers.join('') === text ? markers : undefined;
}

function checkTexts(ledger: Ledger, state: FinalState): Check {
  const problems: string[] = [];
  let acked = 0;
  let present = 0;
  for (const key of keysOf(ledger, 'text')) {
    const r = ledger.texts.get(key)!;
    const value = first(state, key) ?? '';
    if (typeof value !== 'string') {
      problems.push(`${key}: value is not a string: ${JSON.stringify(value).slice(0, 200)}`);
      continue;
    }
    const markers = splitMarkers(value);
    if (!markers) {
      problems.push(`${key}: the text is not a sequence of whole markers (an insert was split or garbled): ${value.slice(0, 120)}`);
      continue;
    }
    problems.push(...elementProblems(key, markers, r));
    acked += r.acked.size;
    present += markers.length;
  }
  return {
    name: 'text: every acknowledged marker present once and contiguous',
    ok: problems.length === 0,
    detail: problems.length === 0 ? `${present} markers present, ${acked} acknowledged` : named(problems),
  };
}

function checkNoDigestMismatch(state: FinalState): Check {
  const rounds = state.rounds.filter((r) => r.code === 'DIGEST_MISMATCH' || (r.mismatchedKeys?.length ?? 0) > 0 || /digest/i.test(r.reason ?? ''));
  const problems = [
    ...rounds.map((r) => `round ${r.epoch}/${r.round} (${r.coordinator}): ${r.reason ?? r.code}`),
    ...state.mismatchLogLines.map((l) => `log: ${l.slice(0, 400)}`),
  ];
  return {
    name: 'no digest mismatch in any round',
    ok: problems.length === 0,
    detail: problems.length === 0 ? `${state.rounds.length} round results and the coordinator logs checked` : named(problems),
  };
}

function checkRoundAfterLastFault(state: FinalState): Check {
  const after = state.rounds.filter((r) => r.outcome === 'committed' && r.startedAtMs >= state.lastFaultHealedMs);
  return {
    name: 'a round committed after the last fault was healed',
    ok: after.length > 0,
    detail: after.length > 0 ? `${after.length} committed after it (first ${after[0].epoch}/${after[0].round})` : `none of ${state.rounds.length} rounds committed after ${new Date(state.lastFaultHealedMs).toISOString()}`,
  };
}

function checkSameLastRound(state: FinalState): Check {
  const committed = state.rounds.filter((r) => r.outcome === 'committed');
  const newest = committed.reduce<RoundRecord | undefined>((a, r) => (!a || r.epoch > a.epoch || (r.epoch === a.epoch && r.round > a.round) ? r : a), undefined);
  const held = state.replicaIds.map((id) => `${id}=${state.lastRounds.get(id) ? `${state.lastRounds.get(id)!.epoch}/${state.lastRounds.get(id)!.round}` : '?'}`);
  const ok = newest !== undefined && state.replicaIds.every((id) => state.lastRounds.get(id)?.epoch === newest.epoch && state.lastRounds.get(id)?.round === newest.round);
  return {
    name: 'every replica holds the snapshot of the newest committed round',
    ok,
    detail: `newest committed ${newest ? `${newest.epoch}/${newest.round}` : 'none'}; replicas hold ${held.join(' ')}`,
  };
}
