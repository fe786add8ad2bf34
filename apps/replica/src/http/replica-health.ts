import { runHealthChecks, within, type HealthIndicator, type HealthReply } from '#runtime';
import type { ReplicaRuntime } from '../replica-runtime';

/** Each readiness check's bound. */
export const READY_CHECK_TIMEOUT_MS = 2_000;

/**
 * The replica's readiness: started and caught up (not `Starting`), connected to NATS (a
 * ping answers), and its op stream reachable (the stream's info answers). The runtime is
 * undefined until the store is open and the core has started, which is reported as such.
 */
export function replicaReadiness(runtime: () => ReplicaRuntime | undefined, timeoutMs = READY_CHECK_TIMEOUT_MS): () => Promise<HealthReply> {
  return () => {
    const r = runtime();
    return runHealthChecks(
      [
        ['replica', () => replicaCheck(r)],
        ['nats', () => natsCheck(r!, timeoutMs)],
        ['stream', async (): Promise<HealthIndicator> => ({ status: 'up', lastSeq: await within(r!.stream.lastSeq(), timeoutMs, 'op stream info') })],
      ],
      timeoutMs,
    );
  };
}

function replicaCheck(r: ReplicaRuntime | undefined): HealthIndicator {
  if (!r) return { status: 'down', reason: 'starting: opening the store, connecting to NATS and loading the state' };
  const mode = r.core.currentMode;
  if (mode === 'Starting') return { status: 'down', mode, reason: 'catching up with the op stream' };
  return { status: 'up', replica: r.core.replicaId, mode };
}

async function natsCheck(r: ReplicaRuntime, timeoutMs: number): Promise<HealthIndicator> {
  if (r.nc.isClosed()) return { status: 'down', reason: 'the NATS connection is closed' };
  const rttMs = await within(r.nc.rtt(), timeoutMs, 'NATS ping');
  return { status: 'up', server: r.nc.getServer(), rttMs };
}
