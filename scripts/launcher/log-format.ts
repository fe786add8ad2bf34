/**
 * How the launcher shows its children's output: one line per log line, prefixed with the
 * child's name. JSON log lines ({"level","msg",...}) become `LEVEL msg key=value ...`;
 * nats-server's `[pid] date time [INF] text` loses its pid and date. Pure, for tests.
 */

/** Options of `formatChildLine`. */
export interface LineFormat {
  /** Width the name column is padded to. */
  readonly nameWidth: number;
  /** ANSI colour code for the name (e.g. 36 for cyan), or undefined for none. */
  readonly color?: number;
  /** Keep JSON lines as they are (LOG_FORMAT=json). */
  readonly raw?: boolean;
}

/** Fields the pretty form leaves out (the level and message have their own place). */
const HIDDEN_FIELDS = new Set(['level', 'msg', 'message', 't', 'time', 'ts', 'timestamp', 'pid', 'hostname']);

/** nats-server's log prefix: `[pid] yyyy/mm/dd hh:mm:ss.micro [LVL] `. */
const NATS_LINE = /^\[\d+\] \d{4}\/\d\d\/\d\d (\d\d:\d\d:\d\d)\.\d+ \[(\w+)\] (.*)$/;

/** One child line, prefixed and (unless raw) made readable. */
export function formatChildLine(name: string, line: string, fmt: LineFormat): string {
  const label = name.padEnd(fmt.nameWidth);
  const prefix = fmt.color !== undefined ? `\x1b[${fmt.color}m${label}\x1b[0m | ` : `${label} | `;
  return prefix + (fmt.raw ? line : prettyLine(line));
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
