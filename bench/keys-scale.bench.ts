/**
 * Keys-scale benchmark: `npm run bench:keys` (build, then `node dist/bench/keys-scale.bench.js`).
 *
 * Does a compaction round's write-hold grow with the number of keys, or with what changed
 * since the last round? Runs one real replica core in this process against a real SQLite
 * file (`synchronous=FULL`), with the op stream, notices and snapshot object store as
 * in-memory stand-ins (the broker is not what is measured here; the snapshot stand-in
 * serialises to JSON text and back, as the object store adapter does). For each key count:
 *
 * 1. fill: `KEYS` pn-counter keys written as remote events (one op-log row each);
 * 2. round A (every key changed since the last round), round B (`LITTLE` keys changed),
 *    round C (nothing written): each phase timed as the round participant runs it, plus
 *    the store's snapshot write and the snapshot publish inside it;
 * 3. restart: a new core on the same file (`start`, i.e. load);
 * 4. join: a new core on an empty file, from the published snapshot;
 * 5. memory: heap in use after full collections, per key, and the process RSS.
 *
 * Environment: KEYS_SCALE_JSON (a file to write the results to as JSON: `npm run bench`
 * runs this benchmark in a child process and reads them), KEYS_SCALE (comma-separated key counts, default 10000,100000,1000000),
 * LITTLE (keys changed before round B, default 1000), KEY_TYPE (`pn-counter`, the
 * default, or `or-set`: each key an or-set of 10 short strings, added one op each). Run with `--expose-gc` for exact
 * heap figures (bench-support switches it on at run time when it can).
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Json } from '#crdt';
import {
  EVENT_VERSION,
  decodeSnapshot,
  encodeSnapshot,
  ReplicaCore,
  type ClockPort,
  type EventBatch,
  type LogPort,
  type OpStreamPort,
  type StrongNext, StrongPublish,
  type ReplicatedEvent,
  type SnapshotRecord,
  type SnapshotSourcePort,
  type StorePort,
} from '#replication';
import { systemClock } from '#runtime';
import { openSqliteStore, type SqliteStore } from '#store-sqlite';
import { fullGc, heapNow, mb, num } from './bench-support';

const KEY_COUNTS = (process.env.KEYS_SCALE ?? '10000,100000,1000000').split(',').map(Number);
const LITTLE = Number(process.env.LITTLE ?? 1000);
const WRITER = 'w';
const KEY_TYPE = process.env.KEY_TYPE === 'or-set' ? 'or-set' : 'pn-counter';
/** Elements of each or-set key. */
const SET_ELEMENTS = 10;
const EVENTS_PER_BATCH = 1_000;

/** Timings of one round, milliseconds. */
export interface RoundTimes {
  freezeMs: number;
  cutMs: number;
  commitMs: number;
  writeSnapshotMs: number;
  publishMs: number;
  /** From the freeze request to the replica taking writes again. */
  heldMs: number;
  /** The snapshot publish that runs after writes resumed (when the core does it in the background). */
  backgroundPublishMs: number;
}

const quietLog: LogPort = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** The op stream as a counter: publishes are stored at once, nothing is delivered back. */
class NullStream implements OpStreamPort {
  seq = 0;
  async publish(): Promise<number> {
    return ++this.seq;
  }
  async lastSeq(): Promise<number> {
    return this.seq;
  }
  async publishStrong(): Promise<StrongPublish> {
    return { ok: true, revision: ++this.seq };
  }
  async strongRevision(): Promise<number> {
    return 0;
  }
  async strongNext(): Promise<StrongNext> {
    return { firstSeq: 1, created: 'null' };
  }
  streamReplicas(): number {
    return 1;
  }
  incarnation(): string {
    return 'null';
  }
  consumeFrom(): void {}
}

