import { isObject } from '#crdt/json';
import { errorReply, type ErrorReply } from './error-codes';
import { KEY_PATTERN, PROTOCOL_LIMITS } from './limits';

/** When an update is answered. */
export type AckLevel = 'local' | 'stream' | 'all';
/** How fresh a read must be (`linearizable`: at the key's last strong write, see strong.ts). */
export type ReadConsistency = 'local' | 'latest' | 'linearizable';
/** How a write is ordered: `eventual` (a CRDT op, the default) or `strong` (ordered by the stream per key, see strong.ts). */
export type WriteConsistency = 'eventual' | 'strong';

/** `create`: make a key of a CRDT type. */
export interface CreateRequest {
  readonly key: string;
  readonly type: string;
  readonly options: unknown;
}
/** `update`: apply one op or an atomic batch to a key. */
export interface UpdateRequest {
  readonly key: string;
  readonly ops: readonly unknown[];
  readonly type?: string;
  readonly options: unknown;
  readonly ack: AckLevel;
  readonly after?: string;
  readonly timeoutMs: number;
  /** The client's request id: a retried update with the same id is applied once (see `parseRid`). */
  readonly rid?: string;
  /** `strong`: the write goes through the key's strong subject, ordered by the stream (strong.ts). */
  readonly consistency: WriteConsistency;
  /** With `strong`: the revision the key must be at (0: no strong write yet), making the write a compare-and-set. */
  readonly expect?: number;
}
/** `delete`: remove a key (observed-remove: docs/protocol.md §4.8). */
export interface DeleteRequest {
  readonly key: string;
  readonly ack: AckLevel;
  readonly after?: string;
  readonly timeoutMs: number;
  /** The client's request id: a retried delete with the same id is applied once. */
  readonly rid?: string;
  /** `strong`: the delete goes through the key's strong subject, ordered by the stream like a strong update (strong.ts). */
  readonly consistency: WriteConsistency;
  /** With `strong`: the revision the key must be at, making the delete a compare-and-set. */
  readonly expect?: number;
}
/** `get`: read a key. */
export interface GetRequest {
  readonly key: string;
  readonly after?: string;
  readonly consistency: ReadConsistency;
  readonly timeoutMs: number;
}
/** `keys`: list keys. */
export interface KeysRequest {
  readonly prefix: string;
  readonly limit: number;
}
/** `history` and `before-sync`: one key. */
export interface KeyRequest {
  readonly key: string;
}

/** The result of parsing a request: the typed request or the error reply to send. */
export type Parsed<T> = { readonly ok: true; readonly request: T } | ErrorReply;

const DEFAULT_WAIT_MS = 5_000;

/** Parses a raw request body (bytes) into a JSON object, enforcing size and depth limits. */
export function parseBody(data: Uint8Array): { ok: true; body: Record<string, unknown> } | ErrorReply {
  if (data.length > PROTOCOL_LIMITS.requestBytesMax) {
    return errorReply('TOO_LARGE', `request is ${data.length} bytes; the limit is ${PROTOCOL_LIMITS.requestBytesMax}`);
  }
  if (data.length === 0) return { ok: true, body: {} };
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.length).toString('utf8'));
  } catch (e) {
    return errorReply('BAD_REQUEST', `request is not JSON: ${(e as Error).message}`);
  }
  if (!isObject(body)) return errorReply('BAD_REQUEST', 'a request is a JSON object, for example {"key":"visits"}');
  if (depthOf(body, PROTOCOL_LIMITS.jsonDepthMax + 1) > PROTOCOL_LIMITS.jsonDepthMax) {
    return errorReply('TOO_LARGE', `request nests deeper than ${PROTOCOL_LIMITS.jsonDepthMax} levels`);
  }
  return { ok: true, body };
}

/** Depth of a JSON value, counting stops once `cap` is reached (so hostile depth costs little). */
function depthOf(v: unknown, cap: number): number {
  if (typeof v !== 'object' || v === null) return 0;
  if (cap <= 0) return 1;
  let max = 0;
  for (const child of Array.isArray(v) ? v : Object.values(v)) {
    const d = depthOf(child, cap - 1);
    if (d > max) max = d;
    if (max >= cap) break;
  }
  return max + 1;
}

