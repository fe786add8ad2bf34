import type { LogPort } from '#replication';

/** JSON-lines logging to stdout: one object a line, easy to grep and to parse in tests. */
export function jsonLogger(base: Record<string, unknown>): LogPort & { with(fields: Record<string, unknown>): LogPort } {
  const line = (level: string, msg: string, fields?: Record<string, unknown>) =>
    process.stdout.write(JSON.stringify({ t: new Date().toISOString(), level, msg, ...base, ...fields }) + '\n');
  return {
    info: (msg, fields) => line('info', msg, fields),
    warn: (msg, fields) => line('warn', msg, fields),
    error: (msg, fields) => line('error', msg, fields),
    with: (fields) => jsonLogger({ ...base, ...fields }),
  };
}
