/**
 * Retries `fn` until it resolves, for at most `timeoutMs`; rethrows the last error after
 * that. For steps that a real cluster completes only after an election or a reconnect.
 */
export async function eventually<T>(fn: () => Promise<T>, timeoutMs: number, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() + intervalMs >= deadline) throw e;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }
}
