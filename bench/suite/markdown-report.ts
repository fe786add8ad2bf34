import { ms, num } from '../cluster/report';
import type { ConcurrentResult } from './concurrent-requests';
import type { BenchResults, Point } from './results';
import type { TargetRow } from './targets';

/** Renders docs/benchmarks.md from one run's results. */

const ratioText = (r: TargetRow): string => (r.baseline === '' ? '—' : !Number.isFinite(r.ratio) ? 'n/a' : `${r.ratio.toFixed(2)}x`);
const metText = (m: boolean | undefined): string => (m === undefined ? 'not measured' : m ? 'met' : '**not met**');
const load = (l: number): string => (Number.isFinite(l) ? l.toFixed(1) : '');
const row = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
const head = (cells: readonly string[]): string => `${row(cells)}\n${row(cells.map(() => '---'))}`;

/** The targets table alone (also used for the README). */
export function targetsTable(targets: readonly TargetRow[]): string {
  return [head(['target', 'figure', 'baseline', 'ratio', 'goal', 'met', 'load']), ...targets.map((t) => row([t.target, t.figure, t.baseline, ratioText(t), t.goal, metText(t.met), load(t.load)]))].join('\n');
}

/** The whole report. */
export function renderMarkdown(r: BenchResults): string {
  const m = r.machine;
  const out: string[] = [];
  out.push('# Benchmarks');
  out.push('');
  out.push(`Written by \`npm run bench\` (bench/bench.ts) on ${r.date}${r.quick ? ' in QUICK mode (tiny sizes: the figures are not meaningful)' : ''}. Every figure and its baseline were measured in this one run, against one nats-server the run started and three replica processes, on this machine:`);
  out.push('');
  out.push(`- ${m.cpus} CPUs (${m.cpuModel}), ${m.memoryGiB.toFixed(1)} GiB; Node ${m.node}; ${m.natsServer}; SQLite synchronous=${m.sqliteSynchronous}`);
  out.push(`- load average (1/5/15 min) at the start ${m.loadAverageAtStart.join(' / ')}, at the end ${m.loadAverageAtEnd.join(' / ')}; the \`load\` column is the 1-minute load when each figure was taken. The machine is shared: with a load above the CPU count, every process measured waits for a core, and both latencies and rates are worse and noisier than on an idle machine. Ratios measured side by side suffer less.`);
  out.push(`- run time ${num(r.totalSeconds, 0)} s; sizes: ${Object.entries(r.settings).map(([k, v]) => `${k}=${v}`).join(', ')}`);
  out.push('');
  out.push('## Targets (issue 11)');
  out.push('');
  out.push(targetsTable(r.targets));
  if (r.problems.length > 0) {
    out.push('');
    out.push('**Correctness problems in this run:**');
    for (const p of r.problems) out.push(`- ${p}`);
  }
  out.push('');
  out.push('## Baselines');
  out.push('');
  out.push(head(['measure', 'p50', 'p99', 'rate', 'detail', 'load']));
  for (const e of r.echo) out.push(row([`bare NATS request/reply echo, ${e.concurrency} concurrent`, ms(e.latency.p50Ms), ms(e.latency.p99Ms), `${num(e.perSec)}/s`, 'a responder process that only echoes', load(e.load)]));
  out.push(row(['write + fsync of 4 KiB in the data dir', ms(r.fsync.p50Ms), ms(r.fsync.p99Ms), '', `${num(r.fsync.count)} rounds`, load(r.fsync.load)]));
  const js = r.jetstreamPublish;
  out.push(row(['JetStream publish (file stream)', '', '', `${num(js.msgsPerSec)} msgs/s`, `${num(js.messages)} x ${js.messageBytes} B, ${js.inFlightMax} in flight`, load(js.load)]));
  out.push(row(['NATS KV put, one at a time', ms(r.kv.put.p50Ms), ms(r.kv.put.p99Ms), '', `${num(r.kv.put.count)} puts`, load(r.kv.load)]));
  out.push(row([`NATS KV put, ${r.kv.concurrentPut.concurrency} concurrent`, ms(r.kv.concurrentPut.latency.p50Ms), ms(r.kv.concurrentPut.latency.p99Ms), `${num(r.kv.concurrentPut.perSec)}/s`, '', load(r.kv.load)]));
  out.push(row([`NATS KV compare-and-set counter, ${r.kv.cas.writers} writers`, '', '', `${num(r.kv.cas.incrementsPerSec)} increments/s`, `${num(r.kv.cas.conflicts)} conflicts retried; final value checked`, load(r.kv.load)]));
  if (r.redis) out.push(row([`Redis INCR, ${r.redis.clients} clients`, '', '', `${num(r.redis.incrementsPerSec)} increments/s`, 'final value checked', load(r.redis.load)]));
  else out.push(row(['Redis INCR', '', '', 'not run', 'REDIS_URL not set', '']));
  out.push('');
  out.push('## `update` and `get` through replica r1 (closed loop: each client sends its next request when answered)');
  out.push('');
  out.push(head(['request', 'clients', 'p50', 'p99', 'max', 'rate', 'load']));
  const lat = (name: string, c: ConcurrentResult & { load: number }) => row([name, String(c.concurrency), ms(c.latency.p50Ms), ms(c.latency.p99Ms), ms(c.latency.maxMs), `${num(c.perSec)}/s`, load(c.load)]);
  for (const ack of ['local', 'stream', 'all'] as const) for (const c of r.update[ack]) out.push(lat(`update pn-counter, ack ${ack}`, c));
  out.push(lat('get', r.get));
  out.push('');
  out.push(...cpuSection(r));
  out.push('## Contended counter, editing trace, batched writes, convergence');
  out.push('');
  out.push(head(['measure', 'figure', 'detail', 'load']));
  for (const ct of [r.counter, r.counterPipelined]) {
    out.push(row([`one pn-counter, ${ct.writers} writers on ${ct.writers} replicas, ${ct.inFlight} in flight each`, `${num(ct.incrementsPerSec)} increments/s`, `${num(ct.increments)} increments; every replica reads them all: ${ct.valuesChecked ? 'yes' : 'NO'}`, load(ct.load)]));
  }
  const tr = r.traceThroughReplica;
  out.push(row(['editing trace through r1, end to end', `${num(tr.editsPerSec)} edits/s`, `${num(tr.edits)} edits in ${num(tr.batches)} batches; acknowledged at ${num(tr.ackedEditsPerSec)} edits/s; all three replicas hold exactly the final text: ${tr.textsEqual ? 'yes' : 'NO'}`, load(tr.load)]));
  for (const t of r.traceInMemory.runs) out.push(row([`editing trace in memory: ${t.name}`, `${num(t.ms)} ms`, `${num(t.editsPerSec)} edits/s, heap retained ${(t.retainedBytes / 1e6).toFixed(2)} MB, encoded ${num(t.encodedBytes)} B`, load(r.traceInMemory.load)]));
  const bw = r.batchedWrite;
  out.push(row(['batched writes, ops acknowledged', `${num(bw.opsPerSec)} ops/s`, `${num(bw.opsAcked)} ops; converged at ${num(bw.convergedOpsPerSec)} ops/s; values checked: ${bw.valuesChecked ? 'yes' : 'NO'}`, load(bw.load)]));
  const lg = r.convergenceLag;
  out.push(row([`convergence lag at ${num(lg.writesPerSecAsked)} writes/s`, `p50 ${ms(lg.ackToAllApplied.p50Ms)}, p99 ${ms(lg.ackToAllApplied.p99Ms)}`, `r1 ack to r2 and r3 applied; ${num(lg.writes)} writes, ${num(lg.achievedWritesPerSec)}/s achieved`, load(lg.load)]));
  out.push('');
  out.push('## Round cost, restart, join and memory by key count');
  out.push('');
  out.push('One replica core in a child process on a real SQLite file (`synchronous=FULL`), the op stream and snapshot object store as in-memory stand-ins (bench/keys-scale.bench.ts, also `npm run bench:keys`). Rounds: A every key changed since the last round, B some changed, C nothing, D right after a restart. `held` is from the freeze to writes resuming. Heap figures are per key after full collections; the published snapshot\'s text (the object store\'s) is left out.');
  out.push('');
  out.push(head(['keys', 'round A held', 'round B held (changed)', 'round C held', 'round D held', 'restart', 'join (fetch + reset)', 'heap/key after rounds', 'heap/key after load', 'file', 'load']));
  for (const run of [r.keysScale.counters, r.keysScale.sets]) {
    for (const k of run.runs) {
      out.push(
        row([
          `${num(k.keys)} ${k.keyType}`,
          `${num(k.rounds.a.heldMs)} ms`,
          `${num(k.rounds.b.heldMs)} ms (${num(k.little)})`,
          `${num(k.rounds.c.heldMs)} ms`,
          `${num(k.rounds.d.heldMs)} ms`,
          `${num(k.restartMs)} ms`,
          `${num(k.joinMs)} ms (${num(k.joinFetchMs)} + ${num(k.joinResetMs)})`,
          `${num(k.heapPerKeyAfterRounds)} B`,
          `${num(k.heapPerKeyAfterLoad)} B`,
          `${(k.fileBytes / 1e6).toFixed(1)} MB`,
          load(k.loadAverage),
        ]),
      );
    }
  }
  if (r.profile) {
    const p = r.profile;
    out.push('');
    out.push('## CPU profile of the update path');
    out.push('');
    out.push(`Replica r1 restarted under the V8 profiler (100 µs sampling), ${p.concurrency} clients sending \`update\` (ack local) for ${num(p.summary.wallMs / 1000, 1)} s at ${num(p.updatesPerSec)}/s (slowed by the profiler). Self time; share of the busy time (${num(p.summary.busyMs)} ms busy, ${num(p.summary.idleMs)} ms idle). Load ${load(p.load)}.`);
    out.push('');
    out.push(head(['frame (self time)', 'ms', 'share']));
    for (const f of p.summary.topFrames) out.push(row([`\`${f.name}\``, num(f.selfMs), `${(f.share * 100).toFixed(1)}%`]));
    out.push('');
    out.push(head(['source', 'ms', 'share']));
    for (const f of p.summary.bySource) out.push(row([`\`${f.name}\``, num(f.selfMs), `${(f.share * 100).toFixed(1)}%`]));
  }
  out.push('');
  return out.join('\n');
}

