import type { TypeName } from './crdt-type';
import type { Json } from './json';
import type { SequenceDeleteOp } from './sequence/ops';
import type { dwFlag, DwFlagOp } from './types/dw-flag';
import type { ewFlag, EwFlagOp } from './types/ew-flag';
import type { gCounter, GCounterOp } from './types/g-counter';
import type { gSet, GSetOp } from './types/g-set';
import type { lifecycle, LifecycleOp } from './types/lifecycle';
import type { list, ListInsertOp, ListSetOp } from './types/list';
import type { lwwRegister, LwwRegisterOp } from './types/lww-register';
import type { lwwSet, LwwSetOp } from './types/lww-set';
import type { mvRegister, MvRegisterOp } from './types/mv-register';
import type { orMap, OrMapOp } from './types/or-map';
import type { orSet, OrSetOp } from './types/or-set';
import type { pnCounter, PnCounterOp } from './types/pn-counter';
import type { text, TextInsertOp } from './types/text';
import type { twoPhaseSet, TwoPhaseSetOp } from './types/two-phase-set';
import type { CrdtType } from './crdt-type';

/**
 * The client commands each type's `prepare` accepts, as TypeScript types, and the value
 * each type reads as. The command tags are taken from the types' own op definitions
 * (`PnCounterOp['type']`, ...), so a renamed op tag breaks the build here instead of
 * drifting; the fields are those each type's `prepare` documents and checks. Clients
 * (libs/client, crdtctl) derive from these, never restate them.
 */

/** A set command of the given verbs: one value or a batch of values. */
export type SetCommandOf<Verb extends string> =
  | { readonly type: Verb; readonly value: Json }
  | { readonly type: Verb; readonly values: readonly Json[] };

/** `text` and `list` delete: `count` elements from `index` (default 1). */
export type SequenceDeleteCommand = { readonly type: SequenceDeleteOp['type']; readonly index: number; readonly count?: number };

/** Commands by type name. */
export interface CommandsByType {
  'ew-flag': { readonly type: EwFlagOp['type'] };
  'dw-flag': { readonly type: DwFlagOp['type'] };
  'g-counter': { readonly type: GCounterOp['type']; readonly by?: number };
  'pn-counter': { readonly type: PnCounterOp['type']; readonly by?: number };
  'lww-register': { readonly type: LwwRegisterOp['type']; readonly value: Json };
  'mv-register': { readonly type: MvRegisterOp['type']; readonly value: Json };
  'g-set': SetCommandOf<GSetOp['type']>;
  '2p-set': SetCommandOf<TwoPhaseSetOp['type']>;
  'lww-set': SetCommandOf<LwwSetOp['type']>;
  'or-set': SetCommandOf<OrSetOp['type']>;
  'or-map': OrMapCommand;
  text: { readonly type: TextInsertOp['type']; readonly index: number; readonly text: string } | SequenceDeleteCommand;
  list:
    | { readonly type: ListInsertOp['type']; readonly index: number; readonly values: readonly Json[] }
    | { readonly type: ListInsertOp['type']; readonly index: number; readonly value: Json }
    | { readonly type: ListSetOp['type']; readonly index: number; readonly value: Json }
    | SequenceDeleteCommand;
  // `set` is lifecycle's documented alias of `transition` (lifecycle.ts).
  lifecycle: { readonly type: LifecycleOp['type']; readonly to: string } | { readonly type: 'set'; readonly value: string };
}

/** An or-map command: update a field with a command of the field's type, or remove the field. */
export type OrMapCommand =
  | { [F in TypeName]: { readonly type: Extract<OrMapOp['type'], 'update'>; readonly field: string; readonly fieldType: F; readonly fieldOptions?: Json; readonly op: CommandOf<F> } }[TypeName]
  | { readonly type: Extract<OrMapOp['type'], 'remove'>; readonly field: string };

/** A client command of type `T`. */
export type CommandOf<T extends TypeName> = CommandsByType[T];

/** Any client command of any type. */
export type AnyCommand = CommandOf<TypeName>;

type ValueOfImpl<I> = I extends CrdtType<unknown, infer _Op, infer V> ? V : never;

/** The value each type reads as, from the type's own definition. */
export interface ValuesByType {
  'ew-flag': ValueOfImpl<typeof ewFlag>;
  'dw-flag': ValueOfImpl<typeof dwFlag>;
  'g-counter': ValueOfImpl<typeof gCounter>;
  'pn-counter': ValueOfImpl<typeof pnCounter>;
  'lww-register': ValueOfImpl<typeof lwwRegister>;
  'mv-register': ValueOfImpl<typeof mvRegister>;
  'g-set': ValueOfImpl<typeof gSet>;
  '2p-set': ValueOfImpl<typeof twoPhaseSet>;
  'lww-set': ValueOfImpl<typeof lwwSet>;
  'or-set': ValueOfImpl<typeof orSet>;
  'or-map': ValueOfImpl<typeof orMap>;
  text: ValueOfImpl<typeof text>;
  list: ValueOfImpl<typeof list>;
  lifecycle: ValueOfImpl<typeof lifecycle>;
}

/** The value of a key of type `T`. */
export type ValueOf<T extends TypeName> = ValuesByType[T];

/** One example command per type, for hints and help (checked against the command types). */
export const COMMAND_EXAMPLES: { readonly [T in TypeName]: readonly CommandOf<T>[] } = {
  'ew-flag': [{ type: 'enable' }, { type: 'disable' }],
  'dw-flag': [{ type: 'enable' }, { type: 'disable' }],
  'g-counter': [{ type: 'increment', by: 1 }],
  'pn-counter': [{ type: 'increment', by: 1 }, { type: 'decrement', by: 1 }],
  'lww-register': [{ type: 'set', value: 'v' }],
  'mv-register': [{ type: 'set', value: 'v' }],
  'g-set': [{ type: 'add', value: 'x' }],
  '2p-set': [{ type: 'add', value: 'x' }, { type: 'remove', value: 'x' }],
  'lww-set': [{ type: 'add', value: 'x' }, { type: 'remove', value: 'x' }],
  'or-set': [{ type: 'add', value: 'x' }, { type: 'remove', value: 'x' }],
  'or-map': [{ type: 'update', field: 'f', fieldType: 'pn-counter', op: { type: 'increment', by: 1 } }, { type: 'remove', field: 'f' }],
  text: [{ type: 'insert', index: 0, text: 'hi' }, { type: 'delete', index: 0, count: 1 }],
  list: [{ type: 'insert', index: 0, value: 'x' }, { type: 'set', index: 0, value: 'y' }, { type: 'delete', index: 0 }],
  lifecycle: [{ type: 'transition', to: 'closed' }],
};