/** Checks a key: a printable string of 1..256 characters, no empty dot-separated part. */
export function checkKey(key: unknown): ErrorReply | undefined {
  if (typeof key !== 'string' || key.length === 0) return errorReply('BAD_REQUEST', '"key" must be a non-empty string');
  if (key.length > PROTOCOL_LIMITS.keyLengthMax) {
    return errorReply('TOO_LARGE', `key is ${key.length} characters; the limit is ${PROTOCOL_LIMITS.keyLengthMax}`);
  }
  if (!KEY_PATTERN.test(key) || key.startsWith('.') || key.endsWith('.') || key.includes('..')) {
    return errorReply('BAD_REQUEST', `key ${JSON.stringify(key)} may hold only letters, digits and _-.:/@, with no empty part between dots`);
  }
  return undefined;
}

function optionalString(body: Record<string, unknown>, field: string): ErrorReply | undefined {
  const v = body[field];
  if (v !== undefined && typeof v !== 'string') return errorReply('BAD_REQUEST', `"${field}" must be a string`);
  return undefined;
}

function timeoutOf(body: Record<string, unknown>): number | ErrorReply {
  const v = body.timeoutMs;
  if (v === undefined) return DEFAULT_WAIT_MS;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > PROTOCOL_LIMITS.waitMsMax) {
    return errorReply('BAD_REQUEST', `"timeoutMs" must be an integer from 0 to ${PROTOCOL_LIMITS.waitMsMax}`);
  }
  return v;
}

/** Parses `create`. */
export function parseCreate(body: Record<string, unknown>): Parsed<CreateRequest> {
  const bad = checkKey(body.key);
  if (bad) return bad;
  if (typeof body.type !== 'string') return errorReply('BAD_REQUEST', '"type" must be a CRDT type name such as "pn-counter"');
  return { ok: true, request: { key: body.key as string, type: body.type, options: body.options ?? null } };
}

/** Longest client request id (`rid`), characters. */
export const RID_LENGTH_MAX = 128;
/** A request id: printable ASCII without spaces, 1..128 characters (a UUID fits). */
const RID_PATTERN = /^[\x21-\x7e]+$/;

/**
 * Reads the optional client request id `rid` of an update: undefined when absent, an error
 * reply when malformed. A replica remembers the reply of each rid for a bounded time and
 * number of ids (docs/protocol.md §4.2), so a client may resend an update whose reply it
 * lost, with the same rid, and the write is applied once.
 */
export function parseRid(body: Record<string, unknown>): string | undefined | ErrorReply {
  const v = body.rid;
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.length === 0 || v.length > RID_LENGTH_MAX || !RID_PATTERN.test(v)) {
    return errorReply('BAD_REQUEST', `"rid" must be a string of 1 to ${RID_LENGTH_MAX} printable characters without spaces, for example a UUID`);
  }
  return v;
}

/** Parses `update`: exactly one of `op` and `ops`. */
export function parseUpdate(body: Record<string, unknown>): Parsed<UpdateRequest> {
  const bad = checkKey(body.key) ?? optionalString(body, 'type') ?? optionalString(body, 'after');
  if (bad) return bad;
  const rid = parseRid(body);
  if (typeof rid === 'object') return rid;
  let ops: unknown[];
  if (body.op !== undefined && body.ops !== undefined) return errorReply('BAD_REQUEST', 'give "op" or "ops", not both');
  if (body.op !== undefined) ops = [body.op];
  else if (Array.isArray(body.ops)) ops = body.ops;
  else return errorReply('BAD_REQUEST', '"op" (an object like {"type":"increment","by":1}) or "ops" (an array of them) is required');
  if (ops.length === 0) return errorReply('BAD_REQUEST', '"ops" must not be empty');
  if (ops.length > PROTOCOL_LIMITS.batchOpsMax) {
    return errorReply('TOO_LARGE', `batch has ${ops.length} ops; the limit is ${PROTOCOL_LIMITS.batchOpsMax}`);
  }
  for (const op of ops) if (!isObject(op) || typeof op.type !== 'string') return errorReply('INVALID_OP', 'every op is an object with a string "type", for example {"type":"add","value":"x"}');
  const ack = ackOf(body);
  if (typeof ack === 'object') return ack;
  const timeoutMs = timeoutOf(body);
  if (typeof timeoutMs !== 'number') return timeoutMs;
  const write = writeConsistencyOf(body, 'an update');
  if ('ok' in write) return write;
  const { consistency, expect } = write;
  return {
    ok: true,
    request: {
      key: body.key as string,
      ops,
      type: body.type as string | undefined,
      options: body.options ?? null,
      ack,
      after: body.after as string | undefined,
      timeoutMs,
      ...(rid !== undefined ? { rid } : {}),
      consistency,
      ...(expect !== undefined ? { expect } : {}),
    },
  };
}

