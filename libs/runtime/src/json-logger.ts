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

/**
 * The framework's own log lines (NestJS's `LoggerService` shape: message, then optional
 * params whose last string is the context) as JSON lines too, so an app's output is JSON
 * and nothing else. Its `log` lines ("Starting Nest application...") and debug and verbose
 * lines are dropped: only its warnings and errors say something an operator needs.
 */
export function frameworkJsonLogger(base: Record<string, unknown>, opts: JsonLoggerOptions = {}) {
  const log = jsonLogger(base, opts);
  const fields = (params: unknown[]): Record<string, unknown> => {
    const f: Record<string, unknown> = {};
    const last = params[params.length - 1];
    if (typeof last === 'string') f.context = last;
    const stack = params.length > 1 ? params[0] : undefined;
    if (typeof stack === 'string' && stack.includes('\n')) f.stack = stack;
    return f;
  };
  const text = (m: unknown) => (m instanceof Error ? (m.stack ?? m.message) : typeof m === 'string' ? m : JSON.stringify(m));
  return {
    log: (_message: unknown, ..._params: unknown[]) => undefined,
    warn: (m: unknown, ...p: unknown[]) => log.warn(text(m), fields(p)),
    error: (m: unknown, ...p: unknown[]) => log.error(text(m), fields(p)),
    fatal: (m: unknown, ...p: unknown[]) => log.error(text(m), fields(p)),
    debug: () => undefined,
    verbose: () => undefined,
  };
}
