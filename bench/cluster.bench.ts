/**
 * Cluster benchmark: `npm run bench:cluster` (build, then `node dist/bench/cluster.bench.js`).
 *
 * Runs against real processes on this machine: its own nats-server with JetStream on a free
 * port, three replica processes r1..r3 with SQLite files in a temp dir, and measures
 *
 * 1. bare NATS request/reply latency (a responder that only echoes), the baseline;
 * 2. single-op `update` latency through a replica (ack local, stream, all) and `get`
 *    latency, and update p50 over the baseline's (target: within 2x);
 * 3. the broker's own JetStream publish rate with a window of publishes in flight;
 * 4. cluster write throughput: batched updates to all replicas at once, ops/s acknowledged,
 *    the time until all replicas converged, and ops/s over the JetStream rate (target ≥ 1x);
 * 5. convergence lag: steady writes at r1, time from r1's ack until r2 and r3 applied each
 *    write, from change notices (target: p99 < 50 ms).
 *
 * Prints a table, writes bench/results/cluster-<date>.json, and stops every process and
 * removes the temp dir on exit, failure and Ctrl-C. It exits 1 when a correctness check
 * fails (an error reply, replicas disagreeing, notices missing); a missed performance
 * target is reported in the table, not an exit status.
 *
 * Environment: SQLITE_SYNCHRONOUS (passed to the replicas; FULL by default, as in
 * production), BENCH_CPU_PROFILE_DIR (replicas run with a CPU profiler and write
 * `<id>-<pid>-<n>.cpuprofile` there: n=1 covers the start through the throughput run,
 * n=2 the lag run), BENCH_SECONDS (length of the throughput and lag runs, default 10).
 */
import { execFileSync } from 'node:child_process';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { resolve } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectClient, findNatsServer } from '../libs/testing/src';
import { BenchCluster } from './cluster/bench-cluster';
import { CpuMeter } from './cluster/cpu-usage';
import { measureConvergenceLag, type LagResult } from './cluster/convergence-lag';
import { measureJetStreamPublish, type PublishBaselineResult } from './cluster/jetstream-baseline';
import { num, ms, table, times, verdict, writeResults } from './cluster/report';
import { measureSequential, type SequentialResult } from './cluster/request-latency';
import { measureWriteThroughput, type ThroughputResult } from './cluster/write-throughput';

const IDS = ['r1', 'r2', 'r3'] as const;
const RUN_SECONDS = Number(process.env.BENCH_SECONDS ?? 10);

/** Sequential latency runs. */
const LATENCY_REQUESTS = 5_000;
const LATENCY_WARMUP = 500;
/** `ack: all` waits for peers' heartbeats, so it is slower: fewer samples keep the run short. */
const ACK_STREAM_REQUESTS = 1_000;
const ACK_ALL_REQUESTS = 500;

/** JetStream baseline. */
const JS_MESSAGES = 50_000;
const JS_WARMUP = 2_000;
const JS_MESSAGE_BYTES = 200;
const JS_IN_FLIGHT = 256;

/** Cluster write throughput. */
const TP_OPS_PER_REQUEST = 250;
const TP_IN_FLIGHT_PER_REPLICA = 4;
const TP_KEYS_PER_TYPE = 32;
const CONVERGE_TIMEOUT_MS = 60_000;

/** Convergence lag. */
const LAG_WRITES_PER_SEC = 500;
const LAG_IN_FLIGHT = 64;

/** Targets. */
const UPDATE_OVER_BARE_MAX = 2;
const CLUSTER_OVER_JS_MIN = 1;
const LAG_P99_MS_MAX = 50;

/** How long Ctrl-C cleanup may take before the process exits anyway. */
const INTERRUPT_CLEANUP_MS = 15_000;

const RESULTS_DIR = resolve(__dirname, '..', '..', 'bench', 'results');

