import type { ServerResponse } from 'node:http';
import { sendJson, sendText, type Routes } from '#runtime';
import { DASHBOARD_HTML } from './dashboard-page';
import { DASHBOARD_JS } from './dashboard-script';
import { DASHBOARD_CSS } from './dashboard-style';
import type { DashboardState } from './dashboard-state';
import { KEYS_LIMIT_MAX, type KeyBrowser } from './key-browser';

/** Limits of the live feed. */
export interface DashboardLimits {
  /** How often the state is pushed to every open page. */
  readonly tickMs: number;
  /** Open Server-Sent Event streams at most; more get 503. */
  readonly streamsMax: number;
}

export const DEFAULT_DASHBOARD_LIMITS: DashboardLimits = { tickMs: 1_000, streamsMax: 16 };

/** The dashboard's routes and its feed's timer. */
export interface Dashboard {
  readonly routes: Routes;
  /** Ends every stream and stops the timer. */
  close(): void;
}

/**
 * The coordinator's live dashboard (issue 9): `/` and its two assets (bundled as string
 * modules, no CDN), `/api/state` (one snapshot), `/api/events` (Server-Sent Events, one
 * `state` event per tick while anybody watches), `/api/keys?prefix=&limit=` and
 * `/api/key?key=` (the key browser).
 */
export function dashboard(state: () => DashboardState | undefined, keys: KeyBrowser, limits: DashboardLimits = DEFAULT_DASHBOARD_LIMITS): Dashboard {
  const streams = new Set<ServerResponse>();
  let timer: NodeJS.Timeout | undefined;
  const push = () => {
    const s = state();
    if (!s) return;
    const frame = `event: state\ndata: ${JSON.stringify(s)}\n\n`;
    for (const res of streams) res.write(frame);
  };
  const asset = (type: string, text: string) => (_req: unknown, res: ServerResponse) => sendText(res, 200, type, text);
  return {
    routes: {
      '/': asset('text/html; charset=utf-8', DASHBOARD_HTML),
      '/dashboard.css': asset('text/css; charset=utf-8', DASHBOARD_CSS),
      '/dashboard.js': asset('text/javascript; charset=utf-8', DASHBOARD_JS),
      '/api/state': (_req, res) => {
        const s = state();
        if (s) sendJson(res, 200, s);
        else sendJson(res, 503, { ok: false, error: { code: 'UNAVAILABLE', message: 'the coordinator is starting' } });
      },
      '/api/events': (req, res) => {
        if (streams.size >= limits.streamsMax) {
          return sendJson(res, 503, { ok: false, error: { code: 'OVERLOADED', message: `${limits.streamsMax} dashboards are open already` } });
        }
        res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive' });
        res.write(`retry: ${limits.tickMs * 2}\n\n`);
        streams.add(res);
        req.socket.setTimeout(0);
        req.on('close', () => {
          streams.delete(res);
          if (streams.size === 0 && timer) {
            clearInterval(timer);
            timer = undefined;
          }
        });
        timer ??= setInterval(push, limits.tickMs);
        push();
      },
      '/api/keys': async (_req, res, url) => {
        const limit = Number(url.searchParams.get('limit') ?? KEYS_LIMIT_MAX);
        sendJson(res, 200, await keys.keys(url.searchParams.get('prefix') ?? '', limit));
      },
      '/api/key': async (_req, res, url) => sendJson(res, 200, await keys.key(url.searchParams.get('key') ?? '')),
    },
    close() {
      if (timer) clearInterval(timer);
      timer = undefined;
      for (const res of streams) res.end();
      streams.clear();
    },
  };
}
