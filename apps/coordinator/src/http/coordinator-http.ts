import type { LogPort } from '#coordination';
import { subjectsFor } from '#protocol';
import { opsRoutes, startHttpServer, type HttpEndpoint, type HttpSettings } from '#runtime';
import type { CoordinatorInstruments, CoordinatorRuntime } from '../coordinator-runtime';
import { coordinatorReadiness } from './coordinator-health';
import { CoordinatorMetrics } from './coordinator-metrics';
import { dashboard } from './dashboard/dashboard-routes';
import { dashboardState, WriteRate } from './dashboard/dashboard-state';
import { KeyBrowser } from './dashboard/key-browser';

/** The coordinator's health, metrics and dashboard. */
export interface CoordinatorHttp {
  readonly metrics: CoordinatorMetrics;
  readonly instruments: CoordinatorInstruments;
  attach(runtime: CoordinatorRuntime): void;
  readonly endpoint: HttpEndpoint | undefined;
  close(): Promise<void>;
}

/**
 * Starts the HTTP server before the runtime (so `/health/ready` answers 503 while the
 * coordinator connects and looks at the lease): health, metrics, and the dashboard at `/`.
 */
export async function startCoordinatorHttp(settings: HttpSettings | undefined, prefix: string, labels: Record<string, string>, log: LogPort): Promise<CoordinatorHttp> {
  let runtime: CoordinatorRuntime | undefined;
  const status = () => runtime?.coordinator.status();
  const metrics = new CoordinatorMetrics(status, labels);
  const rate = new WriteRate();
  const board = dashboard(
    () => {
      const s = status();
      return s && dashboardState(s, Date.now(), rate);
    },
    new KeyBrowser(() => runtime?.nc, subjectsFor(prefix)),
  );
  const endpoint = settings
    ? await startHttpServer(settings, { ...opsRoutes({ ready: coordinatorReadiness(() => runtime), metrics }), ...board.routes }, (e, path) =>
        log.error('http route failed', { path, error: String((e as Error)?.stack ?? e) }),
      )
    : undefined;
  if (endpoint) log.info('http listening', { http: endpoint.url, dashboard: `${endpoint.url}/` });
  return {
    metrics,
    instruments: { roundDone: (r) => metrics.round(r) },
    attach: (r) => (runtime = r),
    endpoint,
    close: async () => {
      board.close();
      await endpoint?.close();
    },
  };
}
