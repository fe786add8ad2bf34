import type { ClientCommandName } from '#protocol';
/** What crdtctl can be asked to do: one parsed command line (or shell line). */
export type Command =
  | { readonly name: 'help'; readonly topic?: 'shell' }
  | { readonly name: 'status'; readonly key?: string }
  | { readonly name: 'peers'; readonly key?: string }
  | { readonly name: 'missing'; readonly key?: string }
  | { readonly name: 'keys'; readonly prefix?: string }
  | { readonly name: 'variables'; readonly key?: string; readonly prefix?: string }
  | { readonly name: 'get'; readonly key: string }
  | { readonly name: 'create'; readonly key: string; readonly type: string; readonly options?: unknown }
  | {
      readonly name: 'update';
      readonly key: string;
      readonly op?: unknown;
      readonly ops?: readonly unknown[];
      readonly type?: string;
      readonly ack?: AckLevel;
      /** `--consistency strong`: ordered by the op stream per key (lww-register keys, docs/protocol.md §17). */
      readonly consistency?: WriteConsistency;
      /** `--expect N` (with strong only): a compare-and-set at revision N. */
      readonly expect?: number;
    }
  | { readonly name: 'delete'; readonly key: string; readonly ack?: AckLevel; readonly consistency?: WriteConsistency; readonly expect?: number }
  | { readonly name: 'history'; readonly key: string }
  | { readonly name: 'before-sync'; readonly key: string }
  | { readonly name: 'sync'; readonly key?: string }
  | { readonly name: 'rounds' }
  | { readonly name: 'watch'; readonly target: WatchTarget }
  | { readonly name: 'populate'; readonly key: string; readonly count: number; readonly type: string }
  | { readonly name: 'req'; readonly subject: string; readonly body: unknown }
  | { readonly name: 'shell' }
  | { readonly name: 'exit' };

/** What `watch` listens to: a key, a key prefix (`tag*`) or NATS whole-token wildcards (`users.*`). */
export type WatchTarget = { readonly key: string } | { readonly prefix: string } | { readonly pattern: string };

/**
 * The replica protocol command each crdtctl command sends, checked against libs/protocol's
 * command table (a name the table does not list does not compile). `before` is the seed
 * shell's name of `before-sync`; `put` is an update of an lww-register.
 */
export const PROTOCOL_COMMAND_OF = {
  get: 'get',
  create: 'create',
  update: 'update',
  put: 'update',
  delete: 'delete',
  del: 'delete',
  keys: 'keys',
  variables: 'keys',
  history: 'history',
  'before-sync': 'before-sync',
  before: 'before-sync',
  status: 'status',
  missing: 'status',
} as const satisfies Record<string, ClientCommandName>;

/** Read consistency levels `--consistency` accepts on `get` (`linearizable`: at the key's last strong write) and `variables`. */
export type Consistency = 'local' | 'latest' | 'linearizable';

/** Write consistency `--consistency` accepts on `put` and `update` (`eventual` is the default and is not sent). */
export type WriteConsistency = 'strong';

/** Acknowledgement levels an update may ask for. */
export type AckLevel = 'local' | 'stream' | 'all';

/** A command line that does not parse: the message says what is wrong and what to type. */
export interface UsageError {
  readonly name: 'usage-error';
  readonly message: string;
}

/** Options that apply to every command. */
export interface GlobalOptions {
  /** Print raw JSON replies instead of the human format. */
  readonly json: boolean;
  /** How long to wait for a reply, ms (`--timeout`); each command has its default. */
  readonly timeoutMs?: number;
  /** Talk to this replica only (`<prefix>.replica.<id>.<command>`) instead of any one. */
  readonly replica?: string;
  /** A causal token: reads and writes wait until the replica covers it. */
  readonly after?: string;
  /** Read consistency (`get`, `variables`); a write's `--consistency` is on its command. */
  readonly consistency?: Consistency;
}

/** Exit codes of crdtctl. */
export const EXIT = {
  OK: 0,
  /** The store answered with an error (or nobody answered). */
  ERROR: 1,
  /** The command line is wrong. */
  USAGE: 2,
  /** NATS cannot be reached. */
  UNREACHABLE: 3,
} as const;

/** How long a request waits for its reply unless `--timeout` says otherwise, ms. */
export const REQUEST_TIMEOUT_MS_DEFAULT = 10_000;
/** How long `sync` waits for the round to finish unless `--timeout` says otherwise, ms. */
export const SYNC_TIMEOUT_MS_DEFAULT = 60_000;
/** How long `status` waits for the coordinator before it falls back to heartbeats, ms. */
export const STATUS_PROBE_MS = 2_000;
/** How long `peers` (and the `status` fallback) listens to heartbeats, ms. */
export const HEARTBEAT_LISTEN_MS = 1_000;
/** Longest `--timeout` accepted, ms. */
export const REQUEST_TIMEOUT_MS_MAX = 600_000;
/** Ops per `update` request when populating (the protocol allows 1000 per batch). */
export const POPULATE_BATCH_OPS_MAX = 500;
/** Most ops one `populate` sends. */
export const POPULATE_COUNT_MAX = 10_000_000;
/** Ops `populate` sends when `--count` is absent. */
export const POPULATE_COUNT_DEFAULT = 1_000;

/** Key type of `create KEY` without a type, of `+N KEY` and `populate KEY`: the seed shell's integer. */
export const DEFAULT_KEY_TYPE = 'pn-counter';
/** Key type of the plain-key shorthands `put` and `get`. */
export const PLAIN_KEY_TYPE = 'lww-register';

/** Builds a usage error. */
export function usageError(message: string): UsageError {
  return { name: 'usage-error', message };
}