/** The snapshot object store as JSON text in memory (the adapter's serialisation, without the broker). */
class TextSnapshots implements SnapshotSourcePort {
  text: string | undefined;
  publishes = 0;
  lastPublishMs = 0;
  /** Time spent fetching and parsing, milliseconds (the join's first phase). */
  fetchMs = 0;
  private waiters: Array<() => void> = [];
  async fetchLatest(): Promise<SnapshotRecord | undefined> {
    const t0 = performance.now();
    try {
      return this.text === undefined ? undefined : decodeSnapshot(this.text);
    } finally {
      this.fetchMs += performance.now() - t0;
    }
  }
  async publish(snapshot: SnapshotRecord): Promise<void> {
    const t0 = performance.now();
    this.text = encodeSnapshot(snapshot);
    this.lastPublishMs = performance.now() - t0;
    this.publishes++;
    for (const w of this.waiters.splice(0)) w();
  }
  /** Resolves at the next publish. */
  nextPublish(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}

/** Store calls timed by `timedStore`, milliseconds. */
interface StoreTimes {
  writeSnapshotMs: number;
  resetMs?: number;
  loadMs?: number;
}

/** Wraps a store to time its snapshot writes, resets and loads. */
function timedStore(store: SqliteStore, times: StoreTimes): StorePort {
  const field = (prop: string | symbol): keyof StoreTimes | undefined =>
    prop === 'writeSnapshot' || prop === 'writeSnapshotDelta' ? 'writeSnapshotMs' : prop === 'resetTo' ? 'resetMs' : prop === 'load' ? 'loadMs' : undefined;
  return new Proxy(store, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function') return v;
      const f = field(prop);
      if (f) {
        return async (...args: unknown[]) => {
          const t0 = performance.now();
          try {
            return await (v as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          } finally {
            times[f] = (times[f] ?? 0) + performance.now() - t0;
          }
        };
      }
      return (v as (...a: unknown[]) => unknown).bind(target);
    },
  }) as StorePort;
}

function newCore(store: StorePort, stream: NullStream, snapshots: SnapshotSourcePort, clock: ClockPort = systemClock): ReplicaCore {
  return new ReplicaCore(
    {
      store,
      stream,
      notices: { changed: () => undefined, heartbeat: () => undefined, requestResend: () => undefined },
      snapshots,
      clock,
      log: quietLog,
      newReplicaId: () => 'r1',
      onFatal: (e) => {
        throw e;
      },
    },
    { replicaId: 'r1' },
  );
}

/** Writes `keys` (one remote event each) through the core's receive path, in stream batches. */
async function writeEvents(core: ReplicaCore, stream: NullStream, keys: Iterable<string>, state: { seq: number; total: number; pass: number }): Promise<void> {
  state.pass++;
  let batch: ReplicatedEvent[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const b: EventBatch = { v: EVENT_VERSION, events: batch };
    batch = [];
    await core.receive(b, ++stream.seq);
  };
  for (const key of keys) {
    state.seq++;
    state.total++;
    const ev: ReplicatedEvent = {
      v: EVENT_VERSION,
      origin: WRITER,
      seq: state.seq,
      time: state.seq,
      deps: {},
      key,
      type: KEY_TYPE,
      options: null,
      ops: KEY_TYPE === 'pn-counter' ? [{ type: 'increment', replica: WRITER, total: state.total } as Json] : setOps(state.pass),
    };
    batch.push(ev);
    if (batch.length >= EVENTS_PER_BATCH) await flush();
  }
  await flush();
}

/** Ops of an or-set write: the first pass adds `SET_ELEMENTS` short strings, later passes one more each. */
function setOps(pass: number): Json[] {
  const adds = pass === 1 ? Array.from({ length: SET_ELEMENTS }, (_, j) => j + 1) : [SET_ELEMENTS + pass - 1];
  return adds.map((counter) => ({ type: 'add', dot: { replica: WRITER, counter }, values: [`item-${counter}`] }));
}

function keyName(i: number): string {
  return `key-${String(i).padStart(7, '0')}`;
}

