import { randomUUID } from 'node:crypto';
import { connect as natsConnect, type NatsConnection } from '@nats-io/transport-node';
import type { CommandOf, Json, TypeName, ValueOf } from '#crdt';
import { subjectsFor, type Subjects } from '#protocol';
import { CrdtError } from './errors';
import { HandleFactory, type Commands, type DeleteResult, type GetOptions, type GetResult, type UpdateOptions, type UpdateResult } from './handles';
import { ReplicaDirectory } from './replica-directory';
import { backoffMs, checkRetryPolicy, RETRY_DEFAULTS, type RetryPolicy } from './retry';
import { Session, type SessionOptions } from './session';
import { requestJson, type OkReply } from './transport';
import { watchChanges, type ChangeNotice, type WatchOptions } from './watch';

/** How to reach the store. */
export interface ConnectOptions {
  /** NATS server URL(s), default `nats://127.0.0.1:4222`. */
  readonly servers?: string | readonly string[];
  /** NATS user and password (the account the replicas use). */
  readonly user?: string;
  readonly pass?: string;
  /** Connection name shown by the NATS server. */
  readonly name?: string;
  /** Subject prefix of the cluster (`CRDT_PREFIX`), default `crdt`. */
  readonly prefix?: string;
  /** Retry policy for retryable failures (jittered, bounded). */
  readonly retry?: Partial<RetryPolicy>;
  /** NATS request timeout when a request names no `timeoutMs`, ms. Default: above the longest reply time of a default update (2 s hold + 2 × 5 s waits + 1 s). */
  readonly requestTimeoutMs?: number;
  /** How long `connect` waits for the first replica heartbeat (to spread requests over replicas), ms. Default 1000. */
  readonly discoveryMs?: number;
  /** Randomness for back-off jitter (tests pin it). */
  readonly random?: () => number;
}

/** Replica-side wait bound the protocol defaults to, ms (docs/protocol.md §9). */
const REPLICA_WAIT_MS_DEFAULT = 5_000;
/** Longest time a replica holds a write during a compaction round, ms. */
const ROUND_HOLD_MS = 2_000;
/** Slack for the network and the local commit, ms. */
const REQUEST_SLACK_MS = 1_000;

/** Codes after which nothing was applied and any other replica may be asked instead. */
const MOVE_ON = new Set(['NO_RESPONDERS', 'UNAVAILABLE', 'NOT_CAUGHT_UP', 'FROZEN', 'OVERLOADED']);

/** Connects to NATS and returns a store client. */
export async function connect(options: ConnectOptions = {}): Promise<CrdtStore> {
  const servers = typeof options.servers === 'string' ? options.servers.split(',').map((s) => s.trim()).filter(Boolean) : [...(options.servers ?? ['nats://127.0.0.1:4222'])];
  const nc = await natsConnect({ servers, name: options.name ?? 'crdt-nats-client', ...(options.user !== undefined ? { user: options.user, pass: options.pass } : {}) });
  const store = new CrdtStore(nc, options, true);
  await store.discover(options.discoveryMs ?? 1_000);
  return store;
}

/** Wraps a NATS connection the application already has (closing the store leaves it open). */
export async function wrap(nc: NatsConnection, options: Omit<ConnectOptions, 'servers' | 'user' | 'pass' | 'name'> = {}): Promise<CrdtStore> {
  const store = new CrdtStore(nc, options, false);
  await store.discover(options.discoveryMs ?? 1_000);
  return store;
}

/** Where one request goes, and whether the caller pinned it there. */
interface Route {
  replica: string | undefined;
  readonly pinned: boolean;
}

/**
 * The store client: typed handles (`counter`, `set`, `text`, ...), a generic `update`
 * and `get`, `watch`, and `session()` for session guarantees. Updates go to one named
 * replica (spread round-robin over the replicas heard on the heartbeat subject) with a
 * request id, so a retry after a lost reply goes to the same replica and is applied once.
 */
export class CrdtStore extends HandleFactory {
  readonly subjects: Subjects;
  readonly retry: RetryPolicy;
  private readonly directory: ReplicaDirectory;
  private readonly random: () => number;
  private closed = false;

  /** @internal use `connect` or `wrap`. */
  constructor(
    readonly nc: NatsConnection,
    private readonly options: ConnectOptions,
    private readonly ownsConnection: boolean,
  ) {
    super();
    this.subjects = subjectsFor(options.prefix ?? 'crdt');
    this.retry = checkRetryPolicy({ ...RETRY_DEFAULTS, ...options.retry });
    this.random = options.random ?? Math.random;
    this.directory = new ReplicaDirectory(nc, this.subjects.heartbeat);
  }

  /** @internal waits (bounded) for a first heartbeat. */
  discover(ms: number): Promise<void> {
    return this.directory.waitForFirst(ms);
  }

  /** Replicas heard in the last 1.5 s, sorted. */
  replicas(): string[] {
    return this.directory.live();
  }

  /** A session: session guarantees across replicas by carrying causal tokens (seed 001). */
  session(options: SessionOptions = {}): Session {
    return new Session(this, options);
  }

  override update<T extends TypeName>(key: string, commands: Commands<T>, options: UpdateOptions & { readonly type?: T; readonly options?: Json } = {}): Promise<UpdateResult> {
    return this.sendUpdate(key, commands, options);
  }

  override get<T extends TypeName = TypeName>(key: string, options: GetOptions = {}): Promise<GetResult<ValueOf<T>>> {
    return this.sendGet<T>(key, options);
  }

