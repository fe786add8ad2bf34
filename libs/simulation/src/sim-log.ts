import type { LogPort } from '#replication/ports';

/** Log lines a process wrote at level `error`, handed to whoever judges them. */
export type ErrorLogHandler = (msg: string, fields: Record<string, unknown> | undefined) => void;

/**
 * A process's log port: every line goes to the trace (so a failing seed shows what each
 * process said), and `error` lines are also handed to the monitor, because in this
 * codebase an error log means something went wrong that should not have.
 */
export class SimLog implements LogPort {
  constructor(
    private readonly name: string,
    private readonly write: (line: string) => void,
    private readonly onError: ErrorLogHandler,
    /** Warnings that carry a stable `code` field (counted for the report). */
    private readonly onCode?: (code: string) => void,
  ) {}

  info(msg: string, fields?: Record<string, unknown>): void {
    this.write(`${this.name} info ${msg}${fieldsText(fields)}`);
  }

  warn(msg: string, fields?: Record<string, unknown>): void {
    this.write(`${this.name} warn ${msg}${fieldsText(fields)}`);
    if (typeof fields?.code === 'string') this.onCode?.(fields.code);
  }

  error(msg: string, fields?: Record<string, unknown>): void {
    this.write(`${this.name} ERROR ${msg}${fieldsText(fields)}`);
    this.onError(msg, fields);
  }
}

function fieldsText(fields: Record<string, unknown> | undefined): string {
  if (!fields || Object.keys(fields).length === 0) return '';
  let text: string;
  try {
    text = JSON.stringify(fields);
  } catch {
    text = '(unprintable fields)';
  }
  return ` ${text.length > 400 ? `${text.slice(0, 400)}...` : text}`;
}
