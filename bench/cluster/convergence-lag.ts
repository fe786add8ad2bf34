import { wallMsOf } from '#crdt/causality/hlc';
import type { BenchCluster, Reply } from './bench-cluster';
import { sleep } from './bench-cluster';
import { summarize, type LatencySummary } from './stats';

/**
 * Convergence lag: writes go to one replica at a steady rate (open loop: each write is
 * sent when it is due, whether or not earlier ones were answered, with a bound on those
 * outstanding), and change notices (`crdt.changes.<key>`) tell when each replica applied
 * each write. A notice carries {key, type, origin, seq, time} but not who applied it, so
 * notices are counted per (origin, seq): the origin's own notice goes out before its reply
 * (it is sent when the write is durable there), and each peer's comes after the event has
 * crossed the stream, so the notice that makes the count reach the number of replicas is
 * the last peer applying it. Times are this process's monotonic clock; every process runs
 * on this one machine, so no clock skew enters.
 */

/** Options of `measureConvergenceLag`. */
export interface LagOptions {
  readonly origin: string;
  readonly replicaCount: number;
  readonly key: string;
  readonly writesPerSec: number;
  readonly durationMs: number;
  /** Writes sent and not yet answered, at most; a write due while at the bound waits. */
  readonly inFlightMax: number;
  readonly convergeTimeoutMs: number;
  /** After convergence, how long late notices may still arrive. */
  readonly noticeGraceMs: number;
}

/** What the lag run found. */
export interface LagResult {
  readonly writes: number;
  readonly errors: number;
  readonly firstError?: unknown;
  readonly achievedWritesPerSec: number;
  /** Origin's ack → last peer applied (the figure with the p99 target). */
  readonly ackToAllApplied: LatencySummary;
  /** Origin's ack → first peer applied. */
  readonly ackToFirstPeer: LatencySummary;
  /** The event's HLC time (its creation at the origin, wall clock) → last peer applied (wall clock). */
  readonly createdToAllApplied: LatencySummary;
  /** Origin ack latency of these writes. */
  readonly ackLatency: LatencySummary;
  /** Writes for which not every replica's notice arrived. */
  readonly missingNotices: number;
  /** Writes sent later than due by more than 5 ms (the client could not keep the rate). */
  readonly lateSends: number;
}

interface Track {
  sentMs: number;
  ackMs?: number;
  notices: number;
  firstPeerMs?: number;
  allMs?: number;
  allWallMs?: number;
  createdWallMs?: number;
}

/** Writes at the origin at a steady rate and measures when the peers applied each write. */
export async function measureConvergenceLag(cluster: BenchCluster, o: LagOptions): Promise<LagResult> {
  const bySeq = new Map<number, Track>();
  const early = new Map<number, Track>();
  const track = (seq: number): Track => {
    let t = bySeq.get(seq) ?? early.get(seq);
    if (!t) {
      t = { sentMs: Number.NaN, notices: 0 };
      early.set(seq, t);
    }
    return t;
  };
  const sub = cluster.nc.subscribe(`crdt.changes.${o.key}`, {
    callback: (err, msg) => {
      if (err) return;
      const now = performance.now();
      const n = JSON.parse(msg.string()) as { origin?: string; seq?: number; time?: number };
      if (n.origin !== o.origin || typeof n.seq !== 'number') return;
      const t = track(n.seq);
      t.notices++;
      if (typeof n.time === 'number') t.createdWallMs = wallMsOf(n.time);
      if (t.notices === 2) t.firstPeerMs = now;
      if (t.notices === o.replicaCount) {
        t.allMs = now;
        t.allWallMs = Date.now();
      }
    },
  });
  // The subscription must be at the server before the first write, or early notices are lost.
  await cluster.nc.flush();

  const total = Math.round((o.writesPerSec * o.durationMs) / 1000);
  const intervalMs = 1000 / o.writesPerSec;
  let errors = 0;
  let firstError: unknown;
  let inFlight = 0;
  let lateSends = 0;
  const pending: Promise<void>[] = [];
  const send = async (): Promise<void> => {
    const sentMs = performance.now();
    let reply: Reply;
    try {
      reply = await cluster.request(o.origin, 'update', { key: o.key, type: 'pn-counter', op: { type: 'increment' } }, 10_000);
    } catch (e) {
      reply = { ok: false, error: { code: 'NO_REPLY', message: String(e) } };
    }
    const ackMs = performance.now();
    inFlight--;
    if (!reply.ok || typeof reply.seq !== 'number') {
      errors++;
      firstError ??= reply.error ?? reply;
      return;
    }
    const t = track(reply.seq);
    early.delete(reply.seq);
    t.sentMs = sentMs;
    t.ackMs = ackMs;
    bySeq.set(reply.seq, t);
  };

  const t0 = performance.now();
  try {
    for (let i = 0; i < total; ) {
      const now = performance.now();
      while (i < total && t0 + i * intervalMs <= now && inFlight < o.inFlightMax) {
        if (now - (t0 + i * intervalMs) > 5) lateSends++;
        inFlight++;
        pending.push(send());
        i++;
      }
      await sleep(1);
    }
    await Promise.all(pending);
    const writtenSeconds = (performance.now() - t0) / 1000;
    await cluster.converged(o.convergeTimeoutMs);
    const graceEnd = performance.now() + o.noticeGraceMs;
    while (performance.now() < graceEnd && [...bySeq.values()].some((t) => t.allMs === undefined)) await sleep(20);

    const all: number[] = [];
    const first: number[] = [];
    const created: number[] = [];
    const acks: number[] = [];
    let missing = 0;
    for (const t of bySeq.values()) {
      acks.push(t.ackMs! - t.sentMs);
      if (t.allMs === undefined) {
        missing++;
        continue;
      }
      all.push(t.allMs - t.ackMs!);
      if (t.firstPeerMs !== undefined) first.push(t.firstPeerMs - t.ackMs!);
      if (t.createdWallMs !== undefined && t.allWallMs !== undefined) created.push(t.allWallMs - t.createdWallMs);
    }
    return {
      writes: bySeq.size,
      errors,
      firstError,
      achievedWritesPerSec: bySeq.size / writtenSeconds,
      ackToAllApplied: summarize(all),
      ackToFirstPeer: summarize(first),
      createdToAllApplied: summarize(created),
      ackLatency: summarize(acks),
      missingNotices: missing,
      lateSends,
    };
  } finally {
    sub.unsubscribe();
  }
}
