import type { CrdtType, TypeName } from './crdt-type';
import { TYPE_NAMES } from './crdt-type';
import { err, ok, type Result } from './result';
import { ewFlag } from './types/ew-flag';
import { dwFlag } from './types/dw-flag';
import { gCounter } from './types/g-counter';
import { pnCounter } from './types/pn-counter';
import { lwwRegister } from './types/lww-register';
import { mvRegister } from './types/mv-register';
import { gSet } from './types/g-set';
import { twoPhaseSet } from './types/two-phase-set';
import { lwwSet } from './types/lww-set';
import { orSet } from './types/or-set';
import { orMap } from './types/or-map';
import { text } from './types/text';
import { list } from './types/list';
import { lifecycle } from './types/lifecycle';

// Typed loosely on purpose: callers hold states as opaque values and only ever pass a
// state back to the type that made it.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyCrdtType = CrdtType<any, any, any>;

const TYPES: Record<TypeName, AnyCrdtType> = {
  'ew-flag': ewFlag,
  'dw-flag': dwFlag,
  'g-counter': gCounter,
  'pn-counter': pnCounter,
  'lww-register': lwwRegister,
  'mv-register': mvRegister,
  'g-set': gSet,
  '2p-set': twoPhaseSet,
  'lww-set': lwwSet,
  'or-set': orSet,
  'or-map': orMap,
  text,
  list,
  lifecycle,
};

/** True when `name` is one of the catalogue's type names. */
export function isTypeName(name: unknown): name is TypeName {
  return typeof name === 'string' && (TYPE_NAMES as readonly string[]).includes(name);
}

/** The implementation of a type by its wire name, or `UNKNOWN_TYPE`. */
export function crdtType(name: unknown): Result<AnyCrdtType> {
  if (!isTypeName(name)) return err('UNKNOWN_TYPE', `unknown CRDT type ${JSON.stringify(name)}; known types: ${TYPE_NAMES.join(', ')}`);
  return ok(TYPES[name]);
}
