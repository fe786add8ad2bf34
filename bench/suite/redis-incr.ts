import { createClient } from 'redis';

/**
 * Redis `INCR` on one key with several clients, each with one command in flight: the
 * contended counter a user would otherwise reach for. Only run when REDIS_URL is set.
 */

/** What the Redis run found. */
export interface RedisResult {
  readonly clients: number;
  readonly incrementsPerSec: number;
  readonly increments: number;
}

/** Runs `clients` connections INCRing one fresh key for `ms`; throws when the count is off. */
export async function measureRedisIncr(url: string, clients: number, ms: number): Promise<RedisResult> {
  const key = `crdt-nats-bench:${process.pid}:${Date.now()}`;
  const conns = await Promise.all(Array.from({ length: clients }, () => createClient({ url }).connect()));
  try {
    let increments = 0;
    const end = performance.now() + ms;
    const t0 = performance.now();
    await Promise.all(
      conns.map(async (c) => {
        while (performance.now() < end) {
          await c.incr(key);
          increments++;
        }
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    const value = Number(await conns[0].get(key));
    if (value !== increments) throw new Error(`Redis counter reads ${value}, but ${increments} INCRs were answered`);
    return { clients, incrementsPerSec: increments / seconds, increments };
  } finally {
    await conns[0].del(key).catch(() => undefined);
    await Promise.all(conns.map((c) => c.quit().catch(() => undefined)));
  }
}
