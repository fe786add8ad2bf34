import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Prng } from '#simulation/prng';
import { runChecks, type Check } from './checker';
import { FaultCluster, sleep, type Reply } from './fault-cluster';
import { FaultRunner } from './fault-runner';
import { Ledger } from './ledger';
import { ProgressMonitor } from './progress-monitor';
import { formatReport } from './report';
import { RoundDriver, RoundLog } from './rounds';
import { networkLabUnavailable, NetworkLab } from '#testing';
import { describeStep, faultSchedule, FAULT_KINDS, firstSteps, NETWORK_KINDS, parseKinds } from './schedule';
import { Writers } from './writers';

/**
 * The real-process fault suite (build first: `npm run build`). A three-node NATS
 * cluster, three replica processes and two coordinators run while clients write
 * continuously and rounds run every few seconds; a seeded schedule crashes replicas,
 * NATS nodes and the leading coordinator, and stops replicas long enough to miss a round.
 * At the end everything is healed and the cluster must converge with every acknowledged
 * write counted exactly once. See README.md beside this file.
 *
 * FAULT_SEED=<n> replays a schedule; FAULTS_DURATION_S=<s> sets the fault time (75 s by
 * default), FAULTS_FULL=1 makes it 600 s; FAULTS_KINDS=kill-replica,kill-nats,... limits the
 * kinds of fault; FAULTS_KEEP_LOGS=1 keeps the logs of a passing run.
 */

const DEFAULT_SEED = 20_260_101;
const SEED = readInt('FAULT_SEED', DEFAULT_SEED);
const FULL = process.env.FAULTS_FULL === '1' || process.env.FAULTS_FULL === 'true';
const FAULT_S = readInt('FAULTS_DURATION_S', FULL ? 600 : 75);
const KEEP_LOGS = process.env.FAULTS_KEEP_LOGS === '1';
/** Real partitions need network namespaces (root); elsewhere the network kinds are left out, and the report says why. */
const NO_LAB = process.env.FAULTS_NO_NETNS === '1' ? 'FAULTS_NO_NETNS=1' : networkLabUnavailable();
const KINDS = parseKinds(process.env.FAULTS_KINDS).filter((k) => NO_LAB === undefined || !NETWORK_KINDS.includes(k));
const REPLICAS = ['r1', 'r2', 'r3'];
const COORDINATORS = ['c1', 'c2'];
/** Writes continue this long after the last fault is healed, with rounds running. */
const CLEAN_TAIL_MS = 4_000;
/** Bound of the wait for convergence once writes stop. */
const CONVERGE_MS = FAULT_S > 120 ? 180_000 : 60_000;
/** Bound of the attempts at a final committed round. */
const FINAL_ROUND_MS = 60_000;

function readInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
  return n;
}

function sortedVector(v: unknown): string {
  if (!v || typeof v !== 'object') return JSON.stringify(v);
  return JSON.stringify(Object.fromEntries(Object.entries(v as Record<string, number>).filter(([, n]) => n !== 0).sort(([a], [b]) => (a < b ? -1 : 1))));
}

/** Waits until every replica reports Work, nothing waiting, an empty outbox and the same applied vector. */
async function converge(cluster: FaultCluster, ids: readonly string[], timeoutMs: number): Promise<{ ok: boolean; ms: number; statuses: Reply[] }> {
  const start = Date.now();
  let statuses: Reply[] = [];
  while (Date.now() - start < timeoutMs) {
    statuses = await Promise.all(ids.map((id) => cluster.status(id).catch((e: unknown) => ({ ok: false, error: { code: 'NO_REPLY', message: String(e) } }) as Reply)));
    const ready = statuses.every((s) => s.ok && s.mode === 'Work' && s.waiting === 0 && s.outboxDepth === 0);
    const vectors = new Set(statuses.map((s) => sortedVector(s.applied)));
    if (ready && vectors.size === 1) return { ok: true, ms: Date.now() - start, statuses };
    await sleep(250);
  }
  return { ok: false, ms: Date.now() - start, statuses };
}

