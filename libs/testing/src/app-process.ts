import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, type WriteStream } from 'node:fs';
import { join, resolve } from 'node:path';
import { trackChild, within } from './child-registry';
import { makeTempDir, type TempDir } from './temp-dir';

/**
 * Real app processes for e2e and fault tests: `node dist/apps/<entry>/src/main.js` with
 * a given environment, its output logged to a file and kept in memory (bounded) so a test
 * can wait for a log line, and signals to crash, stop, pause and resume it.
 */

/** The repository root (this file is libs/testing/src/app-process.ts). */
export const REPO_ROOT = resolve(__dirname, '..', '..', '..');

/** The apps that can be started. */
export type AppEntry = 'replica' | 'coordinator';

/** Lines kept in memory per process; older ones are only in the log file. */
const LINES_MAX = 50_000;
const WAIT_MS_DEFAULT = 15_000;
const STOP_MS_DEFAULT = 10_000;

/** How an app process ended. */
export interface AppExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** Options of `startApp`. */
export interface AppOptions {
  /** Script to run instead of dist/apps/<entry>/src/main.js (for testing this helper). */
  readonly script?: string;
  /** Directory for the log file; a temp dir when absent. */
  readonly logDir?: string;
  /** A name for log lines and errors (default: the entry plus REPLICA_ID or COORDINATOR_ID). */
  readonly name?: string;
  /** Extra node arguments (before the script). */
  readonly nodeArgs?: readonly string[];
  /** A command prefix the process runs under (a network lab's `prefix(host)`; it must exec in place, keeping the pid). */
  readonly wrap?: readonly string[];
}

/** A running (or exited) app process. */
export interface AppHandle {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** Resolves when the process exits. */
  readonly exited: Promise<AppExit>;
  readonly running: boolean;
  /**
   * Resolves with the first line (from the start of the log, or from line index `since`)
   * matching `pattern`; rejects after `timeoutMs` or when the process exits first.
   */
  waitForLine(pattern: RegExp, timeoutMs?: number, since?: number): Promise<string>;
  /** Like `waitForLine` for JSON log lines: the first parsed line for which `match` holds. */
  waitForLog(match: (entry: Record<string, unknown>) => boolean, timeoutMs?: number, since?: number): Promise<Record<string, unknown>>;
  /** Sends a signal (default SIGKILL: a crash). */
  kill(signal?: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL after `timeoutMs`; resolves with the exit. */
  stop(timeoutMs?: number): Promise<AppExit>;
  /** SIGSTOP / SIGCONT. */
  pause(): void;
  resume(): void;
  /** Output lines so far (stdout and stderr interleaved as they arrived; the newest `LINES_MAX`). */
  logs(): string[];
  /** Number of lines seen so far (pass as `since` to wait only for later lines). */
  lineCount(): number;
  /** Stops the process and removes its temp log dir (if it made one). */
  dispose(): Promise<void>;
}

/** Starts `node dist/apps/<entry>/src/main.js` from the repo root with process.env plus `env`. */
export function startApp(entry: AppEntry, env: Record<string, string>, opts: AppOptions = {}): AppHandle {
  const script = opts.script ?? join(REPO_ROOT, 'dist', 'apps', entry, 'src', 'main.js');
  if (!existsSync(script)) {
    throw new Error(`${script} does not exist: build first with \`npm run build\``);
  }
  const name = opts.name ?? `${entry}${env.REPLICA_ID ? `-${env.REPLICA_ID}` : env.COORDINATOR_ID ? `-${env.COORDINATOR_ID}` : ''}`;
  return new AppProcess(name, script, env, opts);
}

interface Waiter {
  readonly test: (line: string) => boolean;
  readonly resolve: (line: string) => void;
  readonly reject: (e: Error) => void;
}

class AppProcess implements AppHandle {
  readonly logFile: string;
  readonly exited: Promise<AppExit>;
  private readonly child: ChildProcess;
  private readonly tmp: TempDir | undefined;
  private readonly out: WriteStream;
  private readonly lines: string[] = [];
  /** Lines dropped from memory because of `LINES_MAX`; keeps indexes stable. */
  private dropped = 0;
  private waiters = new Set<Waiter>();
  private exit: AppExit | undefined;

