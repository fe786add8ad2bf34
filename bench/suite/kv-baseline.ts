import { StorageType } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { summarize, type LatencySummary } from '../cluster/stats';

/**
 * NATS KV, what a user would pick instead of this store: `put` latency one at a time and
 * its rate at a number of puts in flight, and a counter kept by a compare-and-set loop
 * (get, then update at the revision read, again on a conflict) with several writers. The
 * bucket is file-backed, like the op stream, and destroyed afterwards.
 */

/** Options of `measureKv`. */
export interface KvOptions {
  readonly sequentialPuts: number;
  readonly concurrency: number;
  readonly concurrentMs: number;
  readonly casWriters: number;
  readonly casMs: number;
}

/** What the KV baseline found. */
export interface KvResult {
  readonly put: LatencySummary;
  readonly concurrentPut: { readonly concurrency: number; readonly perSec: number; readonly latency: LatencySummary };
  readonly cas: { readonly writers: number; readonly incrementsPerSec: number; readonly conflicts: number; readonly finalValue: number; readonly increments: number };
}

const BUCKET = 'bench_kv';
const VALUE = JSON.stringify({ key: 'lat.counter', type: 'pn-counter', op: { type: 'increment' } });

/** Runs the KV measures; throws when the counter does not end at the number of increments. */
export async function measureKv(nc: NatsConnection, o: KvOptions): Promise<KvResult> {
  const kvm = new Kvm(nc);
  const kv = await kvm.create(BUCKET, { history: 1, storage: StorageType.File });
  try {
    for (let i = 0; i < 100; i++) await kv.put('warm', VALUE);
    const seq: number[] = [];
    for (let i = 0; i < o.sequentialPuts; i++) {
      const t0 = performance.now();
      await kv.put(`seq.${i % 64}`, VALUE);
      seq.push(performance.now() - t0);
    }
    const concurrentPut = await concurrentPuts(kv, o.concurrency, o.concurrentMs);
    const cas = await casCounter(kv, o.casWriters, o.casMs);
    return { put: summarize(seq), concurrentPut, cas };
  } finally {
    await kv.destroy().catch(() => undefined);
  }
}

async function concurrentPuts(kv: KV, concurrency: number, ms: number): Promise<KvResult['concurrentPut']> {
  const samples: number[] = [];
  const end = performance.now() + ms;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, c) => {
      for (let i = 0; performance.now() < end; i++) {
        const s = performance.now();
        await kv.put(`conc.${c}`, VALUE);
        samples.push(performance.now() - s);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  return { concurrency, perSec: samples.length / seconds, latency: summarize(samples) };
}

async function casCounter(kv: KV, writers: number, ms: number): Promise<KvResult['cas']> {
  const key = 'cas.counter';
  await kv.put(key, '0');
  let increments = 0;
  let conflicts = 0;
  const end = performance.now() + ms;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async () => {
      while (performance.now() < end) {
        const e = await kv.get(key);
        if (!e) throw new Error('the CAS counter key vanished');
        try {
          await kv.update(key, String(Number(e.string()) + 1), e.revision);
          increments++;
        } catch {
          // wrong last sequence: another writer got there first; read again
          conflicts++;
        }
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const finalValue = Number((await kv.get(key))?.string());
  if (finalValue !== increments) throw new Error(`KV CAS counter reads ${finalValue}, but ${increments} increments succeeded`);
  return { writers, incrementsPerSec: increments / seconds, conflicts, finalValue, increments };
}
