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
import { text } from './types/text';
import { list } from './types/list';
import { lifecycle } from './types/lifecycle';

// Typed loosely on purpose: callers hold states as opaque values and only ever pass a
// state back to the type that made it.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyCrdtType = CrdtType<any, any, any>;

/**
 * Every type of the catalogue except the OR-Map: the types an OR-Map's field may hold
 * besides another map. The map itself imports this table for its fields, and the registry
 * adds the map to it; so neither the map nor the registry needs the other (no import cycle).
 */
const FIELD_TYPES: Record<Exclude<TypeName, 'or-map'>, AnyCrdtType> = {
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
  text,
  list,
  lifecycle,
};

/** True when `name` is one of the catalogue's type names. */
export function isTypeName(name: unknown): name is TypeName {
  return typeof name === 'string' && (TYPE_NAMES as readonly string[]).includes(name);
}

/**
 * The implementation of a type by its wire name, or `UNKNOWN_TYPE`; `orMap` answers for
 * `or-map` (the caller passes it: the map is not in this table).
 */
export function typeByName(name: unknown, orMap: AnyCrdtType): Result<AnyCrdtType> {
  if (!isTypeName(name)) return err('UNKNOWN_TYPE', `unknown CRDT type ${JSON.stringify(name)}; known types: ${TYPE_NAMES.join(', ')}`);
  return ok(name === 'or-map' ? orMap : FIELD_TYPES[name]);
}
