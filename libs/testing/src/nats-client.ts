import { connect, type NatsConnection, type NodeConnectionOptions } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { pollUntil } from './free-port';

/**
 * Client helpers for tests: connect to a test server, send a plain JSON request and read
 * the JSON reply, and wait for a (clustered) JetStream to be ready.
 */

/** Connects to `url` (one URL or a comma-separated list) with reconnects on, so restarts are survived. */
export function connectClient(url: string, opts: Partial<NodeConnectionOptions> = {}): Promise<NatsConnection> {
  return connect({
    servers: url.split(',').map((s) => s.trim()).filter(Boolean),
    name: 'crdt-test',
    timeout: 5_000,
    reconnectTimeWait: 100,
    maxReconnectAttempts: -1,
    ...opts,
  });
}

/** Sends `body` as JSON to `subject` and returns the parsed JSON reply (rejects on timeout or no responders). */
export async function requestJson<T = Record<string, unknown>>(nc: NatsConnection, subject: string, body: unknown = {}, timeoutMs = 5_000): Promise<T> {
  const msg = await nc.request(subject, JSON.stringify(body), { timeout: timeoutMs });
  return JSON.parse(msg.string()) as T;
}

/**
 * Waits until JetStream answers on this connection (for a cluster: until it has a meta
 * leader). Resolves false after `timeoutMs`.
 */
export async function waitForJetStream(nc: NatsConnection, timeoutMs = 15_000): Promise<boolean> {
  return pollUntil(async () => {
    try {
      const jsm = await jetstreamManager(nc, { timeout: 1_000 });
      await jsm.getAccountInfo();
      return true;
    } catch {
      return false;
    }
  }, timeoutMs, 200);
}
