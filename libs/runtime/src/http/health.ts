/**
 * Readiness in NestJS Terminus's shape (`{status, info, error, details}`), so tools that
 * read Terminus replies read these: each named check is `{status: 'up' | 'down', ...}`;
 * `info` holds the checks that are up, `error` those that are down, `details` all of them.
 */

/** One check's outcome. */
export type HealthIndicator = { readonly status: 'up' | 'down'; readonly [field: string]: unknown };

/** The reply of `/health/ready` and `/health/live`. */
export interface HealthReply {
  readonly status: 'ok' | 'error';
  readonly info: Readonly<Record<string, HealthIndicator>>;
  readonly error: Readonly<Record<string, HealthIndicator>>;
  readonly details: Readonly<Record<string, HealthIndicator>>;
}

/** A named check: resolves with its indicator; a throw or a timeout counts as down. */
export type HealthCheck = () => Promise<HealthIndicator> | HealthIndicator;

/** Folds indicators into a reply: `ok` only when every one is up. */
export function healthReply(details: Readonly<Record<string, HealthIndicator>>): HealthReply {
  const info: Record<string, HealthIndicator> = {};
  const error: Record<string, HealthIndicator> = {};
  for (const [name, d] of Object.entries(details)) (d.status === 'up' ? info : error)[name] = d;
  return { status: Object.keys(error).length === 0 ? 'ok' : 'error', info, error, details };
}

/**
 * Runs the checks in order, each bounded by `timeoutMs`. A check after a failed one is not
 * run (it would only fail for the same reason): it reports `down` with `skipped`.
 */
export async function runHealthChecks(checks: ReadonlyArray<readonly [string, HealthCheck]>, timeoutMs: number): Promise<HealthReply> {
  const details: Record<string, HealthIndicator> = {};
  let failed: string | undefined;
  for (const [name, check] of checks) {
    if (failed !== undefined) {
      details[name] = { status: 'down', skipped: `${failed} is down` };
      continue;
    }
    details[name] = await bounded(check, timeoutMs);
    if (details[name].status === 'down') failed = name;
  }
  return healthReply(details);
}

async function bounded(check: HealthCheck, timeoutMs: number): Promise<HealthIndicator> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<HealthIndicator>((r) => (timer = setTimeout(() => r({ status: 'down', reason: `no answer within ${timeoutMs} ms` }), timeoutMs)));
  try {
    return await Promise.race([Promise.resolve().then(check), timeout]);
  } catch (e) {
    return { status: 'down', reason: String((e as Error)?.message ?? e) };
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves when `p` does within `timeoutMs`, else rejects saying what did not answer. */
export function within<T>(p: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${timeoutMs} ms`)), timeoutMs))),
  ]);
}