  constructor(
    readonly name: string,
    script: string,
    env: Record<string, string>,
    opts: AppOptions,
  ) {
    this.tmp = opts.logDir ? undefined : makeTempDir(`app-${name}`);
    this.logFile = join(opts.logDir ?? this.tmp!.path, `${name}.log`);
    this.out = createWriteStream(this.logFile, { flags: 'a' });
    const [cmd, ...pre] = [...(opts.wrap ?? []), process.execPath];
    this.child = spawn(cmd, [...pre, ...(opts.nodeArgs ?? []), script], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    trackChild(this.child);
    this.collect(this.child.stdout!);
    this.collect(this.child.stderr!);
    // 'close' (not 'exit'): it comes after the output pipes are drained, so no line is lost.
    this.exited = new Promise<AppExit>((r) => this.child.once('close', (code, signal) => r({ code, signal }))).then((e) => {
      this.exit = e;
      const why = new Error(`${this.name} exited (code ${e.code}, signal ${e.signal}) before the awaited line\n--- last lines ---\n${this.tail(30)}`);
      for (const w of this.waiters) w.reject(why);
      this.waiters.clear();
      this.out.end();
      return e;
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  private collect(stream: NodeJS.ReadableStream): void {
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      this.out.write(chunk);
      const parts = (partial + chunk).split('\n');
      partial = parts.pop()!;
      for (const line of parts) this.addLine(line);
    });
    stream.on('end', () => {
      if (partial) this.addLine(partial);
      partial = '';
    });
  }

  private addLine(line: string): void {
    this.lines.push(line);
    if (this.lines.length > LINES_MAX) {
      this.lines.shift();
      this.dropped++;
    }
    for (const w of this.waiters) {
      if (w.test(line)) {
        this.waiters.delete(w);
        w.resolve(line);
      }
    }
  }

  waitForLine(pattern: RegExp, timeoutMs = WAIT_MS_DEFAULT, since = 0): Promise<string> {
    return this.waitFor((line) => pattern.test(line), `a line matching ${pattern}`, timeoutMs, since);
  }

  async waitForLog(match: (entry: Record<string, unknown>) => boolean, timeoutMs = WAIT_MS_DEFAULT, since = 0): Promise<Record<string, unknown>> {
    const line = await this.waitFor((l) => {
      const e = parseJsonLine(l);
      return e !== undefined && match(e);
    }, 'a matching JSON log line', timeoutMs, since);
    return parseJsonLine(line)!;
  }

  private waitFor(test: (line: string) => boolean, what: string, timeoutMs: number, since: number): Promise<string> {
    const seen = this.lines.slice(Math.max(0, since - this.dropped)).find(test);
    if (seen !== undefined) return Promise.resolve(seen);
    if (this.exit) {
      return Promise.reject(new Error(`${this.name} has exited (code ${this.exit.code}, signal ${this.exit.signal}) without ${what}\n--- last lines ---\n${this.tail(30)}`));
    }
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(w);
        reject(new Error(`${this.name}: no ${what} within ${timeoutMs} ms\n--- last lines ---\n${this.tail(30)}`));
      }, timeoutMs);
      const w: Waiter = {
        test,
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.waiters.add(w);
    });
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.running) this.child.kill(signal);
  }

  async stop(timeoutMs = STOP_MS_DEFAULT): Promise<AppExit> {
    if (this.running) {
      this.child.kill('SIGCONT'); // a paused process would not act on SIGTERM
      this.child.kill('SIGTERM');
      if (!(await within(this.exited, timeoutMs))) this.child.kill('SIGKILL');
    }
    return this.exited;
  }

  pause(): void {
    this.kill('SIGSTOP');
  }

  resume(): void {
    this.kill('SIGCONT');
  }

  logs(): string[] {
    return [...this.lines];
  }

  lineCount(): number {
    return this.dropped + this.lines.length;
  }

  private tail(n: number): string {
    return this.lines.slice(-n).join('\n') || '(no output)';
  }

  async dispose(): Promise<void> {
    await this.stop();
    await new Promise<void>((r) => (this.out.writableFinished ? r() : this.out.once('finish', () => r())));
    this.tmp?.remove();
  }
}

/** Parses a JSON log line; undefined when the line is not a JSON object. */
export function parseJsonLine(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const v: unknown = JSON.parse(line);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
