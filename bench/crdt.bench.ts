/**
 * CRDT benchmark: `npm run bench:crdt`.
 *
 * 1. The editing trace (see TRACE_ATTRIBUTION: by Martin Kleppmann and the Automerge
 *    contributors, CC BY 4.0) applied to our `text` type, one replica, every edit through
 *    prepare + apply with ctx.time incrementing (text's element clocks are Lamport clocks,
 *    so real HLC readings would give the same runs); the result must equal the trace's final
 *    text exactly, or the run fails. Then the same trace on Yjs's Y.Text (one transaction
 *    per edit, as an editor binding does) and on Automerge (batches of edits per change),
 *    and our figures as ratios to theirs.
 * 2. Throughput of pn-counter increments and of or-set adds and removes on a 100k-element set.
 *
 * Heap figures are live data after forced full collections (`--expose-gc` is switched on
 * at run time); Automerge keeps its document in WebAssembly memory, so for it the figure
 * is the growth of memory outside the JavaScript heap, a high-water mark.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { canonicalJson } from '../libs/crdt/src/encoding/canonical-json';
import { orSet } from '../libs/crdt/src/types/or-set';
import { pnCounter } from '../libs/crdt/src/types/pn-counter';
import { text } from '../libs/crdt/src/types/text';
import { canCollect, loadTrace, mb, num, ratio, TRACE_ATTRIBUTION, type Measured, type Trace } from './bench-support';
import { AUTOMERGE_EDITS_PER_CHANGE, runAutomerge, runOurs, runYjs, type AModule, type TraceInfo, type YModule } from './crdt/trace-runs';

/** Runs of our text type on the trace (the first includes JIT warm-up; the best is reported too). */
const OUR_RUNS = 3;
/** pn-counter increments timed. */
const COUNTER_OPS = 1_000_000;
/** Elements of the or-set, and remove/add ops timed on it once full. */
const SET_SIZE = 100_000;
const SET_CHURN_OPS = 100_000;

interface Outcome {
  readonly name: string;
  readonly m: Measured<TraceInfo>;
}

/** The version of a dev dependency as the repository's package.json pins it. */
function pinned(name: string): string {
  try {
    const pkg = JSON.parse(readFileSync(resolve(__dirname, '../../package.json'), 'utf8')) as { devDependencies?: Record<string, string> };
    return pkg.devDependencies?.[name] ?? '?';
  } catch {
    return '?';
  }
}

function fail(message: string): never {
  console.error(`\n*** BENCHMARK FAILED: ${message} ***\n`);
  process.exit(1);
}

/**
 * The same trace seen by a second replica: every op made at the first goes through JSON
 * (as on the wire), validateOp and apply. Both replicas must end with equal encodings.
 */
function runRemoteReplay(trace: Trace): void {
  const origin = text.create(null);
  const wire: string[] = [];
  let time = 0;
  for (const [pos, del, ins] of trace.edits) {
    for (const command of [del > 0 ? { type: 'delete', index: pos, count: del } : null, ins.length > 0 ? { type: 'insert', index: pos, text: ins } : null]) {
      if (command === null) continue;
      const op = text.prepare(origin, command, { replica: 'origin', time: ++time });
      if (!op.ok) fail(`replay: ${op.error.message}`);
      text.apply(origin, op.value);
      wire.push(JSON.stringify(op.value));
    }
  }
  const replica = text.create(null);
  const t0 = performance.now();
  for (const json of wire) {
    const op = text.validateOp(JSON.parse(json), replica);
    if (!op.ok) fail(`replay: validateOp rejected ${json}: ${op.error.message}`);
    text.apply(replica, op.value);
  }
  const ms = performance.now() - t0;
  if (canonicalJson(text.encode(replica)) !== canonicalJson(text.encode(origin))) fail('the replaying replica diverged from the origin');
  console.log(`  text (this library), remote replay: ${num(wire.length)} ops parsed from JSON, validated and applied at a second replica in ${num(ms)} ms: ${num(wire.length / (ms / 1000))} ops/s; encodings equal`);
}

function report(o: Outcome, editsPerRun: number): void {
  const { m } = o;
  console.log(`  ${o.name}`);
  console.log(`    time ${num(m.ms)} ms, ${num(editsPerRun / (m.ms / 1000))} edits/s`);
  console.log(`    heap retained ${mb(m.retainedBytes)} (growth over the run ${mb(m.growthBytes)}, peak during the run ${mb(m.peakBytes)})`);
  console.log(`    encoded ${num(m.info.encodedBytes)} bytes: ${m.info.detail}`);
}

function benchCounter(): void {
  const state = pnCounter.create(null);
  const replicas = ['a', 'b', 'c'];
  const t0 = performance.now();
  for (let i = 0; i < COUNTER_OPS; i++) {
    const op = pnCounter.prepare(state, { type: i % 4 === 3 ? 'decrement' : 'increment' }, { replica: replicas[i % 3], time: i + 1 });
    if (!op.ok) fail(`pn-counter: ${op.error.message}`);
    pnCounter.apply(state, op.value);
  }
  const ms = performance.now() - t0;
  const expected = COUNTER_OPS - 2 * Math.floor(COUNTER_OPS / 4);
  if (pnCounter.value(state) !== expected) fail(`pn-counter reads ${pnCounter.value(state)}, expected ${expected}`);
  console.log(`  pn-counter: ${num(COUNTER_OPS)} increments/decrements (prepare + apply) in ${num(ms)} ms: ${num(COUNTER_OPS / (ms / 1000))} ops/s`);
}

