import type { Result } from './result';
import { typeByName, type AnyCrdtType } from './field-types';
import { orMap } from './types/or-map';

export { isTypeName, type AnyCrdtType } from './field-types';

/** The implementation of a type by its wire name, or `UNKNOWN_TYPE`. */
export function crdtType(name: unknown): Result<AnyCrdtType> {
  return typeByName(name, orMap);
}
