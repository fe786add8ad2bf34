import type { NatsConnection } from '@nats-io/transport-node';
import { ConflictError, CrdtError } from './errors';

/** A reply that said `ok: true`, as parsed JSON. */
export type OkReply = Readonly<Record<string, unknown>> & { readonly ok: true };

/**
 * One JSON request over core NATS. Resolves with the reply when it says `ok: true`;
 * rejects with a `CrdtError` carrying the replica's code, or a client code when no usable
 * reply came (NO_RESPONDERS, REQUEST_TIMEOUT, BAD_REPLY, CLOSED).
 */
export async function requestJson(nc: NatsConnection, subject: string, body: unknown, timeoutMs: number): Promise<OkReply> {
  let text: string;
  try {
    text = (await nc.request(subject, JSON.stringify(body), { timeout: timeoutMs })).string();
  } catch (e) {
    throw classify(e, subject, timeoutMs);
  }
  let reply: unknown;
  try {
    reply = JSON.parse(text);
  } catch (e) {
    throw new CrdtError('BAD_REPLY', `the reply on ${subject} is not JSON: ${text.slice(0, 200)}`, undefined, { cause: e });
  }
  if (typeof reply !== 'object' || reply === null || Array.isArray(reply)) throw new CrdtError('BAD_REPLY', `the reply on ${subject} is not a JSON object`);
  const r = reply as Record<string, unknown>;
  if (r.ok === true) return r as OkReply;
  const err = r.error as { code?: unknown; message?: unknown } | undefined;
  if (typeof err?.code !== 'string') throw new CrdtError('BAD_REPLY', `the reply on ${subject} is neither a success nor a coded error`);
  const message = typeof err.message === 'string' ? err.message : err.code;
  if (err.code === 'CONFLICT' && typeof r.revision === 'number') return Promise.reject(new ConflictError(message, r.revision, r));
  return Promise.reject(new CrdtError(err.code as never, message, r));
}

function hasCause(e: unknown, names: readonly string[], depth = 0): boolean {
  if (depth > 5 || typeof e !== 'object' || e === null) return false;
  const err = e as { name?: unknown; cause?: unknown; isNoResponders?: () => boolean };
  if (typeof err.name === 'string' && names.includes(err.name)) return true;
  if (names.includes('NoRespondersError') && typeof err.isNoResponders === 'function' && err.isNoResponders()) return true;
  return hasCause(err.cause, names, depth + 1);
}

function classify(e: unknown, subject: string, timeoutMs: number): CrdtError {
  if (hasCause(e, ['NoResponders', 'NoRespondersError'])) return new CrdtError('NO_RESPONDERS', `no one answers on ${subject}`, undefined, { cause: e });
  if (hasCause(e, ['TimeoutError'])) return new CrdtError('REQUEST_TIMEOUT', `no reply on ${subject} within ${timeoutMs} ms`, undefined, { cause: e });
  return new CrdtError('CLOSED', `the request on ${subject} failed: ${(e as Error)?.message ?? e}`, undefined, { cause: e });
}
