import type { ChildProcess } from 'node:child_process';

/**
 * Children that tests started and that are still running. If the test process exits
 * without stopping them (a crashed worker, a forgotten `stop()`), they are killed here so
 * no nats-server or replica outlives the run and holds ports or files.
 */
const live = new Set<ChildProcess>();
let hooked = false;

/** Tracks a child until it exits. */
export function trackChild(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (!hooked) {
    hooked = true;
    process.once('exit', () => {
      for (const c of live) {
        try {
          // A paused child ignores SIGTERM until continued; SIGKILL works regardless.
          c.kill('SIGKILL');
        } catch {
          // already gone
        }
      }
    });
  }
}

/** Resolves once `child` has exited (at once if it already has). */
export function waitForExit(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode as NodeJS.Signals | null });
  }
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/** Resolves true if `p` settles within `ms`, false otherwise. */
export async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((r) => {
    timer = setTimeout(() => r(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
