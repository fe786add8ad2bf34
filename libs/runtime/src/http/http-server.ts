import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A tiny HTTP server for health, metrics and the dashboard (issue 9): GET routes only, by
 * exact path, no request bodies. Node's http module keeps the apps free of an HTTP
 * framework (@nestjs/platform-express is not a dependency); each app's routes are a thin
 * adapter over its runtime, in apps/<app>/src/http/.
 */

/** One route's handler: writes the whole response (or keeps it open, for Server-Sent Events). */
export type RouteHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => void | Promise<void>;

/** Routes by exact path (`/health/ready`); every route answers GET (and HEAD) only. */
export type Routes = Readonly<Record<string, RouteHandler>>;

/** Limits of the HTTP server. */
export interface HttpServerLimits {
  /** Open connections at most (SSE clients included); more are refused by the kernel queue. */
  readonly connectionsMax: number;
  /** A request's headers must arrive within this. */
  readonly headersTimeoutMs: number;
  /** A request must be answered within this (SSE routes clear it on their socket). */
  readonly requestTimeoutMs: number;
}

/** Defaults: enough for a few operators and a scraper, bounded against a flood. */
export const DEFAULT_HTTP_LIMITS: HttpServerLimits = { connectionsMax: 64, headersTimeoutMs: 10_000, requestTimeoutMs: 30_000 };

/** A listening server. */
export interface HttpEndpoint {
  /** `http://host:port`, the port the kernel chose when asked for 0. */
  readonly url: string;
  readonly port: number;
  /** Stops listening and closes every connection (SSE streams included). */
  close(): Promise<void>;
}

/** Where to listen. */
export interface HttpListen {
  readonly host: string;
  /** 0: a free port. */
  readonly port: number;
}

/** Writes a JSON response. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Writes a text response with a content type. */
export function sendText(res: ServerResponse, status: number, contentType: string, text: string): void {
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Starts listening; resolves once bound (rejects when the port is taken or not allowed). */
export function startHttpServer(listen: HttpListen, routes: Routes, onError: (e: unknown, path: string) => void, limits: HttpServerLimits = DEFAULT_HTTP_LIMITS): Promise<HttpEndpoint> {
  const server: Server = createServer((req, res) => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      return sendJson(res, 400, { ok: false, error: { code: 'BAD_REQUEST', message: 'the request target is not a URL path' } });
    }
    const handler = routes[url.pathname];
    if (!handler) return sendJson(res, 404, { ok: false, error: { code: 'NOT_FOUND', message: `no route ${url.pathname}; routes: ${Object.keys(routes).join(', ')}` } });
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return sendJson(res, 405, { ok: false, error: { code: 'METHOD_NOT_ALLOWED', message: `${url.pathname} answers GET only` } });
    }
    Promise.resolve()
      .then(() => handler(req, res, url))
      .catch((e: unknown) => {
        onError(e, url.pathname);
        if (!res.headersSent) sendJson(res, 500, { ok: false, error: { code: 'INTERNAL', message: String((e as Error)?.message ?? e) } });
        else res.destroy();
      });
  });
  server.maxConnections = limits.connectionsMax;
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.removeListener('error', reject);
      const port = (server.address() as AddressInfo).port;
      const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
      resolve({
        url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`,
        port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
