/**
 * How fast the apps notice a NATS connection that died silently (a network partition that
 * drops packets: no reset ever arrives). nats.js pings every 2 minutes by default, so a
 * coordinator or replica on the wrong side of a partition would sit on a dead connection
 * for minutes, holding the lease or missing rounds; found by the fault suite's real
 * partitions. With a ping every `NATS_PING_INTERVAL_MS` (default 2 s) and at most
 * `NATS_MAX_PINGS_OUT` (default 3) unanswered, a dead connection is dropped, and another
 * server tried, within about 6 to 8 s.
 */
export interface NatsLiveness {
  readonly pingInterval: number;
  readonly maxPingOut: number;
}

export const NATS_LIVENESS_DEFAULT: NatsLiveness = { pingInterval: 2_000, maxPingOut: 3 };

/** Reads the liveness settings from the environment; throws naming a bad variable. */
export function readNatsLiveness(env: NodeJS.ProcessEnv = process.env): NatsLiveness {
  const read = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new Error(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
    return n;
  };
  return {
    pingInterval: read('NATS_PING_INTERVAL_MS', NATS_LIVENESS_DEFAULT.pingInterval, 100, 600_000),
    maxPingOut: read('NATS_MAX_PINGS_OUT', NATS_LIVENESS_DEFAULT.maxPingOut, 1, 100),
  };
}