/** Markers of the README's block that each full run replaces. */
export const README_MARKERS = { start: '<!-- bench:start (written by npm run bench; do not edit) -->', end: '<!-- bench:end -->' } as const;

/** The README's short table: every target with figure, ratio and verdict, and the run's date and load. */
export function readmeBlock(r: BenchResults): string {
  const rows = r.targets.filter((t) => t.met !== undefined);
  const lines = [
    README_MARKERS.start,
    `From the latest \`npm run bench\` (${r.date.slice(0, 10)}, ${r.machine.cpus} CPUs shared with other work, load average ${r.machine.loadAverageAtStart[0]}–${r.machine.loadAverageAtEnd[0]}); every figure, baseline and the machine are in [docs/benchmarks.md](docs/benchmarks.md).`,
    '',
    head(['target', 'figure', 'ratio', 'goal', 'met']),
    ...rows.map((t) => row([t.target, t.figure, ratioText(t), t.goal, metText(t.met)])),
    README_MARKERS.end,
  ];
  return lines.join('\n');
}

/** `readme` with its marked block replaced by `block`; undefined when the markers are missing. */
export function replaceReadmeBlock(readme: string, block: string): string | undefined {
  const i = readme.indexOf(README_MARKERS.start);
  const j = readme.indexOf(README_MARKERS.end);
  if (i < 0 || j < i) return undefined;
  return readme.slice(0, i) + block + readme.slice(j + README_MARKERS.end.length);
}

