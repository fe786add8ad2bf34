/**
 * How the launcher shows its children's output. Readable (default): one line per log
 * line, prefixed with the child's name; JSON log lines ({"level","msg",...}) become
 * `LEVEL msg key=value ...`; nats-server's `[pid] date time [INF] text` loses its pid and
 * date. `LOG_FORMAT=json`: nothing but JSON lines, one object each, for `jq` and log
 * shippers; the apps' lines pass as they are, and any other line (nats-server's, a stack
 * trace, the launcher's own) is wrapped in one. Pure, for tests.
 */

/** Options of `formatChildLine`. */
export interface LineFormat {
  /** Width the name column is padded to. */
  readonly nameWidth: number;
  /** ANSI colour code for the name (e.g. 36 for cyan), or undefined for none. */
  readonly color?: number;
}

/** Fields the pretty form leaves out (the level and message have their own place). */
const HIDDEN_FIELDS = new Set(['level', 'msg', 'message', 't', 'time', 'ts', 'timestamp', 'pid', 'hostname']);

/** nats-server's log prefix: `[pid] yyyy/mm/dd hh:mm:ss.micro [LVL] `. */
const NATS_LINE = /^\[\d+\] \d{4}\/\d\d\/\d\d (\d\d:\d\d:\d\d)\.\d+ \[(\w+)\] (.*)$/;

/** One child line, prefixed and (unless raw) made readable. */
export function formatChildLine(name: string, line: string, fmt: LineFormat): string {
  const label = name.padEnd(fmt.nameWidth);
  const prefix = fmt.color !== undefined ? `\x1b[${fmt.color}m${label}\x1b[0m | ` : `${label} | `;
  return prefix + prettyLine(line);
}

/** nats-server's level tags, as the apps' level names. */
const NATS_LEVELS: Readonly<Record<string, string>> = { TRC: 'trace', DBG: 'debug', INF: 'info', WRN: 'warn', ERR: 'error', FTL: 'fatal' };

/** One child line as a JSON line: the line itself when it is a JSON object, else wrapped as `{t, level, msg, app}`. */
export function jsonChildLine(name: string, line: string, nowIso: string): string {
  if (line.startsWith('{')) {
    try {
      const v = JSON.parse(line) as unknown;
      if (typeof v === 'object' && v !== null && !Array.isArray(v)) return line;
    } catch {
      // wrapped below
    }
  }
  const nats = NATS_LINE.exec(line);
  if (nats) return JSON.stringify({ t: nowIso, level: NATS_LEVELS[nats[2]] ?? nats[2].toLowerCase(), msg: nats[3], app: name });
  return JSON.stringify({ t: nowIso, level: 'info', msg: line, app: name });
}

/** The readable form of one log line. */
export function prettyLine(line: string): string {
  const nats = NATS_LINE.exec(line);
  if (nats) return `${nats[2]} ${nats[3]}`;
  if (!line.startsWith('{')) return line;
  let entry: unknown;
  try {
    entry = JSON.parse(line);
  } catch {
    return line;
  }
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return line;
  const e = entry as Record<string, unknown>;
  const level = typeof e.level === 'string' ? e.level.toUpperCase() : typeof e.level === 'number' ? String(e.level) : 'LOG';
  const msg = typeof e.msg === 'string' ? e.msg : typeof e.message === 'string' ? e.message : '';
  const fields = Object.entries(e)
    .filter(([k]) => !HIDDEN_FIELDS.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) && v !== '' ? v : JSON.stringify(v)}`);
  return [level.padEnd(5), msg, ...fields].join(' ').trimEnd();
}

/** True when a line is the app's "ready" log line ({"msg":"ready",...}). */
export function isReadyLine(line: string): boolean {
  if (!line.startsWith('{') || !line.includes('ready')) return false;
  try {
    const e = JSON.parse(line) as { msg?: unknown };
    return e.msg === 'ready';
  } catch {
    return false;
  }
}

/** The HTTP base URL an app's `http listening` line announces (health, metrics, dashboard); undefined for other lines. */
export function httpUrlOfLine(line: string): string | undefined {
  if (!line.startsWith('{') || !line.includes('http listening')) return undefined;
  try {
    const e = JSON.parse(line) as { msg?: unknown; http?: unknown };
    return e.msg === 'http listening' && typeof e.http === 'string' ? e.http : undefined;
  } catch {
    return undefined;
  }
}
