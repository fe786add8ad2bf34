/**
 * The update path alone, for before/after figures of a change: `npm run bench:update-path`.
 * Starts nats-server and r1..r3 like the suite, then measures the bare echo (1 and 64
 * clients), the fsync probe, `update` ack local at 1 and 64 clients, ack stream at 64, and
 * `get`, each row with the CPU seconds every process used over it; then (unless
 * BENCH_PROFILE_SECONDS=0) profiles r1 under BENCH_PROFILE_CONCURRENCY clients (default
 * 64) and prints the top frames. Prints one JSON line of the figures at the end. Sizes:
 * BENCH_POINT_SECONDS (default 3), BENCH_PROFILE_SECONDS (default 6); BENCH_PROFILE_DIR
 * keeps the profiles; BENCH_REPLICAS (default 3) runs fewer replicas; BENCH_PROFILE_ID=r2 profiles a replica that only reads r1's events. SQLITE_THREAD and SQLITE_SYNCHRONOUS are passed to the replicas.
 */
import { mkdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { BenchCluster } from './cluster/bench-cluster';
import { CpuMeter } from './cluster/cpu-usage';
import { ms, num } from './cluster/report';
import { measureConcurrent } from './suite/concurrent-requests';
import { measureFsync } from './suite/fsync-probe';
import { profileUpdatePath } from './suite/update-profile';

const POINT_MS = Number(process.env.BENCH_POINT_SECONDS ?? 3) * 1000;
const PROFILE_MS = Number(process.env.BENCH_PROFILE_SECONDS ?? 6) * 1000;
/** The replica profiled while r1 takes the load: r2 or r3 shows the receiving side. */
const PROFILE_ID = process.env.BENCH_PROFILE_ID ?? 'r1';
const PROFILE_CONCURRENCY = Number(process.env.BENCH_PROFILE_CONCURRENCY ?? 64);
const START_WAIT_MS = 180_000;
/** How many replicas run (1 to 3): fewer shows what the others' work costs r1 on two cores. */
const REPLICAS = Math.min(3, Math.max(1, Number(process.env.BENCH_REPLICAS ?? 3)));
const DIST_ROOT = resolve(__dirname, '..');

const load1 = (): number => Number(loadavg()[0].toFixed(1));

async function main(): Promise<number> {
  let cluster: BenchCluster | undefined;
  try {
    // SQLITE_THREAD (and SQLITE_SYNCHRONOUS) pass through to the replicas, for before/after runs of the store thread.
    const env = Object.fromEntries(['SQLITE_THREAD', 'SQLITE_SYNCHRONOUS'].filter((k) => process.env[k] !== undefined).map((k) => [k, String(process.env[k])]));
    cluster = await BenchCluster.start({ ids: ['r1', 'r2', 'r3'].slice(0, REPLICAS), startWaitMs: START_WAIT_MS, env }, (c) => (cluster = c));
    const c = cluster;
    const ok = (r: Record<string, unknown>) => r.ok === true;
    const dataDir = c.harness.dataDir('r1');
    mkdirSync(dataDir, { recursive: true });
    const fsync = measureFsync({ dir: dataDir, rounds: 1_000, bytes: 4096 });
    await c.startHelper('echo', 'echo-responder.js', { ECHO_SUBJECT: 'bench.echo' });
    const sample = { key: 'lat.counter', type: 'pn-counter', op: { type: 'increment' } };
    // CPU seconds per process over each point: on two shared cores, who else was busy.
    const point = async (subject: string, n: number, body: (cl: number) => unknown, accept?: (r: Record<string, unknown>) => boolean) => {
      const cpu = new CpuMeter(c.pids());
      const r = await measureConcurrent(c.nc, { subject, body, concurrency: n, durationMs: POINT_MS, warmupMs: 300, accept });
      return { ...r, cpu: cpu.used(), load: load1() };
    };
    const rows = {
      echo1: await point('bench.echo', 1, () => sample),
      update1: await point('crdt.replica.r1.update', 1, () => sample, ok),
      echo64: await point('bench.echo', 64, () => sample),
      update64: await point('crdt.replica.r1.update', 64, (cl) => ({ ...sample, key: `lat.${cl}` }), ok),
      stream64: await point('crdt.replica.r1.update', 64, (cl) => ({ ...sample, key: `lat.${cl}`, ack: 'stream' }), ok),
      get1: await point('crdt.replica.r1.get', 1, () => ({ key: 'lat.counter' }), ok),
    };
    console.log(`fsync p50 ${ms(fsync.p50Ms)} p99 ${ms(fsync.p99Ms)} [load ${load1()}]`);
    for (const [name, r] of Object.entries(rows)) console.log(`${name.padEnd(9)} p50 ${ms(r.latency.p50Ms).padStart(9)} p99 ${ms(r.latency.p99Ms).padStart(9)} ${num(r.perSec).padStart(7)}/s errors ${r.errors} [load ${r.load}] cpu s ${JSON.stringify(r.cpu)}`);
    const floor = rows.echo1.latency.p50Ms + fsync.p50Ms;
    console.log(`update p50 / floor ${(rows.update1.latency.p50Ms / floor).toFixed(2)}x; update64 / echo64 ${(rows.update64.perSec / rows.echo64.perSec).toFixed(2)}x`);
    if (PROFILE_MS > 0) {
      const p = await profileUpdatePath(c, DIST_ROOT, { id: PROFILE_ID, loadId: 'r1', dir: process.env.BENCH_PROFILE_DIR ?? join(c.dir.path, 'profiles'), concurrency: PROFILE_CONCURRENCY, durationMs: PROFILE_MS, top: 25, startWaitMs: START_WAIT_MS });
      console.log(`profile: ${num(p.load.perSec)} updates/s under the profiler; busy ${num(p.summary.busyMs)} ms, idle ${num(p.summary.idleMs)} ms [load ${load1()}]`);
      for (const f of p.summary.topFrames) console.log(`  ${(f.share * 100).toFixed(1).padStart(5)}%  ${f.name}`);
      console.log('  by source:');
      for (const f of p.summary.bySource) console.log(`  ${(f.share * 100).toFixed(1).padStart(5)}%  ${f.name}`);
    }
    console.log(JSON.stringify({ fsync: fsync.p50Ms, ...Object.fromEntries(Object.entries(rows).map(([k, r]) => [k, { p50: r.latency.p50Ms, p99: r.latency.p99Ms, perSec: r.perSec, load: r.load }])) }));
    return 0;
  } catch (e) {
    console.error(`*** FAILED: ${String((e as Error)?.stack ?? e)}`);
    if (cluster) console.error(cluster.tails());
    return 1;
  } finally {
    await cluster?.dispose();
  }
}

void main().then((code) => process.exit(code));
