import { healthReply, type HealthReply } from './health';
import { sendJson, sendText, type Routes } from './http-server';

/** What the health and metrics routes read. */
export interface OpsSources {
  /** The readiness checks' reply (bounded by the caller's checks). */
  ready(): Promise<HealthReply>;
  /** The Prometheus text exposition and its content type. */
  readonly metrics: { text(): Promise<string>; readonly contentType: string };
}

/**
 * `GET /health/live` (200 while the process answers at all), `GET /health/ready` (200 when
 * every check is up, else 503 with the checks that are down) and `GET /metrics`.
 */
export function opsRoutes(sources: OpsSources): Routes {
  const startedMs = Date.now();
  return {
    '/health/live': (_req, res) => sendJson(res, 200, healthReply({ process: { status: 'up', pid: process.pid, uptimeSeconds: Math.round((Date.now() - startedMs) / 1000) } })),
    '/health/ready': async (_req, res) => {
      const reply = await sources.ready();
      sendJson(res, reply.status === 'ok' ? 200 : 503, reply);
    },
    '/metrics': async (_req, res) => sendText(res, 200, sources.metrics.contentType, await sources.metrics.text()),
  };
}
