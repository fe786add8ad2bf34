import { connect, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { subjectsFor, type Subjects } from '#protocol';

/**
 * crdtctl's only I/O: plain JSON requests and subscriptions over core NATS. Transport
 * failures come back as `TransportError` values with a kind a person can act on; replies
 * (including `{"ok":false,...}`) are returned as parsed JSON.
 */

/** Why a request got no reply. */
export type TransportFailure = 'no-responders' | 'timeout' | 'bad-reply' | 'closed';

/** A request that got no usable reply. */
export class TransportError extends Error {
  constructor(
    readonly kind: TransportFailure,
    readonly subject: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'TransportError';
  }
}

/** NATS could not be reached at all. */
export class UnreachableError extends Error {
  constructor(
    readonly url: string,
    options?: ErrorOptions,
  ) {
    super(`cannot reach NATS at ${url}`, options);
    this.name = 'UnreachableError';
  }
}

/** A parsed JSON reply. */
export type Reply = Record<string, unknown>;

/** What the commands need from the network; tests may bind a fake. */
export interface CrdtClientPort {
  readonly subjects: Subjects;
  readonly url: string;
  /** Sends `body` as JSON to `subject`; resolves with the parsed reply, rejects with `TransportError`. */
  request(subject: string, body: unknown, timeoutMs: number): Promise<Reply>;
  /** Calls `onMessage` for each message on `subject` until the returned function is called. */
  subscribe(subject: string, onMessage: (subject: string, body: unknown) => void): () => void;
  /** Makes sure the server has seen earlier subscriptions (before a request whose events they must catch). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** How long connecting may take before NATS counts as unreachable, ms. */
const CONNECT_TIMEOUT_MS = 3_000;

/** Connects to NATS (a URL or a comma-separated list); rejects with `UnreachableError`. */
export async function connectClient(url: string, prefix: string, opts: { reconnect?: boolean; user?: string; pass?: string } = {}): Promise<CrdtClientPort> {
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: url.split(',').map((s) => s.trim()).filter(Boolean),
      name: 'crdtctl',
      timeout: CONNECT_TIMEOUT_MS,
      // The shell and `watch` run for long and should ride out a server restart.
      maxReconnectAttempts: opts.reconnect ? -1 : 0,
      reconnectTimeWait: 500,
      ...(opts.user !== undefined ? { user: opts.user, pass: opts.pass } : {}),
    });
  } catch (e) {
    throw new UnreachableError(url, { cause: e });
  }
  return new NatsCrdtClient(nc, url, subjectsFor(prefix));
}

class NatsCrdtClient implements CrdtClientPort {
  private readonly subs = new Set<Subscription>();

  constructor(
    private readonly nc: NatsConnection,
    readonly url: string,
    readonly subjects: Subjects,
  ) {}

  async request(subject: string, body: unknown, timeoutMs: number): Promise<Reply> {
    let text: string;
    try {
      const msg = await this.nc.request(subject, JSON.stringify(body), { timeout: timeoutMs });
      text = msg.string();
    } catch (e) {
      throw classify(e, subject, timeoutMs);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      throw new TransportError('bad-reply', subject, `the reply on ${subject} is not JSON: ${text.slice(0, 200)}`, { cause: e });
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new TransportError('bad-reply', subject, `the reply on ${subject} is not a JSON object: ${text.slice(0, 200)}`);
    }
    return parsed as Reply;
  }

  subscribe(subject: string, onMessage: (subject: string, body: unknown) => void): () => void {
    const sub = this.nc.subscribe(subject, {
      callback: (err, msg) => {
        if (err) return;
        let body: unknown;
        try {
          body = JSON.parse(msg.string());
        } catch {
          body = msg.string();
        }
        onMessage(msg.subject, body);
      },
    });
    this.subs.add(sub);
    return () => {
      this.subs.delete(sub);
      sub.unsubscribe();
    };
  }

  flush(): Promise<void> {
    return this.nc.flush();
  }

  async close(): Promise<void> {
    await this.nc.close().catch(() => undefined);
  }
}

function hasCause(e: unknown, name: string, depth = 0): boolean {
  if (depth > 5 || typeof e !== 'object' || e === null) return false;
  const err = e as { name?: unknown; cause?: unknown; isNoResponders?: () => boolean };
  if (err.name === name) return true;
  if (name === 'NoResponders' && typeof err.isNoResponders === 'function' && err.isNoResponders()) return true;
  return hasCause(err.cause, name, depth + 1);
}

function classify(e: unknown, subject: string, timeoutMs: number): TransportError {
  if (hasCause(e, 'NoResponders') || hasCause(e, 'NoRespondersError')) {
    return new TransportError('no-responders', subject, `no one answers on ${subject}`, { cause: e });
  }
  if (hasCause(e, 'TimeoutError')) {
    return new TransportError('timeout', subject, `no reply on ${subject} within ${timeoutMs} ms`, { cause: e });
  }
  return new TransportError('closed', subject, `the request on ${subject} failed: ${(e as Error)?.message ?? e}`, { cause: e });
}
