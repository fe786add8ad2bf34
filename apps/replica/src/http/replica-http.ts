import type { LogPort } from '#replication';
import { opsRoutes, startHttpServer, type HttpEndpoint, type HttpSettings } from '#runtime';
import type { ReplicaInstruments, ReplicaRuntime } from '../replica-runtime';
import { replicaReadiness } from './replica-health';
import { ReplicaMetrics, type ReplicaFigures } from './replica-metrics';
import { timeCommits } from './timed-store';
import { within } from '#runtime';

/** How long a scrape waits for the stream's last sequence (the lag gauge is absent past it). */
const STREAM_INFO_TIMEOUT_MS = 1_000;

/** The replica's health and metrics: the hooks to give the runtime, and the server. */
export interface ReplicaHttp {
  readonly metrics: ReplicaMetrics;
  readonly instruments: ReplicaInstruments;
  /** The runtime, once it exists (readiness and the gauges read it). */
  attach(runtime: ReplicaRuntime): void;
  /** The server, when HTTP_PORT is set. */
  readonly endpoint: HttpEndpoint | undefined;
  close(): Promise<void>;
}

/** Reads a running replica's figures for a scrape. */
export async function readReplicaFigures(r: ReplicaRuntime): Promise<ReplicaFigures> {
  const st = r.core.status();
  const lastSeq = await within(r.stream.lastSeq(), STREAM_INFO_TIMEOUT_MS, 'op stream info').catch(() => undefined);
  return {
    mode: r.core.currentMode,
    streamSeq: r.core.consumedSeq(),
    streamLastSeq: lastSeq,
    causalBufferEvents: Number(st.waiting),
    outboxEvents: r.core.outboxDepth,
    opLogRows: r.store.opLogLength(),
    heldWrites: Number(st.heldWrites),
    keys: Number(st.keys),
  };
}

/**
 * Starts the HTTP server before the runtime (so `/health/ready` answers 503 while the
 * replica opens its store and catches up), with metrics whose hooks the runtime binds.
 */
export async function startReplicaHttp(settings: HttpSettings | undefined, labels: Record<string, string>, log: LogPort): Promise<ReplicaHttp> {
  let runtime: ReplicaRuntime | undefined;
  const metrics = new ReplicaMetrics(async () => (runtime ? readReplicaFigures(runtime) : undefined), labels);
  const endpoint = settings
    ? await startHttpServer(settings, opsRoutes({ ready: replicaReadiness(() => runtime), metrics }), (e, path) => log.error('http route failed', { path, error: String((e as Error)?.stack ?? e) }))
    : undefined;
  if (endpoint) log.info('http listening', { http: endpoint.url });
  return {
    metrics,
    instruments: { observer: metrics.observer, wrapStore: (s) => timeCommits(s, (n, sec) => metrics.commit(n, sec)) },
    attach: (r) => (runtime = r),
    endpoint,
    close: async () => endpoint?.close(),
  };
}
