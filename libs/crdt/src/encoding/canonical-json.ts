import { createHash } from 'node:crypto';
import type { Json } from '../json';

/**
 * Canonical JSON: object keys sorted by UTF-16 code unit order, no white space, numbers
 * as JavaScript prints them. Two replicas with equal states produce equal strings, so
 * digests can be compared across the cluster (as Akka Distributed Data does with its
 * deterministic serializers).
 */
export function canonicalJson(value: Json): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new Error(`canonicalJson: non-finite number ${value}`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    let s = '[';
    for (let i = 0; i < value.length; i++) s += (i ? ',' : '') + canonicalJson(value[i]);
    return s + ']';
  }
  const keys = Object.keys(value).sort();
  let s = '{';
  let first = true;
  for (const k of keys) {
    const v = value[k];
    if (v === undefined) continue;
    s += (first ? '' : ',') + JSON.stringify(k) + ':' + canonicalJson(v);
    first = false;
  }
  return s + '}';
}

/** Hex SHA-256 of a canonical encoding: the digest replicas compare in a round. */
export function digestOf(value: Json): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

/** Compares strings by code unit order, the order canonical encodings sort by. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