async function round(core: ReplicaCore, snapshots: TextSnapshots, times: StoreTimes, n: number): Promise<RoundTimes> {
  const id = { epoch: 1, round: n };
  const publishesBefore = snapshots.publishes;
  const published = snapshots.nextPublish();
  times.writeSnapshotMs = 0;
  const t0 = performance.now();
  const frozen = (await core.round.freeze({ ...id, leaseMs: 600_000 })) as Record<string, unknown>;
  const t1 = performance.now();
  if (frozen.ok !== true) throw new Error(`freeze refused: ${JSON.stringify(frozen)}`);
  const cut = (await core.round.cut({ ...id, cut: core.applied(), leaseMs: 600_000 })) as Record<string, unknown>;
  const t2 = performance.now();
  if (cut.ok !== true) throw new Error(`cut refused: ${JSON.stringify(cut)}`);
  const committed = (await core.round.commit({ ...id, publisher: 'r1', leaseMs: 600_000 })) as Record<string, unknown>;
  const t3 = performance.now();
  if (committed.ok !== true) throw new Error(`commit refused: ${JSON.stringify(committed)}`);
  const publishedInFreeze = snapshots.publishes > publishesBefore;
  const publishInFreezeMs = publishedInFreeze ? snapshots.lastPublishMs : 0;
  core.round.resume({ ...id, committed: true });
  const t4 = performance.now();
  await published;
  const t5 = performance.now();
  return {
    freezeMs: t1 - t0,
    cutMs: t2 - t1,
    commitMs: t3 - t2,
    writeSnapshotMs: times.writeSnapshotMs,
    publishMs: publishInFreezeMs,
    heldMs: t4 - t0,
    backgroundPublishMs: publishedInFreeze ? 0 : t5 - t4,
  };
}

/** What one key count measured (written as JSON with KEYS_SCALE_JSON). */
export interface ScaleResult {
  readonly keys: number;
  readonly keyType: string;
  /** Keys changed before round B. */
  readonly little: number;
  readonly fillMs: number;
  readonly heapPerKeyFilled: number;
  /** A: every key changed; B: `little` changed; C: nothing changed; D: right after the restart. */
  readonly rounds: { readonly a: RoundTimes; readonly b: RoundTimes; readonly c: RoundTimes; readonly d: RoundTimes };
  readonly heapPerKeyAfterRounds: number;
  readonly restartMs: number;
  readonly restartStoreLoadMs: number;
  readonly heapPerKeyAfterLoad: number;
  readonly joinMs: number;
  readonly joinFetchMs: number;
  readonly joinResetMs: number;
  readonly fileBytes: number;
  readonly loadAverage: number;
}

function heapPerKey(baseline: number, keys: number): { bytes: number; perKey: number } {
  fullGc();
  const bytes = heapNow() - baseline;
  return { bytes, perKey: bytes / keys };
}

function loadAverage(): string {
  // Node reports the 1, 5 and 15 minute load averages (os.loadavg); two cores here.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('node:os') as typeof import('node:os')).loadavg().map((x) => x.toFixed(2)).join(' ');
}

function fmtRound(label: string, r: RoundTimes): string {
  return (
    `  ${label.padEnd(26)} held ${num(r.heldMs)} ms = freeze ${num(r.freezeMs)} + cut ${num(r.cutMs)} + commit ${num(r.commitMs)} ` +
    `(store write ${num(r.writeSnapshotMs)}, publish ${num(r.publishMs)}); background publish ${num(r.backgroundPublishMs)} ms`
  );
}

