import { accessSync, constants, existsSync, readdirSync, readFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { delimiter, join } from 'node:path';

/** Where Debian puts the binary (`apt-get install nats-server`). */
const DEBIAN_BIN = '/usr/sbin/nats-server';

/** How to get nats-server, for the message when it is missing. */
export const NATS_INSTALL_HINT =
  'install it with `apt-get install nats-server` (Debian/Ubuntu), or download the release binary from ' +
  'https://github.com/nats-io/nats-server/releases and put it on PATH (or set NATS_SERVER_BIN to it); ' +
  'or run against a NATS you already have with NATS_URL=nats://host:port npm start';

/** The nats-server binary: `NATS_SERVER_BIN`, /usr/sbin/nats-server, or `nats-server` on PATH; undefined when none. */
export function findNatsServer(env: NodeJS.ProcessEnv): string | undefined {
  const candidates = env.NATS_SERVER_BIN ? [env.NATS_SERVER_BIN] : [DEBIAN_BIN, ...(env.PATH ?? '').split(delimiter).filter(Boolean).map((d) => join(d, 'nats-server'))];
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // next
    }
  }
  return undefined;
}

/** Ports a running nats-server wrote to its ports file (`<exe>_<pid>.ports`), once it has. */
export function readPortsFile(dir: string, pid: number): { client: number; monitoring?: number } | undefined {
  if (!existsSync(dir)) return undefined;
  const name = readdirSync(dir).find((f) => f.endsWith(`_${pid}.ports`));
  if (!name) return undefined;
  try {
    const ports = JSON.parse(readFileSync(join(dir, name), 'utf8')) as { nats?: string[]; monitoring?: string[] };
    const port = (urls: string[] | undefined) => {
      const m = /:(\d+)$/.exec(urls?.[0] ?? '');
      return m ? Number(m[1]) : undefined;
    };
    const client = port(ports.nats);
    return client === undefined ? undefined : { client, monitoring: port(ports.monitoring) };
  } catch {
    return undefined; // still being written
  }
}

/** True when 127.0.0.1:`port` accepts a TCP connection within `timeoutMs`. */
export function portAccepts(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = tcpConnect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('error', () => done(false));
    sock.once('connect', () => done(true));
  });
}
