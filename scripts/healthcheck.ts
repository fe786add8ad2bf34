/**
 * The container healthcheck of the replica and the coordinator (docker-compose.yml): asks the
 * app's own HTTP server for `/health/ready` (or the path given as the first argument) on
 * 127.0.0.1:$HTTP_PORT and exits 0 on a 200, 1 otherwise. The reply body goes to stdout,
 * so `docker inspect --format '{{json .State.Health}}' <container>` shows why an app is
 * not ready. Node itself rather than curl: the `node:*-slim` images have no curl.
 *
 *   node dist/scripts/healthcheck.js [/health/ready]
 */
import { request } from 'node:http';

const TIMEOUT_MS = 3_000;
/** Bound of the reply body kept for the output (a health reply is a few hundred bytes). */
const BODY_MAX = 4_096;

const port = Number(process.env.HTTP_PORT);
const path = process.argv[2] ?? '/health/ready';
if (!Number.isSafeInteger(port) || port <= 0 || port > 65_535) {
  process.stdout.write(`healthcheck: HTTP_PORT must be the app's fixed HTTP port, got ${JSON.stringify(process.env.HTTP_PORT)}\n`);
  process.exit(1);
}

const req = request({ host: '127.0.0.1', port, path, method: 'GET', timeout: TIMEOUT_MS }, (res) => {
  let body = '';
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => {
    if (body.length < BODY_MAX) body += chunk.slice(0, BODY_MAX - body.length);
  });
  res.on('end', () => {
    process.stdout.write(`${res.statusCode} ${body}\n`);
    process.exit(res.statusCode === 200 ? 0 : 1);
  });
});
req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)));
req.on('error', (e) => {
  process.stdout.write(`healthcheck: GET http://127.0.0.1:${port}${path}: ${e.message}\n`);
  process.exit(1);
});
req.end();
