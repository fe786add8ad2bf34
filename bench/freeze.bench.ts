/**
 * Freeze benchmark: `npm run bench:freeze` (build, then `node dist/bench/freeze.bench.js`).
 *
 * How long does a compaction round hold client writes when the op logs are long? Starts
 * its own nats-server, three replicas and a coordinator (rounds only on request), writes
 * `HISTORY_EVENTS` single-op events (default 1,000,000; each its own op-log row) spread
 * over `KEYS` pn-counter keys through all three replicas, waits until they converge, then
 * runs rounds and prints each one's phase timings and the time writes were held. A
 * second round with almost no history shows the baseline. Target: writes held < 200 ms
 * with 1M ops of history.
 *
 * Environment: HISTORY_EVENTS, KEYS (default 1000), IN_FLIGHT (requests in flight per
 * replica, default 64), SQLITE_SYNCHRONOUS (passed to the replicas).
 */
import { join, resolve } from 'node:path';
import { startApp, type AppHandle } from '../libs/testing/src';
import { BenchCluster } from './cluster/bench-cluster';

const IDS = ['r1', 'r2', 'r3'];
const HISTORY_EVENTS = Number(process.env.HISTORY_EVENTS ?? 1_000_000);
const KEYS = Number(process.env.KEYS ?? 1000);
const IN_FLIGHT = Number(process.env.IN_FLIGHT ?? 64);
const DIST_ROOT = resolve(__dirname, '..');

interface RoundResult {
  outcome: string;
  reason?: string;
  timings: { freezeMs: number; cutMs: number; commitMs: number; totalMs: number; writesHeldMs: number };
}

async function main(): Promise<void> {
  let cluster: BenchCluster | undefined;
  let coordinator: AppHandle | undefined;
  const stop = async () => {
    await coordinator?.stop(5_000).catch(() => undefined);
    await cluster?.dispose();
  };
  process.once('SIGINT', () => void stop().then(() => process.exit(130)));
  try {
    cluster = await BenchCluster.start({ ids: IDS, env: process.env.SQLITE_SYNCHRONOUS ? { SQLITE_SYNCHRONOUS: process.env.SQLITE_SYNCHRONOUS } : {} }, (c) => (cluster = c));
    coordinator = startApp(
      'coordinator',
      { NATS_URL: cluster.nats.url, COORDINATOR_ID: 'c1', ROUND_INTERVAL_MS: '0', ROUND_OPLOG_THRESHOLD: String(1e12), ROUND_COMMIT_TIMEOUT_MS: '10000' },
      { script: join(DIST_ROOT, 'apps', 'coordinator', 'src', 'main.js'), name: 'c1' },
    );
    await coordinator.waitForLog((l) => l.msg === 'leader', 20_000);
    const nc = cluster.nc;
    const request = async (subject: string, body: unknown, timeoutMs = 30_000) => (await nc.request(subject, JSON.stringify(body), { timeout: timeoutMs })).json<Record<string, unknown>>();

    process.stdout.write(`freeze benchmark: ${HISTORY_EVENTS.toLocaleString('en')} single-op events over ${KEYS} keys, ${IN_FLIGHT} in flight per replica\n`);
    const started = Date.now();
    let next = 0;
    let acked = 0;
    await Promise.all(
      IDS.flatMap((id) =>
        Array.from({ length: IN_FLIGHT }, async () => {
          for (let i = next++; i < HISTORY_EVENTS; i = next++) {
            const r = await request(`crdt.replica.${id}.update`, { key: `k${i % KEYS}`, type: 'pn-counter', op: { type: 'increment' } });
            if (r.ok) acked++;
            if (acked % 100_000 === 0 && r.ok) process.stdout.write(`  ${acked.toLocaleString('en')} written (${Math.round(acked / ((Date.now() - started) / 1000))} events/s)\n`);
          }
        }),
      ),
    );
    const writeS = (Date.now() - started) / 1000;
    const conv = await cluster.converged(300_000);
    const opLogs = conv.statuses.map((s) => `${s.replica} ${Number(s.opLogLength).toLocaleString('en')}`).join(', ');
    process.stdout.write(`  written in ${writeS.toFixed(1)} s (${Math.round(acked / writeS)} events/s), converged; op logs: ${opLogs}\n`);

    const rows: string[] = [];
    for (const label of ['round with the full history', 'round right after (no history)', 'third round (no history)']) {
      const reply = await request('crdt.coordinator.sync', {}, 120_000);
      const result = reply.result as RoundResult;
      const t = result.timings;
      rows.push(`${label.padEnd(32)} ${result.outcome.padEnd(9)} freeze ${t.freezeMs} ms, cut ${t.cutMs} ms, commit ${t.commitMs} ms; writes held ${t.writesHeldMs} ms${result.reason ? ` (${result.reason})` : ''}`);
      await new Promise((r) => setTimeout(r, 1_000));
    }
    const after = await Promise.all(IDS.map((id) => request(`crdt.replica.${id}.status`, {})));
    process.stdout.write(rows.map((r) => '  ' + r).join('\n') + '\n');
    process.stdout.write(`  op logs after: ${after.map((s) => `${s.replica} ${s.opLogLength}`).join(', ')}\n`);
    process.stdout.write(`  target: writes held < 200 ms with 1M ops of history\n`);
  } finally {
    await stop();
  }
}

main().catch((e) => {
  process.stderr.write(`freeze benchmark failed: ${(e as Error)?.stack ?? e}\n`);
  process.exit(1);
});