function summarizeStatuses(statuses: readonly Reply[]): string {
  return statuses.map((s) => (s.ok ? `${s.replica}: mode ${s.mode} applied ${sortedVector(s.applied)} waiting ${s.waiting} outbox ${s.outboxDepth} streamSeq ${s.streamSeq}` : `?: ${JSON.stringify(s.error)}`)).join(' | ');
}

describe('fault suite', () => {
  it(
    'faults - acknowledged writes survive crashes of replicas, NATS nodes and the leader; the cluster converges',
    async () => {
      const t0Ms = Date.now();
      process.stdout.write(`[faults] seed ${SEED} (FAULT_SEED to replay), ${FAULT_S} s of faults, kinds ${KINDS.length === FAULT_KINDS.length ? 'all' : KINDS.join(',')}\n`);
      if (NO_LAB) process.stdout.write(`[faults] no real network partitions (${NO_LAB}): ${NETWORK_KINDS.join(', ')} left out\n`);
      const lab = NO_LAB ? undefined : NetworkLab.create(['h1', 'h2', 'h3']);
      process.stdout.write(`[faults] schedule starts: ${firstSteps(SEED, REPLICAS, 3, 6, KINDS).map(describeStep).join('; ')}\n`);
      let cluster: FaultCluster;
      try {
        cluster = await FaultCluster.start(REPLICAS, COORDINATORS, undefined, lab);
      } catch (e) {
        lab?.dispose();
        throw e;
      }
      const startupMs = Date.now() - t0Ms;
      const prng = new Prng(SEED);
      const ledger = new Ledger();
      const roundLog = new RoundLog();
      roundLog.listen(cluster.nc);
      const writers = new Writers((id) => cluster.clientFor(id), ledger, REPLICAS, prng.fork('writers'));
      const driver = new RoundDriver(cluster, roundLog, prng.fork('rounds'));
      const runner = new FaultRunner(cluster, driver, t0Ms);
      const progress = new ProgressMonitor(cluster);
      const problems: string[] = [];
      const observations: string[] = [];
      let checks: Check[] = [];
      let convergence = 'not reached';
      let finalRound = 'none';
      let failed = true;
      try {
        writers.start();
        driver.start();
        progress.start();
        await sleep(2_000);

        // Faults, one after another, until the time is up.
        const faultsStartMs = Date.now();
        const schedule = faultSchedule(SEED, REPLICAS, cluster.nats.nodes.length, KINDS);
        while (Date.now() - faultsStartMs < FAULT_S * 1000) await runner.run(schedule.next().value);

        const healed = await cluster.healAll();
        if (healed.done.length > 0) problems.push(`after the last fault something was still down: ${healed.done.join(', ')}`);
        problems.push(...healed.failed);
        const lastFaultHealedMs = Date.now();
        // A replica that cannot be brought back is a failure of its own (above); the checks run on the others.
        const live = cluster.liveReplicas();
        if (live.length < REPLICAS.length) problems.push(`only ${live.join(', ') || 'no replica'} could be checked: the others did not come back`);
        await sleep(CLEAN_TAIL_MS);
        await writers.stop();
        await driver.stop();

        const first = await converge(cluster, live, CONVERGE_MS);
        // Kept on until here so that a stall that delays convergence shows in the report.
        await progress.stop();
        convergence = first.ok ? `reached ${first.ms} ms after the writers stopped` : `NOT reached within ${CONVERGE_MS} ms: ${summarizeStatuses(first.statuses)}`;
        if (!first.ok) problems.push(`the replicas did not converge within ${CONVERGE_MS} ms after the writers stopped: ${summarizeStatuses(first.statuses)}`);

        // A final round, which must commit now that nothing is broken.
        const finalStart = Date.now();
        while (Date.now() - finalStart < FINAL_ROUND_MS) {
          const { record, outcome } = await driver.syncOnce();
          if (record?.outcome === 'committed') {
            finalRound = `${record.epoch}/${record.round} committed ${Date.now() - finalStart} ms after the first attempt`;
            break;
          }
          finalRound = `not committed: last attempt ${outcome}${record?.reason ? ` (${record.reason})` : ''}`;
          await sleep(1_000);
        }
        const second = await converge(cluster, live, 30_000);
        if (!second.ok) problems.push(`the replicas did not converge after the final round: ${summarizeStatuses(second.statuses)}`);
        convergence += `; after the final round: ${summarizeStatuses(second.statuses)}`;

        // Read every key on every replica.
        const values = new Map<string, Map<string, unknown>>();
        const lastRounds = new Map<string, { epoch: number; round: number } | undefined>();
        for (const id of live) {
          const m = new Map<string, unknown>();
          for (const { key } of ledger.keys()) {
            const r = await cluster.get(id, key).catch((e: unknown) => ({ ok: false, error: { code: 'NO_REPLY', message: String(e) } }) as Reply);
            if (r.ok) m.set(key, r.value);
            else if (r.error?.code !== 'NOT_FOUND') problems.push(`get ${key} at ${id} failed: ${JSON.stringify(r.error)}`);
          }
          values.set(id, m);
          const s = second.statuses.find((x) => x.replica === id);
          lastRounds.set(id, s?.ok ? (s.lastRound as { epoch: number; round: number }) : undefined);
        }

        // What the logs say.
        problems.push(...cluster.unexpectedExits());
        const coordinatorLines = cluster.logLines('coordinator');
        const replicaLines = cluster.logLines('replica');
        const mismatchLogLines = coordinatorLines.filter((l) => l.line.includes('DIGEST MISMATCH')).map((l) => `${l.process}: ${l.line}`);
        for (const l of replicaLines) {
          if (/applied more than the cut|refused an invalid event|own event refused|fatal/.test(l.line)) problems.push(`${l.process}: ${l.line.slice(0, 400)}`);
        }
        const errorsByMsg = (lines: { process: string; line: string }[]) =>
          lines.filter((l) => l.line.includes('"level":"error"')).map((l) => `${l.process.replace(/-\d+$/, '')}: ${/"msg":"([^"]*)"/.exec(l.line)?.[1] ?? l.line.slice(0, 80)}`);
        const errors = [...errorsByMsg(replicaLines), ...errorsByMsg(coordinatorLines)];
        if (errors.length > 0) observations.push(`error-level log lines: ${tallyLines(errors)}`);
        const notable = replicaLines
          .map((l) => /"msg":"(re-joining from the cluster snapshot|stream reset[^"]*|op stream came back shorter[^"]*|op stream was recreated|freeze lease expired[^"]*|causal buffer full[^"]*|joined from snapshot)"/.exec(l.line)?.[1])
          .filter((m): m is string => m !== undefined);
        if (notable.length > 0) observations.push(`replica events: ${tallyLines(notable)}`);

        if (live.length > 0) checks = runChecks(ledger, { replicaIds: live, values, rounds: roundLog.all(), mismatchLogLines, lastFaultHealedMs, lastRounds });
        problems.push(...runner.records.flatMap((r) => r.problems));
        failed = problems.length > 0 || checks.some((c) => !c.ok);
      } finally {
        await writers.stop();
        await driver.stop();
        await progress.stop();
        roundLog.close();
        const report = formatReport({
          seed: SEED,
          faultSeconds: FAULT_S,
          kinds: KINDS,
          t0Ms,
          startupMs,
          faults: runner.records,
          rounds: roundLog.all(),
          syncs: driver.attempts,
          cutDiagnoses: driver.diagnoses,
          stalls: progress.stalls,
          ledger,
          convergence,
          finalRound,
          checks,
          problems,
          observations,
          logDir: `${cluster.dir.path}${failed || KEEP_LOGS ? ' (kept)' : ' (removed after a passing run; FAULTS_KEEP_LOGS=1 keeps it)'}`,
        });
        process.stdout.write(`\n${report}\n\n`);
        writeFileSync(join(cluster.dir.path, 'report.txt'), report + '\n');
        await cluster.dispose(failed || KEEP_LOGS);
        lab?.dispose();
      }
      expect({ problems, failedChecks: checks.filter((c) => !c.ok) }).toEqual({ problems: [], failedChecks: [] });
    },
    FAULT_S * 1000 + 200_000,
  );
});

function tallyLines(items: readonly string[]): string {
  const m = new Map<string, number>();
  for (const i of items) m.set(i, (m.get(i) ?? 0) + 1);
  return [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, 20).map(([k, n]) => `${k} ×${n}`).join(', ');
}
