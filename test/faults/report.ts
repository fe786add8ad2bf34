import type { Check, RoundRecord } from './checker';
import type { FaultRecord } from './fault-runner';
import type { Stall } from './progress-monitor';
import { WRITE_KINDS, type Ledger } from './ledger';
import type { SyncAttempt } from './rounds';
import { describeStep } from './schedule';

/** Everything the report prints. */
export interface RunReport {
  readonly seed: number;
  readonly faultSeconds: number;
  /** The kinds of fault the schedule drew from. */
  readonly kinds: readonly string[];
  readonly t0Ms: number;
  readonly startupMs: number;
  readonly faults: readonly FaultRecord[];
  readonly rounds: readonly RoundRecord[];
  readonly syncs: readonly SyncAttempt[];
  /** Where members stood against the cut of rounds that failed there. */
  readonly cutDiagnoses: readonly string[];
  /** Consumers that stood still behind the stream's end. */
  readonly stalls: readonly Stall[];
  readonly ledger: Ledger;
  readonly convergence: string;
  readonly finalRound: string;
  readonly checks: readonly Check[];
  /** Problems outside the value checks (processes that died, did not come back, log lines). */
  readonly problems: readonly string[];
  /** Log lines of note that are not failures (error-level lines by message). */
  readonly observations: readonly string[];
  readonly logDir: string;
}

function secs(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function pad(s: string | number, n: number): string {
  return String(s).padStart(n);
}

function tally(items: readonly string[]): string {
  const m = new Map<string, number>();
  for (const i of items) m.set(i, (m.get(i) ?? 0) + 1);
  return [...m.entries()].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ×${n}`).join(', ') || 'none';
}

/** The report as text: seed, faults with times, rounds, writes, checks, and what held. */
export function formatReport(r: RunReport): string {
  const lines: string[] = [];
  const rel = (ms: number) => `+${secs(ms - r.t0Ms).padStart(7)}`;
  lines.push('=== fault suite report ===');
  lines.push(`seed ${r.seed} (replay with FAULT_SEED=${r.seed}); ${r.faultSeconds} s of faults drawn from ${r.kinds.join(', ')}; cluster up in ${secs(r.startupMs)}`);
  lines.push('topology: NATS n1-n3 (JetStream, op stream / lease bucket / snapshot store R3), replicas r1-r3, coordinators c1 (first leader) and c2');
  lines.push('');
  lines.push(`faults injected (${r.faults.length}; ${tally(r.faults.map((f) => f.step.kind))}):`);
  for (const f of r.faults) {
    const who = f.target ? ` [${f.target}]` : '';
    lines.push(`  ${rel(f.startedMs)} → ${rel(f.healedMs)}  ${describeStep(f.step)}${who}`);
    for (const n of f.notes) lines.push(`      ${n}`);
    for (const p of f.problems) lines.push(`      PROBLEM ${p.split('\n')[0]}`);
  }
  const committed = r.rounds.filter((x) => x.outcome === 'committed');
  const aborted = r.rounds.filter((x) => x.outcome === 'aborted');
  lines.push('');
  lines.push(`rounds: ${committed.length} committed, ${aborted.length} aborted (${r.syncs.length} sync requests: ${tally(r.syncs.map((s) => s.outcome))})`);
  lines.push(`  aborted by code: ${tally(aborted.map((x) => x.code ?? '?'))}`);
  const reasons = new Map<string, RoundRecord>();
  for (const a of aborted) {
    const k = `${a.code}: ${(a.reason ?? '').replace(/\d+/g, 'N').slice(0, 140)}`;
    if (!reasons.has(k)) reasons.set(k, a);
  }
  for (const [k, a] of [...reasons.entries()].slice(0, 12)) lines.push(`    e.g. ${a.epoch}/${a.round} by ${a.coordinator} at ${rel(a.startedAtMs)}: ${k}`);
  if (r.cutDiagnoses.length > 0) {
    lines.push('  rounds that failed at the cut, members against the cut:');
    for (const d of r.cutDiagnoses) lines.push(`    ${d}`);
  }
  lines.push('');
  const stalls = [...r.stalls].sort((a, b) => a.fromMs - b.fromMs);
  lines.push(`consumer stalls ≥ 4 s (a replica answering but not reading the stream): ${stalls.length}`);
  for (const s of stalls) {
    lines.push(`  ${rel(s.fromMs)} → ${rel(s.toMs)}  ${s.replica} stuck at stream seq ${s.streamSeq} for ${secs(s.toMs - s.fromMs)} while the stream reached ${s.streamLast}${s.endedByFault ? ' (ended by a fault on it)' : ''}`);
  }
  lines.push('');
  lines.push('writes:');
  lines.push(`  ${'kind'.padEnd(8)} ${pad('attempted', 9)} ${pad('acked', 7)} ${pad('refused', 7)} ${pad('uncertain', 9)}  failures by code`);
  for (const kind of WRITE_KINDS) {
    const t = r.ledger.totals.get(kind)!;
    lines.push(`  ${kind.padEnd(8)} ${pad(t.attempted, 9)} ${pad(t.acked, 7)} ${pad(t.refused, 7)} ${pad(t.uncertain, 9)}  ${[...t.errors.entries()].map(([c, n]) => `${c} ×${n}`).join(', ') || '-'}`);
  }
  lines.push('');
  lines.push(`convergence: ${r.convergence}`);
  lines.push(`final round: ${r.finalRound}`);
  lines.push('');
  lines.push('checks:');
  for (const c of r.checks) lines.push(`  ${c.ok ? 'PASS' : 'FAIL'} ${c.name}: ${c.detail}`);
  for (const p of r.problems) lines.push(`  FAIL ${p.split('\n')[0]}`);
  if (r.observations.length > 0) {
    lines.push('');
    lines.push('observations (not failures):');
    for (const o of r.observations) lines.push(`  ${o}`);
  }
  lines.push('');
  const held = r.checks.filter((c) => c.ok).map((c) => c.name);
  const broke = [...r.checks.filter((c) => !c.ok).map((c) => c.name), ...r.problems.map((p) => p.split('\n')[0])];
  lines.push(`held: ${held.length > 0 ? held.join('; ') : 'nothing'}`);
  lines.push(`broke: ${broke.length > 0 ? broke.join('; ') : 'nothing'}`);
  lines.push(`logs: ${r.logDir}`);
  return lines.join('\n');
}
