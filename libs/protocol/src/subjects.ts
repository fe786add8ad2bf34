/**
 * NATS subjects of the protocol. Every name is derived from one configurable prefix
 * (`crdt` by default) so several clusters can share a NATS account.
 */
export interface Subjects {
  /** Answered by any one replica (queue group): `<prefix>.api.<command>`. */
  api(command: string): string;
  /** Answered by one replica only: `<prefix>.replica.<id>.<command>`. */
  replica(replicaId: string, command: string): string;
  /** Change notices of one key: `<prefix>.changes.<key>`. */
  changes(key: string): string;
  /** Replica heartbeats (membership and progress). */
  readonly heartbeat: string;
  /** Round control messages from the coordinator: `<prefix>.round.<phase>`. */
  round(phase: string): string;
  /** Coordinator admin requests: `<prefix>.coordinator.<command>`. */
  coordinator(command: string): string;
  /** Round progress events, for `crdtctl sync` and `watch`. */
  readonly roundEvents: string;
  /** The JetStream subject replica `origin` publishes its ops on. */
  ops(origin: string): string;
  /**
   * The JetStream subject of a key's strong writes (`<prefix>.ops.~key.<key>`): inside the
   * op stream, one subject per key, so JetStream's per-subject optimistic concurrency
   * orders every strong write to the key (see strong.ts).
   */
  strongOps(key: string): string;
  /** The subject filter of the op stream. */
  readonly opsFilter: string;
  /** The queue group that `api` requests are balanced over. */
  readonly queueGroup: string;
}

/** The token after `<prefix>.ops.` that marks a key's strong-write subject; no replica id can be it (ids are letters, digits, _ and -). */
export const STRONG_TOKEN = '~key';

/** Builds the subjects for a prefix. */
export function subjectsFor(prefix = 'crdt'): Subjects {
  return {
    api: (command) => `${prefix}.api.${command}`,
    replica: (id, command) => `${prefix}.replica.${id}.${command}`,
    changes: (key) => `${prefix}.changes.${key}`,
    heartbeat: `${prefix}.heartbeat`,
    round: (phase) => `${prefix}.round.${phase}`,
    coordinator: (command) => `${prefix}.coordinator.${command}`,
    roundEvents: `${prefix}.rounds.events`,
    ops: (origin) => `${prefix}.ops.${origin}`,
    strongOps: (key) => `${prefix}.ops.${STRONG_TOKEN}.${key}`,
    opsFilter: `${prefix}.ops.>`,
    queueGroup: `${prefix}-replicas`,
  };
}