/**
 * CPU per request by process, for the echo, `update` ack local and `get` points: on cores
 * shared by every process, the total bounds the rate whatever the latency.
 */
function cpuSection(r: BenchResults): string[] {
  const points: Array<[string, Point]> = [
    ...r.echo.map((e): [string, Point] => [`echo, ${e.concurrency} clients`, e]),
    ...r.update.local.map((u): [string, Point] => [`update ack local, ${u.concurrency} clients`, u]),
    ['get, 1 client', r.get] as [string, Point],
  ].filter(([, p]) => p.cpu !== undefined);
  if (points.length === 0) return [];
  const names = [...new Set(points.flatMap(([, p]) => Object.keys(p.cpu!.msByProcess)))];
  const out: string[] = [];
  out.push(`## CPU per request, by process`);
  out.push('');
  out.push(
    `CPU time (user + system, from /proc) each process spent over a point, divided by the requests answered in it. Every process shares the machine's ${r.machine.cpus} cores, so \`bound\` = ${r.machine.cpus} x 1000 / total is the most requests a second the machine could answer at that cost, whatever the latency. Replicas r2 and r3 apply each of r1's writes too.`,
  );
  out.push('');
  out.push(head(['point', ...names.map((n) => `${n} ms`), 'total ms', 'bound', 'measured']));
  for (const [name, p] of points) {
    const c = p.cpu!;
    out.push(row([name, ...names.map((n) => (c.msByProcess[n] ?? 0).toFixed(3)), c.totalMs.toFixed(3), `${num(c.cpuBoundPerSec)}/s`, `${num(p.perSec)}/s`]));
  }
  out.push('');
  return out;
}