import type { LogPort } from '#replication/ports';

/*
 * Imported by path (`#testing/capturing-log`), not through `#testing`: the pure cores' specs
 * use it, and the index would load nats-server and child-process helpers with it. Keep this
 * file free of imports other than types.
 */

/** One captured log line; `fields` is `{}` when the caller gave none. */
export interface LogLine {
  readonly level: 'info' | 'warn' | 'error';
  readonly msg: string;
  readonly fields: Record<string, unknown>;
}

/** A log port that keeps every line, in order, for assertions. */
export class CapturingLog implements LogPort {
  readonly lines: LogLine[] = [];

  info(msg: string, fields: Record<string, unknown> = {}): void {
    this.lines.push({ level: 'info', msg, fields });
  }

  warn(msg: string, fields: Record<string, unknown> = {}): void {
    this.lines.push({ level: 'warn', msg, fields });
  }

  error(msg: string, fields: Record<string, unknown> = {}): void {
    this.lines.push({ level: 'error', msg, fields });
  }

  /** Lines at `level`. */
  at(level: LogLine['level']): LogLine[] {
    return this.lines.filter((l) => l.level === level);
  }
}
