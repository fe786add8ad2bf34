import type { BenchCluster } from '../cluster/bench-cluster';
import { CpuMeter } from '../cluster/cpu-usage';
import type { ConcurrentResult } from './concurrent-requests';

/**
 * CPU milliseconds each process spent per answered request over a closed-loop point:
 * every replica, the helpers (the echo responder), nats-server and the client. On two
 * cores shared by all of them, the sum bounds the rate: no load can answer more than
 * `cores x 1000 / total` requests a second at that cost, whatever the latency. Read from
 * /proc (Linux); absent elsewhere.
 */
export interface CpuPerRequest {
  /** Process name to CPU ms per request (processes that used none are kept, as 0). */
  readonly msByProcess: Record<string, number>;
  readonly totalMs: number;
  /** The rate the machine's cores could serve at this cost: cores x 1000 / totalMs. */
  readonly cpuBoundPerSec: number;
}

/** Runs `measure` with a CPU meter around it and divides each process's CPU time by the answered requests. */
export async function withCpuPerRequest<R extends ConcurrentResult>(
  cluster: BenchCluster,
  cores: number,
  measure: () => Promise<R>,
): Promise<R & { cpu?: CpuPerRequest }> {
  const meter = new CpuMeter(cluster.pids());
  const r = await measure();
  const used = meter.used();
  if (r.answeredAll <= 0 || Object.keys(used).length === 0) return r;
  const msByProcess = Object.fromEntries(Object.entries(used).map(([k, sec]) => [k, (sec * 1000) / r.answeredAll]));
  const totalMs = Object.values(msByProcess).reduce((a, b) => a + b, 0);
  return { ...r, cpu: { msByProcess, totalMs, cpuBoundPerSec: totalMs > 0 ? (cores * 1000) / totalMs : 0 } };
}
