import { connect, type NatsConnection, type NodeConnectionOptions } from '@nats-io/transport-node';
import type { LogPort } from '#replication';

/** Bounds of the first connection's retries (units last). */
export interface NatsConnectLimits {
  /** Give up (reject) when the first connection has not succeeded after this long; 0 = never. */
  readonly waitMsMax: number;
  /** First pause between attempts, doubled per failure... */
  readonly retryMsMin: number;
  /** ...up to this. */
  readonly retryMsMax: number;
}

/** Defaults: keep trying for five minutes (a supervisor restarts the app after that). */
export const DEFAULT_NATS_CONNECT_LIMITS: NatsConnectLimits = { waitMsMax: 300_000, retryMsMin: 250, retryMsMax: 5_000 };

/** NATS could not be reached within the wait. Keeps the last client error as `cause`. */
export class NatsUnreachableError extends Error {
  readonly code = 'NATS_UNREACHABLE';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'NatsUnreachableError';
  }
}

/** Logged reconnect attempts: the first few, then one in this many. */
const RECONNECTING_LOG_EVERY = 20;

/** Splits `NATS_URL` (comma-separated) into servers. */
export function natsServers(url: string): string[] {
  return url
    .split(',')
    .map((u) => u.trim())
    .filter(Boolean);
}

/**
 * Opens the app's NATS connection. The first connection is retried here rather than by the
 * client's `waitOnFirstConnect`, which retries silently: every failed attempt is logged
 * with its number, the error and the next pause, so an app pointed at a dead server says
 * so. Once connected, the client reconnects on its own forever; disconnects, reconnects
 * and every `RECONNECTING_LOG_EVERY`-th reconnect attempt are logged.
 *
 * `opts` are passed to the client as they are (servers, name, credentials, TLS...).
 */
export async function connectNats(opts: NodeConnectionOptions, log: LogPort, limits: NatsConnectLimits = DEFAULT_NATS_CONNECT_LIMITS): Promise<NatsConnection> {
  const servers = Array.isArray(opts.servers) ? opts.servers.join(',') : String(opts.servers ?? '');
  const startMs = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      // noAsyncTraces: nats.js otherwise makes an Error (a stack capture) for every request
      // up front, to name the caller should it fail: one per JetStream publish on the write
      // path (3.3% of a replica's time at one client, issue 11 profile). Failures still
      // carry their message and code.
      const nc = await connect({ maxReconnectAttempts: -1, reconnectTimeWait: 250, noAsyncTraces: true, ...opts, waitOnFirstConnect: false });
      if (attempt > 1) log.info('NATS reachable', { nats: servers, attempts: attempt });
      void watchStatus(nc, servers, log);
      return nc;
    } catch (e) {
      const error = String((e as Error)?.message ?? e);
      const retryInMs = Math.min(limits.retryMsMin * 2 ** Math.min(attempt - 1, 20), limits.retryMsMax);
      if (limits.waitMsMax > 0 && Date.now() - startMs + retryInMs > limits.waitMsMax) {
        throw new NatsUnreachableError(`NATS at ${servers} unreachable after ${attempt} attempts in ${Date.now() - startMs} ms: ${error}`, { cause: e });
      }
      log.warn('NATS unreachable; retrying', { nats: servers, attempt, error, retryInMs });
      await new Promise((r) => setTimeout(r, retryInMs));
    }
  }
}

async function watchStatus(nc: NatsConnection, servers: string, log: LogPort): Promise<void> {
  let reconnecting = 0;
  for await (const s of nc.status()) {
    if (s.type === 'disconnect') {
      reconnecting = 0;
      log.warn('NATS connection lost; reconnecting', { server: s.server });
    } else if (s.type === 'reconnecting') {
      reconnecting++;
      if (reconnecting <= 3 || reconnecting % RECONNECTING_LOG_EVERY === 0) log.warn('NATS unreachable; still reconnecting', { nats: servers, attempt: reconnecting });
    } else if (s.type === 'reconnect') {
      log.info('NATS reconnected', { server: s.server, attempts: reconnecting });
      reconnecting = 0;
    } else if (s.type === 'error') {
      log.warn('NATS error', { error: String(s.error?.message ?? s.error) });
    }
  }
}
