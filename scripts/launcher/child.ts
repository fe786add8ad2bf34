import { spawn, type ChildProcess } from 'node:child_process';

/**
 * A child process of the launcher: its output split into lines for a callback, and a
 * bounded stop (SIGTERM, then SIGKILL after `stopTimeoutMs`).
 */
export class Child {
  private readonly proc: ChildProcess;
  /** Resolves with how the child ended. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private done = false;

  constructor(
    readonly name: string,
    command: string,
    args: readonly string[],
    env: NodeJS.ProcessEnv,
    onLine: (line: string) => void,
  ) {
    // Own process group: a Ctrl-C at the terminal reaches the launcher only, which then
    // stops the children in order (apps first, nats-server last).
    this.proc = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    for (const stream of [this.proc.stdout!, this.proc.stderr!]) {
      let partial = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        const parts = (partial + chunk).split('\n');
        partial = parts.pop()!;
        for (const l of parts) onLine(l);
      });
      stream.on('end', () => partial && onLine(partial));
    }
    this.exited = new Promise((resolve) => {
      this.proc.once('error', (e) => {
        onLine(`could not start ${command}: ${e.message}`);
        this.done = true;
        resolve({ code: 127, signal: null });
      });
      this.proc.once('close', (code, signal) => {
        this.done = true;
        resolve({ code, signal });
      });
    });
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  get running(): boolean {
    return !this.done;
  }

  /** Sends a signal if the child still runs. */
  signal(sig: NodeJS.Signals): void {
    if (!this.done) {
      try {
        this.proc.kill(sig);
      } catch {
        // gone already
      }
    }
  }

  /** SIGTERM, then SIGKILL after `stopTimeoutMs`; resolves once the child has exited. */
  async stop(stopTimeoutMs: number): Promise<void> {
    if (this.done) return;
    this.signal('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const killed = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.signal('SIGKILL');
        resolve();
      }, stopTimeoutMs);
    });
    await Promise.race([this.exited, killed]);
    clearTimeout(timer);
    await this.exited;
  }
}
