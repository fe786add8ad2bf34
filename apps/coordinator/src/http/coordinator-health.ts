import { runHealthChecks, within, type HealthIndicator, type HealthReply } from '#runtime';
import type { CoordinatorRuntime } from '../coordinator-runtime';

/** Each readiness check's bound. */
export const READY_CHECK_TIMEOUT_MS = 2_000;

/**
 * The coordinator's readiness: started (it has looked at the lease, so it knows whether it
 * leads), connected to NATS (a ping answers) and its lease bucket reachable (a read
 * answers). A standby is ready too: it is there to take over.
 */
export function coordinatorReadiness(runtime: () => CoordinatorRuntime | undefined, timeoutMs = READY_CHECK_TIMEOUT_MS): () => Promise<HealthReply> {
  return () => {
    const r = runtime();
    return runHealthChecks(
      [
        ['coordinator', (): HealthIndicator => (r ? { status: 'up', coordinator: r.coordinator.id, role: r.coordinator.isLeader() ? 'leader' : 'standby' } : { status: 'down', reason: 'starting: connecting to NATS and opening the lease bucket' })],
        [
          'nats',
          async (): Promise<HealthIndicator> => {
            if (r!.nc.isClosed()) return { status: 'down', reason: 'the NATS connection is closed' };
            return { status: 'up', server: r!.nc.getServer(), rttMs: await within(r!.nc.rtt(), timeoutMs, 'NATS ping') };
          },
        ],
        ['bucket', async (): Promise<HealthIndicator> => ({ status: 'up', leaseRevision: (await within(r!.lease.read(), timeoutMs, 'lease bucket read'))?.revision ?? 0 })],
      ],
      timeoutMs,
    );
  };
}
