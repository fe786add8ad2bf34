/** JSON values: everything on the wire and in encodings is one of these. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** True when `v` is a plain (non-array, non-null) object. */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** True when `v` is a non-negative safe integer. */
export function isNat(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** True when `v` is a safe integer (any sign). */
export function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v);
}

/** True when `v` is a non-empty string. */
export function isNonEmptyString(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0;
}

/**
 * True when `v` is JSON data (finite numbers, plain objects, arrays, strings, booleans,
 * null) no deeper than `depthMax`. Values stored in registers, sets and lists must pass
 * this so that every replica encodes them to the same bytes.
 */
export function isJson(v: unknown, depthMax = 32): v is Json {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return true;
  if (typeof v === 'number') return Number.isFinite(v);
  if (depthMax <= 0) return false;
  if (Array.isArray(v)) return v.every((x) => isJson(x, depthMax - 1));
  if (isObject(v)) {
    if (Object.getPrototypeOf(v) !== Object.prototype && Object.getPrototypeOf(v) !== null) return false;
    for (const k of Object.keys(v)) if (!isJson(v[k], depthMax - 1)) return false;
    return true;
  }
  return false;
}
