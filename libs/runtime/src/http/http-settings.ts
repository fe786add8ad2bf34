/** Where an app serves HTTP (health, metrics, the coordinator's dashboard). */
export interface HttpSettings {
  readonly host: string;
  /** 0: a free port, printed in the `http listening` log line. */
  readonly port: number;
}

/**
 * Reads `HTTP_PORT` and `HTTP_HOST`. Unset (or empty) `HTTP_PORT` means no HTTP server: a
 * bare app opens no port nobody asked for; `npm start` sets 0 for every app and compose
 * sets a fixed port. `HTTP_HOST` defaults to loopback: the dashboard and metrics carry no
 * credentials, so exposing them is a choice (`0.0.0.0` in a container).
 */
export function readHttpSettings(env: NodeJS.ProcessEnv): HttpSettings | undefined {
  const raw = env.HTTP_PORT;
  if (raw === undefined || raw === '') return undefined;
  const port = Number(raw);
  if (!Number.isSafeInteger(port) || port < 0 || port > 65_535) throw new Error(`HTTP_PORT must be a port number 0-65535 (0: a free port), got ${JSON.stringify(raw)}`);
  const host = env.HTTP_HOST || '127.0.0.1';
  return { host, port };
}
