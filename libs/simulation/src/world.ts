import type { Json } from '#crdt';
import type { MigratedSchema } from '#store-sqlite';
import type { ReplicaLimits } from '#replication/replica-config';
import type { Monitor } from './monitor';
import type { Prng } from './prng';
import type { SimBroker } from './sim-broker';
import type { SimNetwork } from './sim-network';
import type { StreamFaults } from './sim-op-stream';
import type { Scheduler } from './scheduler';
import type { Trace } from './trace';

/** Timing of the simulated processes (production values scaled down so runs stay short). */
export interface ProcessTimings {
  readonly replicaLimits: Partial<ReplicaLimits>;
  readonly publishTimeoutMs: number;
  readonly streamCheckMs: number;
  readonly commitBacklogMax: number;
  readonly snapshotTimeoutMs: number;
}

/** Something that takes heartbeats and round broadcasts off the wire. */
export interface Listener {
  readonly id: string;
  /** A heartbeat arrived (parsed JSON). */
  onHeartbeat(body: Json): void;
}

/** A replica as the rest of the world reaches it. */
export interface ReplicaEndpoint extends Listener {
  /** `<prefix>.replica.<id>.resend` arrived. */
  onResend(body: Json): void;
  /** `<prefix>.round.resume` arrived. */
  onRoundResume(body: Json): void;
  /**
   * A request arrived (a client command or a round phase). Undefined when nobody is
   * subscribed (the process is down or still starting): NATS answers "no responders".
   */
  onRequest(subject: string, body: Record<string, unknown>): Promise<Json> | undefined;
}

/** What every simulated process shares. */
export interface World {
  readonly scheduler: Scheduler;
  readonly net: SimNetwork;
  readonly broker: SimBroker;
  readonly trace: Trace;
  readonly monitor: Monitor;
  readonly streamFaults: StreamFaults;
  readonly timings: ProcessTimings;
  /** The production store schema; each replica's disk starts as an empty database made from it. */
  readonly storeSchema: MigratedSchema;
  /** A named, independent random stream. */
  prng(label: string): Prng;
  /** Every replica process (up or down). */
  replicas(): readonly ReplicaEndpoint[];
  /** A replica by id. */
  replica(id: string): ReplicaEndpoint | undefined;
  /** Every coordinator process. */
  coordinators(): readonly Listener[];
  /** Writes one line to the trace at the current virtual time. */
  note(text: string): void;
}
