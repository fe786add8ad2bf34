/** How often the launcher checks that the process that started it still runs. */
const PARENT_CHECK_MS = 1_000;

/**
 * Calls `gone` once when this process's parent exits (it is then re-parented, and
 * `process.ppid` changes). `npm start` passes SIGINT and SIGTERM on, but if npm itself is
 * killed (SIGKILL) nothing is passed on, and the launcher would keep the cluster running
 * with nobody to stop it.
 */
export function watchParent(gone: () => void, checkMs = PARENT_CHECK_MS): () => void {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid !== parent) {
      clearInterval(timer);
      gone();
    }
  }, checkMs);
  timer.unref();
  return () => clearInterval(timer);
}