  override delete(key: string, options: UpdateOptions = {}): Promise<DeleteResult> {
    return this.sendDelete(key, options);
  }

  /** Creates a key of a type (idempotent for the same type and options); true when this call created it. */
  async create(key: string, type: TypeName, options?: Json): Promise<{ created: boolean; token: string }> {
    const r = await this.call('create', { key, type, ...(options !== undefined ? { options } : {}) }, { replica: undefined, pinned: false }, undefined);
    return { created: r.created === true, token: String(r.token) };
  }

  /** Lists keys (sorted), optionally those starting with `prefix`. */
  async keys(prefix = '', limit = 1000): Promise<{ keys: Array<{ key: string; type: TypeName }>; truncated: boolean }> {
    const r = await this.call('keys', { prefix, limit }, { replica: undefined, pinned: false }, undefined);
    return { keys: r.keys as Array<{ key: string; type: TypeName }>, truncated: r.truncated === true };
  }

  /**
   * Change notices of one key, or of every key starting with a prefix, as an async
   * iterator (`for await (const n of store.watch({ prefix: 'users.' }))`). See `watchChanges`
   * for how prefixes map to NATS subjects.
   */
  watch(target: string | WatchOptions): AsyncIterableIterator<ChangeNotice> {
    return watchChanges(this.nc, this.subjects, typeof target === 'string' ? { key: target } : target);
  }

  /** Closes the connection (when `connect` opened it). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.directory.close();
    if (this.ownsConnection) await this.nc.close();
  }

  /** @internal an update, with `after` when a session sends it. */
  sendUpdate<T extends TypeName>(
    key: string,
    commands: Commands<T> | CommandOf<T>,
    options: UpdateOptions & { readonly type?: T; readonly options?: Json },
    preferred?: string,
  ): Promise<UpdateResult> {
    const ops = Array.isArray(commands) ? commands : [commands];
    const extra = {
      ops,
      ...(options.type !== undefined ? { type: options.type } : {}),
      ...(options.options !== undefined && options.options !== null ? { options: options.options } : {}),
    };
    return this.sendWrite('update', key, extra, options, preferred);
  }

  /** @internal a delete, with `after` when a session sends it; retried like an update (same request id, same replica). */
  sendDelete(key: string, options: UpdateOptions, preferred?: string): Promise<DeleteResult> {
    return this.sendWrite('delete', key, {}, options, preferred);
  }

  /** An `update` or `delete` with the options every write takes, and its result. */
  private async sendWrite(command: 'update' | 'delete', key: string, extra: Record<string, unknown>, options: UpdateOptions, preferred?: string): Promise<UpdateResult & DeleteResult> {
    const body = {
      key,
      ...extra,
      rid: randomUUID(),
      ...(options.ack !== undefined ? { ack: options.ack } : {}),
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      ...(options.after !== undefined ? { after: options.after } : {}),
      ...(options.consistency !== undefined ? { consistency: options.consistency } : {}),
      ...(options.expect !== undefined ? { expect: options.expect } : {}),
    };
    const route: Route = { replica: options.replica ?? preferred ?? this.directory.pick(true), pinned: options.replica !== undefined };
    const r = await this.call(command, body, route, options.timeoutMs);
    return {
      key,
      type: r.type as TypeName,
      replica: String(r.replica),
      seq: Number(r.seq),
      token: String(r.token),
      ...(r.duplicate === true ? { duplicate: true } : {}),
      ...(typeof r.revision === 'number' ? { revision: r.revision } : {}),
    };
  }

  /** @internal a read. */
  async sendGet<T extends TypeName>(key: string, options: GetOptions, preferred?: string): Promise<GetResult<ValueOf<T>>> {
    const body = {
      key,
      ...(options.consistency !== undefined ? { consistency: options.consistency } : {}),
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      ...(options.after !== undefined ? { after: options.after } : {}),
    };
    const route: Route = { replica: options.replica ?? preferred ?? this.directory.pick(false), pinned: options.replica !== undefined };
    const r = await this.call('get', body, route, options.timeoutMs);
    return { key, type: r.type as TypeName, value: r.value as ValueOf<T>, token: String(r.token), ...(typeof r.revision === 'number' ? { revision: r.revision } : {}) };
  }

  /**
   * One request with bounded, jittered retries of retryable failures. An update keeps its
   * request id across attempts and goes back to the same replica, unless the failure
   * proves nothing was applied there (then, if not pinned, another replica is asked). A
   * TIMEOUT that names the written event is not retried: the write happened.
   */
  private async call(command: string, body: Record<string, unknown>, route: Route, replicaWaitMs: number | undefined): Promise<OkReply> {
    const timeoutMs = this.options.requestTimeoutMs ?? ROUND_HOLD_MS + 2 * (replicaWaitMs ?? REPLICA_WAIT_MS_DEFAULT) + REQUEST_SLACK_MS;
    for (let attempt = 1; ; attempt++) {
      const subject = route.replica !== undefined ? this.subjects.replica(route.replica, command) : this.subjects.api(command);
      try {
        return await requestJson(this.nc, subject, body, timeoutMs);
      } catch (e) {
        if (!(e instanceof CrdtError) || !e.retryable || e.applied || attempt >= this.retry.attemptsMax || this.closed) throw e;
        if (!route.pinned && MOVE_ON.has(e.code)) route.replica = this.directory.pick(command === 'update' || command === 'delete', route.replica);
        await sleep(backoffMs(this.retry, attempt, this.random));
      }
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
