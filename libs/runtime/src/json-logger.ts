import type { LogPort } from '#replication';

/** Log levels, least severe first (`LOG_LEVEL`). */
export const LOG_LEVELS = ['info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Options of `jsonLogger`. */
export interface JsonLoggerOptions {
  /** Lines below this level are dropped (default info: everything). */
  readonly level?: LogLevel;
  /** Where lines go (default process.stdout). */
  readonly write?: (line: string) => void;
}

/**
 * Reads `LOG_LEVEL` (info, warn or error; default info); throws naming the variable when
 * it holds anything else.
 */
export function readLogLevel(env: NodeJS.ProcessEnv = process.env): LogLevel {
  const raw = (env.LOG_LEVEL ?? '').trim().toLowerCase();
  if (raw === '') return 'info';
  if ((LOG_LEVELS as readonly string[]).includes(raw)) return raw as LogLevel;
  throw new Error(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(env.LOG_LEVEL)}`);
}

/** JSON-lines logging to stdout: one object a line, easy to grep, to pipe to `jq` and to parse in tests. */
export function jsonLogger(base: Record<string, unknown>, opts: JsonLoggerOptions = {}): LogPort & { with(fields: Record<string, unknown>): LogPort } {
  const min = LOG_LEVELS.indexOf(opts.level ?? 'info');
  const write = opts.write ?? ((l: string) => void process.stdout.write(l));
  const line = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (LOG_LEVELS.indexOf(level) >= min) write(JSON.stringify({ t: new Date().toISOString(), level, msg, ...base, ...fields }) + '\n');
  };
  return {
    info: (msg, fields) => line('info', msg, fields),
    warn: (msg, fields) => line('warn', msg, fields),
    error: (msg, fields) => line('error', msg, fields),
    with: (fields) => jsonLogger({ ...base, ...fields }, opts),
  };
}