async function scale(keys: number): Promise<ScaleResult> {
  const dir = mkdtempSync(join(tmpdir(), 'keys-scale-'));
  // Each figure is printed as soon as it is measured (a 1M-key run takes minutes).
  const out = { push: (line: string) => process.stdout.write(line + '\n') };
  try {
    fullGc();
    const baseline = heapNow();
    const times: StoreTimes = { writeSnapshotMs: 0 };
    const stream = new NullStream();
    const snapshots = new TextSnapshots();
    const file = join(dir, 'replica.sqlite');
    let store = await openSqliteStore({ file, synchronous: 'FULL' });
    let core = newCore(timedStore(store, times), stream, snapshots);
    await core.start();
    const writer = { seq: 0, total: 0, pass: 0 };
    const all = Array.from({ length: keys }, (_, i) => keyName(i));
    let t0 = performance.now();
    await writeEvents(core, stream, all, writer);
    const fillMs = performance.now() - t0;
    const filled = heapPerKey(baseline, keys);
    out.push(`${num(keys)} ${KEY_TYPE} keys (load average ${loadAverage()})`);
    out.push(`  fill ${num(fillMs)} ms; heap ${mb(filled.bytes)} = ${num(filled.perKey)} B/key with the op log in SQLite; rss ${mb(process.memoryUsage().rss)}`);

    const a = await round(core, snapshots, times, 1);
    out.push(fmtRound('A: all keys changed', a));
    await writeEvents(core, stream, all.slice(0, LITTLE), writer);
    const b = await round(core, snapshots, times, 2);
    out.push(fmtRound(`B: ${num(LITTLE)} keys changed`, b));
    const c = await round(core, snapshots, times, 3);
    out.push(fmtRound('C: nothing changed', c));
    // The published snapshot's text stands in for the object store, which is not the
    // replica's memory: left out of the figure.
    const afterRounds = heapPerKey(baseline + (snapshots.text?.length ?? 0), keys);
    const fileBytes = statSync(file).size;
    out.push(`  heap after rounds ${mb(afterRounds.bytes)} = ${num(afterRounds.perKey)} B/key; rss ${mb(process.memoryUsage().rss)}; file ${mb(fileBytes)}`);

    // Restart: the same file, a new core, once the background truncation has emptied the op log.
    for (let waited = 0; store.opLogLength() > 0 && waited < 600_000; waited += 100) await new Promise((r) => setTimeout(r, 100));
    await core.stop();
    await store.close();
    core = undefined as unknown as ReplicaCore;
    fullGc();
    const beforeLoad = heapNow();
    store = await openSqliteStore({ file, synchronous: 'FULL' });
    core = newCore(timedStore(store, times), stream, snapshots);
    times.loadMs = 0;
    t0 = performance.now();
    await core.start();
    const loadMs = performance.now() - t0;
    const loaded = heapPerKey(beforeLoad, keys);
    out.push(`  restart (load) ${num(loadMs)} ms = store load ${num(times.loadMs ?? 0)} + decode and the rest ${num(loadMs - (times.loadMs ?? 0))}, ${num(core.keys.size)} keys; heap ${num(loaded.perKey)} B/key after load`);
    const d = await round(core, snapshots, times, 4);
    out.push(fmtRound('D: right after the restart', d));
    await core.stop();
    await store.close();

    // Join: an empty file, from the published snapshot.
    const joinFile = join(dir, 'joiner.sqlite');
    const joinStore = await openSqliteStore({ file: joinFile, synchronous: 'FULL' });
    const joinTimes: StoreTimes = { writeSnapshotMs: 0, resetMs: 0, loadMs: 0 };
    const joiner = newCore(timedStore(joinStore, joinTimes), stream, snapshots);
    snapshots.fetchMs = 0;
    t0 = performance.now();
    await joiner.start();
    const joinMs = performance.now() - t0;
    if (joiner.keys.size !== keys) throw new Error(`joiner holds ${joiner.keys.size} keys, not ${keys}`);
    const rest = joinMs - snapshots.fetchMs - joinTimes.resetMs! - joinTimes.loadMs!;
    out.push(
      // The joiner decodes the keys while the store writes them (on a thread of its own from
      // RESET_THREAD_KEYS_MIN keys): "store reset" spans that decoding too.
      `  join from snapshot ${num(joinMs)} ms = fetch + parse ${num(snapshots.fetchMs)} + store reset (keys decoded meanwhile) ${num(joinTimes.resetMs!)} + store load ${num(joinTimes.loadMs!)} + decode and the rest ${num(rest)}`,
    );
    await joiner.stop();
    await joinStore.close();
    return {
      keys,
      keyType: KEY_TYPE,
      little: LITTLE,
      fillMs,
      heapPerKeyFilled: filled.perKey,
      rounds: { a, b, c, d },
      heapPerKeyAfterRounds: afterRounds.perKey,
      restartMs: loadMs,
      restartStoreLoadMs: times.loadMs ?? 0,
      heapPerKeyAfterLoad: loaded.perKey,
      joinMs,
      joinFetchMs: snapshots.fetchMs,
      joinResetMs: joinTimes.resetMs!,
      fileBytes,
      loadAverage: Number(loadAverage().split(' ')[0]),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  process.stdout.write(`keys-scale benchmark: one replica core in process, SQLite synchronous=FULL, node ${process.version}\n`);
  const results: ScaleResult[] = [];
  for (const k of KEY_COUNTS) results.push(await scale(k));
  if (process.env.KEYS_SCALE_JSON) writeFileSync(process.env.KEYS_SCALE_JSON, JSON.stringify(results, null, 1));
}

main().catch((e) => {
  process.stderr.write(`keys-scale benchmark failed: ${(e as Error)?.stack ?? e}\n`);
  process.exit(1);
});
