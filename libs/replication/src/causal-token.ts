import { isVersionVector, vvEncode, type VersionVector } from '#crdt';

/**
 * Causal tokens: opaque strings that carry a version vector. A client passes the token
 * of its last write or read as `after`, and any replica answers only once it has applied
 * everything the token covers (read-your-writes and monotonic reads across replicas).
 */
const PREFIX = 'v1.';

/** Encodes a version vector as a token. */
export function encodeToken(vv: VersionVector): string {
  return PREFIX + Buffer.from(JSON.stringify(vvEncode(vv))).toString('base64url');
}

/** Decodes a token; undefined when it is malformed or forged into something that is not a vector. */
export function decodeToken(token: string): VersionVector | undefined {
  if (!token.startsWith(PREFIX) || token.length > 64 * 1024) return undefined;
  try {
    const vv: unknown = JSON.parse(Buffer.from(token.slice(PREFIX.length), 'base64url').toString('utf8'));
    return isVersionVector(vv) ? vv : undefined;
  } catch {
    return undefined;
  }
}