/** Parses a write's `consistency` (default `eventual`) and `expect` (a revision, with `strong` only). */
function writeConsistencyOf(body: Record<string, unknown>, what: string): { consistency: WriteConsistency; expect?: number } | ErrorReply {
  const consistency = body.consistency === undefined ? 'eventual' : body.consistency;
  if (consistency !== 'eventual' && consistency !== 'strong') return errorReply('BAD_REQUEST', `"consistency" of ${what} must be "eventual" (the default) or "strong"`);
  const expect = body.expect;
  if (expect === undefined) return { consistency };
  if (consistency !== 'strong') return errorReply('BAD_REQUEST', '"expect" (a compare-and-set) needs "consistency": "strong"');
  if (typeof expect !== 'number' || !Number.isSafeInteger(expect) || expect < 0) return errorReply('BAD_REQUEST', '"expect" must be a revision: a non-negative integer (0: the key has had no strong write)');
  return { consistency, expect };
}

/** Parses `ack` (default `local`). */
function ackOf(body: Record<string, unknown>): AckLevel | ErrorReply {
  const ack = body.ack === undefined ? 'local' : body.ack;
  if (ack !== 'local' && ack !== 'stream' && ack !== 'all') return errorReply('BAD_REQUEST', '"ack" must be "local", "stream" or "all"');
  return ack;
}

/** Parses `delete`: a key, and the same `ack`, `after`, `timeoutMs`, `rid`, `consistency` and `expect` as `update`. */
export function parseDelete(body: Record<string, unknown>): Parsed<DeleteRequest> {
  const bad = checkKey(body.key) ?? optionalString(body, 'after');
  if (bad) return bad;
  const rid = parseRid(body);
  if (typeof rid === 'object') return rid;
  const ack = ackOf(body);
  if (typeof ack === 'object') return ack;
  const timeoutMs = timeoutOf(body);
  if (typeof timeoutMs !== 'number') return timeoutMs;
  const write = writeConsistencyOf(body, 'a delete');
  if ('ok' in write) return write;
  const { consistency, expect } = write;
  return {
    ok: true,
    request: { key: body.key as string, ack, after: body.after as string | undefined, timeoutMs, ...(rid !== undefined ? { rid } : {}), consistency, ...(expect !== undefined ? { expect } : {}) },
  };
}

/** Parses `get`. */
export function parseGet(body: Record<string, unknown>): Parsed<GetRequest> {
  const bad = checkKey(body.key) ?? optionalString(body, 'after');
  if (bad) return bad;
  const consistency = body.consistency === undefined ? 'local' : body.consistency;
  if (consistency !== 'local' && consistency !== 'latest' && consistency !== 'linearizable') return errorReply('BAD_REQUEST', '"consistency" must be "local", "latest" or "linearizable"');
  const timeoutMs = timeoutOf(body);
  if (typeof timeoutMs !== 'number') return timeoutMs;
  return { ok: true, request: { key: body.key as string, after: body.after as string | undefined, consistency, timeoutMs } };
}

/** Parses `keys`. */
export function parseKeys(body: Record<string, unknown>): Parsed<KeysRequest> {
  const bad = optionalString(body, 'prefix');
  if (bad) return bad;
  const limit = body.limit === undefined ? 1000 : body.limit;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > PROTOCOL_LIMITS.keysLimitMax) {
    return errorReply('BAD_REQUEST', `"limit" must be an integer from 1 to ${PROTOCOL_LIMITS.keysLimitMax}`);
  }
  return { ok: true, request: { prefix: (body.prefix as string | undefined) ?? '', limit } };
}

/** Parses `history` and `before-sync`. */
export function parseKeyOnly(body: Record<string, unknown>): Parsed<KeyRequest> {
  const bad = checkKey(body.key);
  if (bad) return bad;
  return { ok: true, request: { key: body.key as string } };
}