function benchOrSet(): void {
  const state = orSet.create(null);
  let time = 0;
  const step = (command: unknown, replica: string) => {
    const op = orSet.prepare(state, command, { replica, time: ++time });
    if (!op.ok) fail(`or-set: ${op.error.message}`);
    orSet.apply(state, op.value);
  };
  const t0 = performance.now();
  for (let i = 0; i < SET_SIZE; i++) step({ type: 'add', value: `item-${i}` }, i % 2 === 0 ? 'a' : 'b');
  const addMs = performance.now() - t0;
  // Churn at full size: remove a pseudo-random element, add it back (a fixed LCG, so every run does the same).
  let seed = 12345;
  const t1 = performance.now();
  for (let i = 0; i < SET_CHURN_OPS; i += 2) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    const value = `item-${seed % SET_SIZE}`;
    step({ type: 'remove', value }, 'a');
    step({ type: 'add', value }, 'b');
  }
  const churnMs = performance.now() - t1;
  const size = orSet.value(state).length;
  if (size !== SET_SIZE) fail(`or-set holds ${size} elements, expected ${SET_SIZE}`);
  console.log(`  or-set: ${num(SET_SIZE)} adds (prepare + apply) in ${num(addMs)} ms: ${num(SET_SIZE / (addMs / 1000))} ops/s`);
  console.log(`  or-set: ${num(SET_CHURN_OPS)} removes and re-adds on the ${num(SET_SIZE)}-element set in ${num(churnMs)} ms: ${num(SET_CHURN_OPS / (churnMs / 1000))} ops/s`);
}

async function main(): Promise<void> {
  const started = performance.now();
  const trace = loadTrace();
  const inserts = trace.edits.filter((e) => e[2].length > 0).length;
  const deletes = trace.edits.filter((e) => e[1] > 0).length;
  console.log(`CRDT benchmark, Node ${process.version}, ${process.arch}`);
  console.log(TRACE_ATTRIBUTION);
  console.log(`  ${trace.path}: ${num(trace.edits.length)} edits (${num(inserts)} insertions, ${num(deletes)} deletions), final text ${num(trace.finalText.length)} characters`);
  if (!canCollect) console.log('  (no forced GC available: heap figures include garbage)');

  console.log('\nEditing trace');
  const ours: Measured<TraceInfo>[] = [];
  for (let r = 0; r < OUR_RUNS; r++) {
    const m = runOurs(trace);
    if (!m.info.ok) fail(`our text differs from the trace's final text (length ${m.info.length}, expected ${trace.finalText.length})`);
    ours.push(m);
  }
  const first = ours[0];
  const best = ours.reduce((a, b) => (b.ms < a.ms ? b : a));
  report({ name: 'text (this library): prepare + apply per edit, one replica, first run', m: first }, trace.edits.length);
  console.log(`    best of ${OUR_RUNS} runs: ${num(best.ms)} ms, ${num(trace.edits.length / (best.ms / 1000))} edits/s; result equals the final text`);

  runRemoteReplay(trace);

  const Y = (await import('yjs')) as YModule;
  const yjs = runYjs(Y, trace);
  if (!yjs.info.ok) fail('Yjs produced a different text (the trace or the harness is wrong)');
  report({ name: `Yjs ${pinned('yjs')} Y.Text (ESM build): one transaction per edit`, m: yjs }, trace.edits.length);

  const A = (await import('@automerge/automerge')) as AModule;
  const am = runAutomerge(A, trace);
  if (!am.info.ok) fail('Automerge produced a different text (the trace or the harness is wrong)');
  report({ name: `Automerge ${pinned('@automerge/automerge')} (WebAssembly): A.splice, ${num(AUTOMERGE_EDITS_PER_CHANGE)} edits per A.change (heap includes WebAssembly memory)`, m: am }, trace.edits.length);

  console.log('\n  Ratios, ours / theirs (below 1 is better for us):');
  for (const [name, m] of [
    ['Yjs', yjs],
    ['Automerge', am],
  ] as const) {
    console.log(
      `    vs ${name}: time ${ratio(first.ms, m.ms)} (first run; best ${ratio(best.ms, m.ms)}), heap retained ${ratio(first.retainedBytes, m.retainedBytes)}, encoded size ${ratio(first.info.encodedBytes, m.info.encodedBytes)}`,
    );
  }

  console.log('\nOther types');
  benchCounter();
  benchOrSet();
  console.log(`\nDone in ${num((performance.now() - started) / 1000, 1)} s. ${TRACE_ATTRIBUTION}`);
}

main().catch((e: unknown) => fail(e instanceof Error ? (e.stack ?? e.message) : String(e)));
