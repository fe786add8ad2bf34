import type { CommandOf, Json, TypeName, ValueOf } from '#crdt';
import type { AckLevel, ReadConsistency, WriteConsistency } from '#protocol';

/** Options of one update. */
export interface UpdateOptions {
  /** When the reply is sent: `local` (default), `stream` or `all` (docs/protocol.md §6). */
  readonly ack?: AckLevel;
  /** Bound of each wait the replica does, ms (0..30000; default 5000). */
  readonly timeoutMs?: number;
  /** Send to this replica only (`<prefix>.replica.<id>.update`). */
  readonly replica?: string;
  /** A causal token: the replica writes only once it covers it. */
  readonly after?: string;
  /** `strong`: ordered by the op stream per key, lww-register keys only (docs/protocol.md §17). Default `eventual`. */
  readonly consistency?: WriteConsistency;
  /** With `strong`: the revision the key must be at (0: none yet); a mismatch throws `ConflictError`. */
  readonly expect?: number;
}

/** Options of one read. */
export interface GetOptions {
  /** `local` (default), `latest` (wait until the replica has consumed the stream as of now) or `linearizable` (at the key's last strong write). */
  readonly consistency?: ReadConsistency;
  readonly timeoutMs?: number;
  readonly replica?: string;
  readonly after?: string;
}

/** What a write returns: the event it made and a token covering it. */
export interface WriteResult {
  readonly key: string;
  /** The key's type (for a delete: the type it had where it was deleted). */
  readonly type: TypeName;
  /** The replica that made the event, and its sequence number there. */
  readonly replica: string;
  readonly seq: number;
  readonly token: string;
  /** True when a resend was answered from the replica's reply memory (applied once). */
  readonly duplicate?: boolean;
}

/** What an update returns. */
export interface UpdateResult extends WriteResult {
  /** A strong write: the stream sequence it is stored at, the key's revision now. */
  readonly revision?: number;
}

/** What a delete returns: the delete event it made. */
export interface DeleteResult extends WriteResult {
  /** A strong delete: the stream sequence it is stored at, the key's revision now. */
  readonly revision?: number;
}

/** What a read returns. */
export interface GetResult<V> {
  readonly key: string;
  readonly type: TypeName;
  readonly value: V;
  readonly token: string;
  /** A linearizable read: the key's revision the value is at. */
  readonly revision?: number;
}

/** One command or an atomic batch of commands of type `T`. */
export type Commands<T extends TypeName> = CommandOf<T> | readonly CommandOf<T>[];

/** What a handle talks to: a store, or a session over it. */
export interface Requester {
  /** Applies commands to `key`; with `type`, creates the key on first write. */
  update<T extends TypeName>(key: string, commands: Commands<T>, options?: UpdateOptions & { readonly type?: T; readonly options?: Json }): Promise<UpdateResult>;
  /** Reads `key`. */
  get<T extends TypeName = TypeName>(key: string, options?: GetOptions): Promise<GetResult<ValueOf<T>>>;
  /** Deletes `key`: what the replica has seen of it goes everywhere; a concurrent update survives (docs/protocol.md §4.8). */
  delete(key: string, options?: UpdateOptions): Promise<DeleteResult>;
}

/** A key of a known type: typed commands and a typed value. Writes create the key if missing. */
export class KeyHandle<T extends TypeName> {
  constructor(
    protected readonly target: Requester,
    readonly key: string,
    readonly type: T,
    protected readonly createOptions: Json = null,
  ) {}

  /** Applies one command or an atomic batch. */
  update(commands: Commands<T>, options?: UpdateOptions): Promise<UpdateResult> {
    return this.target.update<T>(this.key, commands, { ...options, type: this.type, options: this.createOptions });
  }

  /** Reads the key (value and token). */
  get(options?: GetOptions): Promise<GetResult<ValueOf<T>>> {
    return this.target.get<T>(this.key, options);
  }

  /** Reads the key's value. */
  async value(options?: GetOptions): Promise<ValueOf<T>> {
    return (await this.get(options)).value;
  }

  /**
   * Deletes the key (observed-remove: an update the replica has not seen survives). Named
   * `deleteKey`, not `delete`: text and list handles' `delete(index, count)` removes elements.
   */
  deleteKey(options?: UpdateOptions): Promise<DeleteResult> {
    return this.target.delete(this.key, options);
  }
}

/** A `pn-counter`. */
export class PnCounterHandle extends KeyHandle<'pn-counter'> {
  increment(by = 1, options?: UpdateOptions): Promise<UpdateResult> {
    return this.update({ type: 'increment', by }, options);
  }
  decrement(by = 1, options?: UpdateOptions): Promise<UpdateResult> {
    return this.update({ type: 'decrement', by }, options);
  }
}

/** A `g-counter`. */
export class GCounterHandle extends KeyHandle<'g-counter'> {
  increment(by = 1, options?: UpdateOptions): Promise<UpdateResult> {
    return this.update({ type: 'increment', by }, options);
  }
}

/** Set types. */
export type SetTypeName = 'g-set' | '2p-set' | 'lww-set' | 'or-set';
/** Set types that can remove. */
type RemovableSet = Exclude<SetTypeName, 'g-set'>;

/** A set (`or-set` by default): `add` and, except for a g-set, `remove`. */
export class SetHandle<T extends SetTypeName> extends KeyHandle<T> {
  /** Adds one value, or several in one atomic command. */
  add(...values: Json[]): Promise<UpdateResult> {
    return this.update(setCommand('add', values) as CommandOf<T>);
  }
  /** Removes one value, or several in one command (not for a g-set: the replica refuses it). */
  remove(this: SetHandle<RemovableSet>, ...values: Json[]): Promise<UpdateResult> {
    return this.update(setCommand('remove', values) as CommandOf<RemovableSet>);
  }
}

