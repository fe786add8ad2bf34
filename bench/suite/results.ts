import type { LatencySummary } from '../cluster/stats';
import type { LagResult } from '../cluster/convergence-lag';
import type { PublishBaselineResult } from '../cluster/jetstream-baseline';
import type { ThroughputResult } from '../cluster/write-throughput';
import type { ConcurrentResult } from './concurrent-requests';
import type { CounterResult } from './counter-contention';
import type { CpuPerRequest } from './cpu-per-request';
import type { KvResult } from './kv-baseline';
import type { KeysScaleRun } from './keys-scale-run';
import type { ProfileSummary } from './profile-summary';
import type { RedisResult } from './redis-incr';
import type { TargetRow } from './targets';
import type { TraceRunResult } from './trace-through-replica';

/** The machine a run measured on. */
export interface MachineInfo {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  readonly node: string;
  readonly natsServer: string;
  readonly sqliteSynchronous: string;
  readonly loadAverageAtStart: number[];
  loadAverageAtEnd: number[];
}

/** An in-memory trace run of one implementation. */
export interface InMemoryTrace {
  readonly name: string;
  readonly ms: number;
  readonly editsPerSec: number;
  readonly retainedBytes: number;
  readonly encodedBytes: number;
}

/** A closed-loop point, with the CPU each process spent per request when it could be read. */
export type Point = ConcurrentResult & { readonly cpu?: CpuPerRequest };

/** A figure with the 1-minute load average when it was measured. */
export type Loaded<T> = T & { readonly load: number };

/** Everything `npm run bench` measured, as written to docs/benchmarks.json. */
export interface BenchResults {
  readonly date: string;
  readonly quick: boolean;
  readonly machine: MachineInfo;
  readonly settings: Record<string, number | string>;
  readonly echo: Loaded<Point>[];
  readonly fsync: Loaded<LatencySummary>;
  readonly jetstreamPublish: Loaded<PublishBaselineResult>;
  readonly kv: Loaded<KvResult>;
  readonly redis?: Loaded<RedisResult>;
  readonly update: Record<'local' | 'stream' | 'all', Loaded<Point>[]>;
  readonly get: Loaded<Point>;
  readonly counter: Loaded<CounterResult>;
  /** The same counter with several increments in flight per writer. */
  readonly counterPipelined: Loaded<CounterResult>;
  readonly traceThroughReplica: Loaded<TraceRunResult>;
  readonly traceInMemory: Loaded<{ runs: InMemoryTrace[] }>;
  readonly keysScale: Loaded<{ counters: KeysScaleRun; sets: KeysScaleRun }>;
  readonly batchedWrite: Loaded<ThroughputResult>;
  readonly convergenceLag: Loaded<LagResult & { writesPerSecAsked: number }>;
  readonly profile?: Loaded<{ concurrency: number; updatesPerSec: number; summary: ProfileSummary }>;
  readonly targets: TargetRow[];
  readonly problems: string[];
  readonly totalSeconds: number;
}