function machine() {
  let natsVersion = 'unknown';
  try {
    natsVersion = execFileSync(findNatsServer(), ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    // reported as unknown; starting the server will fail with the reason
  }
  return {
    nproc: availableParallelism(),
    cpu: cpus()[0]?.model ?? 'unknown',
    memoryGiB: totalmem() / 1024 ** 3,
    node: process.version,
    natsServer: natsVersion,
    sqliteSynchronous: (process.env.SQLITE_SYNCHRONOUS ?? 'FULL').toUpperCase(),
    loadAverageAtStart: loadavg().map((l) => Number(l.toFixed(2))),
  };
}

function step(text: string): void {
  process.stdout.write(`  ${text}\n`);
}

async function main(): Promise<number> {
  const info = machine();
  console.log(`Cluster benchmark, ${new Date().toISOString()}`);
  console.log(`  machine: nproc ${info.nproc}, ${info.cpu}, memory ${info.memoryGiB.toFixed(1)} GiB; node ${info.node}; ${info.natsServer}`);
  console.log(`  cluster: one nats-server (JetStream, file storage), replicas ${IDS.join(', ')} as separate processes, SQLite synchronous=${info.sqliteSynchronous}`);
  console.log(`  every process (server, replicas, this client) shares the machine's cores; load average now ${info.loadAverageAtStart.join(' / ')}`);
  // Other work on the machine takes cores from the processes measured here: say so up front.
  if (info.loadAverageAtStart[0] > info.nproc / 2) console.log('  WARNING: the machine is busy with other work; latency and throughput figures will be worse and noisier');
  console.log('');

  let cluster: BenchCluster | undefined;
  let local: NatsConnection | undefined;
  let interrupted = false;
  // On Ctrl-C the cleanup runs here and ends the process; the measurement in progress may
  // fail meanwhile, and must then wait rather than exit before the temp dir is gone.
  let interruptCleanup: Promise<never> | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`\n${signal}: stopping the cluster and removing its temp dir\n`);
    const force = setTimeout(() => process.exit(130), INTERRUPT_CLEANUP_MS);
    interruptCleanup = Promise.allSettled([local?.close(), cluster?.dispose()]).then(() => {
      clearTimeout(force);
      process.exit(130);
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const t0 = performance.now();
  try {
    step('starting nats-server and replicas ...');
    const profileDir = process.env.BENCH_CPU_PROFILE_DIR ? resolve(process.env.BENCH_CPU_PROFILE_DIR) : undefined;
    cluster = await BenchCluster.start({ ids: IDS, cpuProfileDir: profileDir }, (c) => (cluster = c));
    const c = cluster;
    step(`ready in ${((performance.now() - t0) / 1000).toFixed(1)} s (nats ${c.nats.url})`);

    // 1. Bare request/reply: the responder in its own process (as a replica is), and for
    // reference one in this process on a second connection.
    await c.startHelper('echo', 'echo-responder.js', { ECHO_SUBJECT: 'bench.echo' });
    local = await connectClient(c.nats.url, { name: 'bench-echo-local', noAsyncTraces: true });
    local.subscribe('bench.echo.local', {
      callback: (err, msg) => {
        if (!err) msg.respond(msg.data);
      },
    });
    await local.flush();
    const body = { key: 'lat.counter', type: 'pn-counter', op: { type: 'increment' } };
    step('bare NATS request/reply ...');
    const bare = await measureSequential(c.nc, { subject: 'bench.echo', body: () => body, requests: LATENCY_REQUESTS, warmupRequests: LATENCY_WARMUP });
    const bareLocal = await measureSequential(c.nc, { subject: 'bench.echo.local', body: () => body, requests: LATENCY_REQUESTS, warmupRequests: LATENCY_WARMUP });

    // 2. Through a replica.
    const ok = (r: Record<string, unknown>) => r.ok === true;
    step('update / get latency through r1 ...');
    const updateCpu = new CpuMeter(c.pids());
    const update = await measureSequential(c.nc, { subject: 'crdt.replica.r1.update', body: () => body, requests: LATENCY_REQUESTS, warmupRequests: LATENCY_WARMUP, accept: ok });
    const cpuUpdate = updateCpu.used();
    const get = await measureSequential(c.nc, { subject: 'crdt.replica.r1.get', body: () => ({ key: 'lat.counter' }), requests: LATENCY_REQUESTS, warmupRequests: LATENCY_WARMUP, accept: ok });
    const ackStream = await measureSequential(c.nc, { subject: 'crdt.replica.r1.update', body: () => ({ ...body, ack: 'stream' }), requests: ACK_STREAM_REQUESTS, warmupRequests: 50, accept: ok });
    const ackAll = await measureSequential(c.nc, { subject: 'crdt.replica.r1.update', body: () => ({ ...body, ack: 'all' }), requests: ACK_ALL_REQUESTS, warmupRequests: 20, accept: ok });

    // 3. JetStream's own rate.
    step('JetStream publish baseline ...');
    const jsBase = await measureJetStreamPublish(c.nc, { messages: JS_MESSAGES, messageBytes: JS_MESSAGE_BYTES, inFlightMax: JS_IN_FLIGHT, warmupMessages: JS_WARMUP });

    // 4. Cluster write throughput.
    step(`cluster write throughput (${RUN_SECONDS} s) ...`);
    const tpCpu = new CpuMeter(c.pids());
    const tp = await measureWriteThroughput(c, {
      ids: IDS,
      durationMs: RUN_SECONDS * 1000,
      opsPerRequest: TP_OPS_PER_REQUEST,
      inFlightPerReplica: TP_IN_FLIGHT_PER_REPLICA,
      keysPerType: TP_KEYS_PER_TYPE,
      convergeTimeoutMs: CONVERGE_TIMEOUT_MS,
      requestTimeoutMs: 30_000,
    });
    const cpuTp = tpCpu.used();
    const profiles = await c.writeProfiles();

    // 5. Convergence lag.
    step(`convergence lag (${LAG_WRITES_PER_SEC} writes/s at r1 for ${RUN_SECONDS} s) ...`);
    const lagCpu = new CpuMeter(c.pids());
    const lag = await measureConvergenceLag(c, {
      origin: 'r1',
      replicaCount: IDS.length,
      key: 'lag.counter',
      writesPerSec: LAG_WRITES_PER_SEC,
      durationMs: RUN_SECONDS * 1000,
      inFlightMax: LAG_IN_FLIGHT,
      convergeTimeoutMs: CONVERGE_TIMEOUT_MS,
      noticeGraceMs: 2_000,
    });
    const cpuLag = lagCpu.used();
    profiles.push(...(await c.writeProfiles()));
    const cpu: CpuPhases = { update: { cpu: cpuUpdate, ops: update.count + LATENCY_WARMUP }, throughput: { cpu: cpuTp, ops: tp.opsAcked }, lag: { cpu: cpuLag, ops: lag.writes } };

    const logProblems = c.logProblems();
    const totalSeconds = (performance.now() - t0) / 1000;
    const loadAverageAtEnd = loadavg().map((l) => Number(l.toFixed(2)));
    const problems = correctnessProblems(update, get, ackStream, ackAll, tp, lag);
    printReport(bare, bareLocal, update, get, ackStream, ackAll, jsBase, tp, lag, cpu, totalSeconds);
    if (logProblems.length > 0) {
      console.log('\nReplica warnings and errors during the run (none expected; they may explain the figures above)');
      console.log(table(['replica', 'level', 'count', 'message', 'first'], logProblems.map((p) => [p.replica, p.level, num(p.count), p.msg, p.first])));
    }
    for (const p of profiles) console.log(`  cpu profile: ${p}`);
    const file = writeResults(RESULTS_DIR, {
      date: new Date().toISOString(),
      machine: info,
      settings: { runSeconds: RUN_SECONDS, latencyRequests: LATENCY_REQUESTS, opsPerRequest: TP_OPS_PER_REQUEST, inFlightPerReplica: TP_IN_FLIGHT_PER_REPLICA, lagWritesPerSec: LAG_WRITES_PER_SEC },
      bareRequestReply: bare,
      bareRequestReplyInProcess: bareLocal,
      updateAckLocal: update,
      get,
      updateAckStream: ackStream,
      updateAckAll: ackAll,
      jetstreamPublish: jsBase,
      clusterWrite: tp,
      convergenceLag: lag,
      cpuSeconds: cpu,
      replicaLogProblems: logProblems,
      targets: {
        updateP50OverBare: { value: update.p50Ms / bare.p50Ms, max: UPDATE_OVER_BARE_MAX },
        clusterOpsOverJetStreamMsgs: { value: tp.opsPerSec / jsBase.msgsPerSec, min: CLUSTER_OVER_JS_MIN },
        lagP99Ms: { value: lag.ackToAllApplied.p99Ms, max: LAG_P99_MS_MAX },
      },
      problems,
      totalSeconds,
      loadAverageAtEnd,
    });
    console.log(`\n  results: ${file}`);
    if (problems.length > 0) {
      console.error(`\n*** CORRECTNESS CHECKS FAILED ***\n${problems.map((p) => `  - ${p}`).join('\n')}`);
      return 1;
    }
    return 0;
  } catch (e) {
    if (!interrupted) {
      console.error(`\n*** BENCHMARK FAILED: ${String((e as Error)?.stack ?? e)}`);
      if (cluster) console.error(cluster.tails());
    }
    return 1;
  } finally {
    if (interruptCleanup) await interruptCleanup;
    await local?.close().catch(() => undefined);
    await cluster?.dispose();
  }
}

/** CPU seconds per process over a phase, and the ops the phase wrote. */
type CpuPhases = Record<string, { readonly cpu: Record<string, number>; readonly ops: number }>;

function correctnessProblems(update: SequentialResult, get: SequentialResult, ackStream: SequentialResult, ackAll: SequentialResult, tp: ThroughputResult, lag: LagResult): string[] {
  const problems: string[] = [];
  const refused = (name: string, r: SequentialResult) => {
    if (r.errors > 0) problems.push(`${name}: ${r.errors} error replies, first ${JSON.stringify(r.firstError)}`);
  };
  refused('update (ack local)', update);
  refused('get', get);
  refused('update (ack stream)', ackStream);
  refused('update (ack all)', ackAll);
  if (tp.errors > 0) problems.push(`cluster write: ${tp.errors} failed requests, first ${JSON.stringify(tp.firstError)}`);
  problems.push(...tp.valueProblems.map((p) => `cluster write: ${p}`));
  if (lag.errors > 0) problems.push(`convergence lag: ${lag.errors} failed writes, first ${JSON.stringify(lag.firstError)}`);
  if (lag.missingNotices > 0) problems.push(`convergence lag: ${lag.missingNotices} writes without a notice from every replica`);
  return problems;
}

function printReport(
  bare: SequentialResult,
  bareLocal: SequentialResult,
  update: SequentialResult,
  get: SequentialResult,
  ackStream: SequentialResult,
  ackAll: SequentialResult,
  js: PublishBaselineResult,
  tp: ThroughputResult,
  lag: LagResult,
  cpu: CpuPhases,
  totalSeconds: number,
): void {
  const updateRatio = update.p50Ms / bare.p50Ms;
  const clusterRatio = tp.opsPerSec / js.msgsPerSec;
  const lat = (name: string, r: SequentialResult, note = ''): string[] => [name, ms(r.p50Ms), ms(r.p99Ms), ms(r.maxMs), num(r.count), note];

  console.log('\nLatency (sequential requests, one in flight)');
  console.log(
    table(
      ['request', 'p50', 'p99', 'max', 'n', 'note'],
      [
        lat('bare NATS request/reply (responder process)', bare, 'baseline'),
        lat('bare NATS request/reply (responder in-process)', bareLocal, 'reference'),
        lat('update pn-counter, ack local', update, `p50 ${times(update.p50Ms, bare.p50Ms)} baseline (target <= ${UPDATE_OVER_BARE_MAX}x: ${verdict(updateRatio <= UPDATE_OVER_BARE_MAX)})`),
        lat('get', get, `p50 ${times(get.p50Ms, bare.p50Ms)} baseline`),
        lat('update pn-counter, ack stream', ackStream, `p50 ${times(ackStream.p50Ms, bare.p50Ms)} baseline`),
        lat('update pn-counter, ack all', ackAll, `p50 ${times(ackAll.p50Ms, bare.p50Ms)} baseline`),
      ],
    ),
  );

  console.log('\nThroughput');
  console.log(
    table(
      ['measure', 'rate', 'detail'],
      [
        ['JetStream js.publish (scratch stream, file)', `${num(js.msgsPerSec)} msgs/s`, `${num(js.messages)} x ${js.messageBytes} B, ${js.inFlightMax} in flight, ${num(js.mbPerSec, 1)} MB/s`],
        [
          'cluster write, ops acknowledged',
          `${num(tp.opsPerSec)} ops/s`,
          `${num(tp.opsAcked)} ops in ${num(tp.requestsAcked)} requests of ${TP_OPS_PER_REQUEST} (counter / or-set alternating) over ${tp.loadSeconds.toFixed(1)} s, ${IDS.length} replicas x ${TP_IN_FLIGHT_PER_REPLICA} in flight`,
        ],
        ['  per replica', '', Object.entries(tp.perReplicaOps).sort(([a], [b]) => (a < b ? -1 : 1)).map(([id, n]) => `${id} ${num(n / tp.loadSeconds)} ops/s`).join(', ')],
        ['  request latency', '', `p50 ${ms(tp.requestLatency.p50Ms)}, p99 ${ms(tp.requestLatency.p99Ms)}, max ${ms(tp.requestLatency.maxMs)}`],
        ['  convergence after the load', '', `drain ${tp.drainSeconds.toFixed(2)} s after the last ack; total ${tp.totalSeconds.toFixed(2)} s from start to all converged; ${num(tp.streamMessages)} stream messages`],
        ['  ops/s to convergence', `${num(tp.convergedOpsPerSec)} ops/s`, `${times(tp.convergedOpsPerSec, js.msgsPerSec)} JetStream msgs/s`],
        ['  ratio to JetStream', times(tp.opsPerSec, js.msgsPerSec), `acknowledged ops/s over msgs/s (target >= ${CLUSTER_OVER_JS_MIN}x: ${verdict(clusterRatio >= CLUSTER_OVER_JS_MIN)})`],
        ['  values checked', tp.valuesChecked ? 'all equal' : 'PROBLEMS', tp.valuesChecked ? 'every key equal at every replica and to what was acknowledged' : tp.valueProblems.slice(0, 3).join('; ')],
      ],
    ),
  );

  console.log(`\nConvergence lag (${num(lag.writes)} writes at r1, ${num(lag.achievedWritesPerSec)} writes/s achieved)`);
  const lagRow = (name: string, s: typeof lag.ackToAllApplied, note = ''): string[] => [name, ms(s.p50Ms), ms(s.p99Ms), ms(s.maxMs), note];
  console.log(
    table(
      ['interval', 'p50', 'p99', 'max', 'note'],
      [
        lagRow('r1 ack -> r2 and r3 applied', lag.ackToAllApplied, `target p99 < ${LAG_P99_MS_MAX} ms: ${verdict(lag.ackToAllApplied.p99Ms < LAG_P99_MS_MAX)}`),
        lagRow('r1 ack -> first peer applied', lag.ackToFirstPeer),
        lagRow('created at r1 (HLC) -> all applied', lag.createdToAllApplied, 'wall clock, ms resolution'),
        lagRow('r1 ack latency of these writes', lag.ackLatency),
      ],
    ),
  );
  if (lag.lateSends > 0) console.log(`  note: ${num(lag.lateSends)} writes were sent more than 5 ms late (the client fell behind the rate)`);
  console.log('\nCPU time used (user + system, from /proc; unaffected by other load on the machine)');
  const names = [...IDS, 'nats-server', 'client'];
  console.log(
    table(
      ['phase', 'ops', ...names, 'replicas per op'],
      Object.entries(cpu).map(([phase, { cpu: used, ops }]) => {
        const replicaSeconds = IDS.reduce((a, id) => a + (used[id] ?? Number.NaN), 0);
        return [phase, num(ops), ...names.map((n) => (used[n] === undefined ? 'n/a' : `${used[n].toFixed(2)} s`)), `${((replicaSeconds / ops) * 1e6).toFixed(1)} us`];
      }),
    ),
  );
  console.log(`\n  total run time ${totalSeconds.toFixed(1)} s; load average at the end ${loadavg().map((l) => l.toFixed(2)).join(' / ')}`);
}

void main().then((code) => process.exit(code));
