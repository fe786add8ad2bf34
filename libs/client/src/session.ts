import { vvMerge, type CommandOf, type Json, type TypeName, type ValueOf, type VersionVector } from '#crdt';
import { decodeToken, encodeToken } from '#replication/causal-token';
import { HandleFactory, type Commands, type DeleteResult, type GetOptions, type GetResult, type UpdateOptions, type UpdateResult } from './handles';

/** Options of a session. */
export interface SessionOptions {
  /** Start from this causal token (for example one saved by an earlier session). */
  readonly after?: string;
  /** The replicas to spread requests over, round-robin; default: every live replica. */
  readonly replicas?: readonly string[];
}

/**
 * What a session needs of the store: send one update or read to a chosen replica, and the
 * replicas it may spread requests over. `CrdtStore` provides it (a port, so the session
 * and the store do not import each other).
 */
export interface SessionStore {
  sendUpdate<T extends TypeName>(key: string, commands: Commands<T> | CommandOf<T>, options: UpdateOptions & { readonly type?: T; readonly options?: Json }, preferred?: string): Promise<UpdateResult>;
  sendDelete(key: string, options: UpdateOptions, preferred?: string): Promise<DeleteResult>;
  sendGet<T extends TypeName>(key: string, options: GetOptions, preferred?: string): Promise<GetResult<ValueOf<T>>>;
  replicas(): string[];
}

/**
 * A session with seed 001's four guarantees across replicas (Terry et al., "Session
 * Guarantees for Weakly Consistent Replicated Data", 1994), obtained by carrying one
 * causal token: the merge of every token the session's replies carried. Every request
 * sends it as `after`, so the answering replica first applies everything the session has
 * seen or written:
 *
 * - read-your-writes: a read waits for the session's writes;
 * - monotonic reads: a read waits for what earlier reads saw;
 * - writes-follow-reads: a write is made only once the replica has applied what the
 *   session read, so its event depends on it on every replica;
 * - monotonic writes: likewise for the session's earlier writes.
 *
 * Requests go round-robin over the replicas (or `replicas`), so consecutive requests
 * land on different replicas; a per-call `replica` pins one. A replica that cannot catch
 * up within the wait answers NOT_CAUGHT_UP, and the retry goes to another replica.
 */
export class Session extends HandleFactory {
  private vector: VersionVector = {};
  private turn = 0;

  constructor(
    private readonly store: SessionStore,
    private readonly options: SessionOptions = {},
  ) {
    super();
    if (options.after !== undefined) this.observe(options.after);
  }

  /** The session's causal token (covers everything it wrote and read); empty before the first request. */
  get token(): string | undefined {
    return Object.keys(this.vector).length === 0 ? undefined : encodeToken(this.vector);
  }

  override async update<T extends TypeName>(key: string, commands: Commands<T>, options: UpdateOptions & { readonly type?: T; readonly options?: Json } = {}): Promise<UpdateResult> {
    const r = await this.store.sendUpdate(key, commands, { ...options, after: this.after(options.after) }, this.nextReplica());
    this.observe(r.token);
    return r;
  }

  override async get<T extends TypeName = TypeName>(key: string, options: GetOptions = {}): Promise<GetResult<ValueOf<T>>> {
    const r = await this.store.sendGet<T>(key, { ...options, after: this.after(options.after) }, this.nextReplica());
    this.observe(r.token);
    return r;
  }

  override async delete(key: string, options: UpdateOptions = {}): Promise<DeleteResult> {
    const r = await this.store.sendDelete(key, { ...options, after: this.after(options.after) }, this.nextReplica());
    this.observe(r.token);
    return r;
  }

  /** Merges a token into the session (for tokens got elsewhere). */
  observe(token: string): void {
    const vv = decodeToken(token);
    if (!vv) throw new RangeError('not a causal token of this store');
    this.vector = vvMerge(this.vector, vv);
  }

  private after(extra: string | undefined): string | undefined {
    if (extra !== undefined) this.observe(extra);
    return this.token;
  }

  /** The next replica in turn, from the configured list or the live ones (undefined: any). */
  private nextReplica(): string | undefined {
    const ids = this.options.replicas ?? this.store.replicas();
    if (ids.length === 0) return undefined;
    return ids[this.turn++ % ids.length];
  }
}
