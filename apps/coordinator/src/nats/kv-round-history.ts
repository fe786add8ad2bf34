import type { KV } from '@nats-io/kv';
import type { RoundHistoryPort, RoundResult } from '#coordination';

/** The KV key holding the round history (next to the lease's `leader`). */
export const HISTORY_KEY = 'rounds';

/** The round history as one JSON list under the key `rounds` of the coordinator's KV bucket (issue 9: it survives restarts). */
export class KvRoundHistory implements RoundHistoryPort {
  constructor(private readonly kv: KV) {}

  async load(): Promise<readonly unknown[]> {
    const e = await this.kv.get(HISTORY_KEY);
    if (!e || e.operation !== 'PUT') return [];
    try {
      const v = e.json();
      return Array.isArray(v) ? v : [];
    } catch {
      return []; // not JSON: overwritten by the next save
    }
  }

  async save(results: readonly RoundResult[]): Promise<void> {
    await this.kv.put(HISTORY_KEY, JSON.stringify(results));
  }
}