function setCommand(type: 'add' | 'remove', values: Json[]): CommandOf<'or-set'> {
  if (values.length === 0) throw new RangeError(`${type} needs at least one value`);
  return values.length === 1 ? { type, value: values[0] } : { type, values };
}

/** A collaborative `text`. */
export class TextHandle extends KeyHandle<'text'> {
  insert(index: number, text: string, options?: UpdateOptions): Promise<UpdateResult> {
    return this.update({ type: 'insert', index, text }, options);
  }
  delete(index: number, count = 1, options?: UpdateOptions): Promise<UpdateResult> {
    return this.update({ type: 'delete', index, count }, options);
  }
}

/** A `list` of JSON values. */
export class ListHandle extends KeyHandle<'list'> {
  insert(index: number, ...values: Json[]): Promise<UpdateResult> {
    return this.update({ type: 'insert', index, values });
  }
  set(index: number, value: Json, options?: UpdateOptions): Promise<UpdateResult> {
    return this.update({ type: 'set', index, value }, options);
  }
  delete(index: number, count = 1, options?: UpdateOptions): Promise<UpdateResult> {
    return this.update({ type: 'delete', index, count }, options);
  }
}

/** A register: `lww-register` (one value) or `mv-register` (concurrent values kept). */
export class RegisterHandle<T extends 'lww-register' | 'mv-register'> extends KeyHandle<T> {
  set(value: Json, options?: UpdateOptions): Promise<UpdateResult> {
    return this.update({ type: 'set', value } as CommandOf<T>, options);
  }
}

/** A flag: `ew-flag` (enable wins) or `dw-flag` (disable wins). */
export class FlagHandle<T extends 'ew-flag' | 'dw-flag'> extends KeyHandle<T> {
  enable(options?: UpdateOptions): Promise<UpdateResult> {
    return this.update({ type: 'enable' } as CommandOf<T>, options);
  }
  disable(options?: UpdateOptions): Promise<UpdateResult> {
    return this.update({ type: 'disable' } as CommandOf<T>, options);
  }
}

/** An `or-map`: fields that are CRDTs themselves. */
export class MapHandle extends KeyHandle<'or-map'> {
  /** Applies a command of the field's type to `field` (created with that type if missing). */
  updateField<F extends TypeName>(field: string, fieldType: F, op: CommandOf<F>, fieldOptions?: Json, options?: UpdateOptions): Promise<UpdateResult> {
    const cmd = { type: 'update', field, fieldType, op, ...(fieldOptions !== undefined ? { fieldOptions } : {}) } as CommandOf<'or-map'>;
    return this.update(cmd, options);
  }
  removeField(field: string, options?: UpdateOptions): Promise<UpdateResult> {
    return this.update({ type: 'remove', field }, options);
  }
}

/** A `lifecycle`: a state machine that only moves forward through its declared states. */
export class LifecycleHandle extends KeyHandle<'lifecycle'> {
  transition(to: string, options?: UpdateOptions): Promise<UpdateResult> {
    return this.update({ type: 'transition', to }, options);
  }
}

/** Makes typed handles over a requester (a store or a session). */
export abstract class HandleFactory implements Requester {
  abstract update<T extends TypeName>(key: string, commands: Commands<T>, options?: UpdateOptions & { readonly type?: T; readonly options?: Json }): Promise<UpdateResult>;
  abstract get<T extends TypeName = TypeName>(key: string, options?: GetOptions): Promise<GetResult<ValueOf<T>>>;
  abstract delete(key: string, options?: UpdateOptions): Promise<DeleteResult>;

  /** A `pn-counter` (up and down). */
  counter(key: string): PnCounterHandle {
    return new PnCounterHandle(this, key, 'pn-counter');
  }
  /** A `g-counter` (up only). */
  gCounter(key: string): GCounterHandle {
    return new GCounterHandle(this, key, 'g-counter');
  }
  /** A set; `or-set` (add wins) unless another set type is named. */
  set<T extends SetTypeName = 'or-set'>(key: string, type: T = 'or-set' as T): SetHandle<T> {
    return new SetHandle(this, key, type);
  }
  /** A collaborative text. */
  text(key: string): TextHandle {
    return new TextHandle(this, key, 'text');
  }
  /** A list of JSON values. */
  list(key: string): ListHandle {
    return new ListHandle(this, key, 'list');
  }
  /** A register; `lww-register` unless `mv-register` is named. */
  register<T extends 'lww-register' | 'mv-register' = 'lww-register'>(key: string, type: T = 'lww-register' as T): RegisterHandle<T> {
    return new RegisterHandle(this, key, type);
  }
  /** A flag; `ew-flag` unless `dw-flag` is named. */
  flag<T extends 'ew-flag' | 'dw-flag' = 'ew-flag'>(key: string, type: T = 'ew-flag' as T): FlagHandle<T> {
    return new FlagHandle(this, key, type);
  }
  /** An or-map. */
  map(key: string): MapHandle {
    return new MapHandle(this, key, 'or-map');
  }
  /** A lifecycle with its states in order (used when the first write creates the key). */
  lifecycle(key: string, states: readonly string[]): LifecycleHandle {
    return new LifecycleHandle(this, key, 'lifecycle', { states: [...states] });
  }
}
