import { join } from 'node:path';
import type { BenchCluster } from '../cluster/bench-cluster';
import { PROFILE_SIGNAL } from '../cluster/profile-signal';
import { measureConcurrent, type ConcurrentResult } from './concurrent-requests';
import { summarizeProfile, type ProfileSummary } from './profile-summary';

/**
 * A CPU profile of the update path: replica `id` is restarted on its data dir with the
 * profiler preloaded (bench/cluster/cpu-profile-preload), a first profile covering its
 * start is written and dropped, then a steady closed-loop `update` load (ack local) runs
 * and the profile of just that load is written and summarised. Last in a run: the
 * profiler slows the replica, so nothing else is measured while it runs.
 */

/** Options of `profileUpdatePath`. */
export interface UpdateProfileOptions {
  readonly id: string;
  /** The replica the load is sent to (default `id`): another one profiles how \`id\` applies what it reads from the stream. */
  readonly loadId?: string;
  readonly dir: string;
  readonly concurrency: number;
  readonly durationMs: number;
  readonly top: number;
  readonly startWaitMs: number;
}

/** What the profiled run found. */
export interface UpdateProfileResult {
  readonly load: ConcurrentResult;
  readonly summary: ProfileSummary;
}

const WRITE_WAIT_MS = 20_000;

/** Restarts the replica under the profiler, loads it, and summarises the profile. */
export async function profileUpdatePath(cluster: BenchCluster, distRoot: string, o: UpdateProfileOptions): Promise<UpdateProfileResult> {
  await cluster.replicas.get(o.id)?.stop(10_000);
  const app = await cluster.harness.startReplica(o.id, { BENCH_CPU_PROFILE_DIR: o.dir }, o.startWaitMs, {
    name: `${o.id}-profiled`,
    nodeArgs: ['-r', join(distRoot, 'bench', 'cluster', 'cpu-profile-preload.js')],
  });
  const write = async (): Promise<string> => {
    const since = app.lineCount();
    app.kill(PROFILE_SIGNAL);
    const line = await app.waitForLog((l) => l.msg === 'cpu profile written', WRITE_WAIT_MS, since);
    return String(line.file);
  };
  await write(); // the start: not part of the update path
  const body = { key: 'profile.counter', type: 'pn-counter', op: { type: 'increment' } };
  const load = await measureConcurrent(cluster.nc, {
    subject: `crdt.replica.${o.loadId ?? o.id}.update`,
    body: () => body,
    concurrency: o.concurrency,
    durationMs: o.durationMs,
    warmupMs: 0,
    accept: (r) => r.ok === true,
  });
  const file = await write();
  return { load, summary: summarizeProfile(file, o.top) };
}
