import type { NatsConnection } from '@nats-io/transport-node';
import type { Subjects } from '#protocol';

/** How long the dashboard waits for a replica's answer. */
export const KEY_BROWSER_TIMEOUT_MS = 3_000;
/** Keys listed at most. */
export const KEYS_LIMIT_MAX = 200;
/** Longest key or prefix accepted (a replica bounds keys too; this keeps junk off the bus). */
const KEY_LENGTH_MAX = 1_024;

/** A reply as the dashboard passes it on: the replica's JSON, or a coded failure of the request itself. */
export type BrowserReply = Record<string, unknown>;

/**
 * The dashboard's key browser: asks any one replica over NATS with the client commands
 * (`<prefix>.api.keys`, `get`, `history`), as `crdtctl` does, and passes the plain-JSON
 * replies on. The coordinator's NATS user may use the client commands (an admin is a client).
 */
export class KeyBrowser {
  constructor(
    private readonly nc: () => NatsConnection | undefined,
    private readonly subjects: Subjects,
    private readonly timeoutMs = KEY_BROWSER_TIMEOUT_MS,
  ) {}

  /** Keys starting with `prefix`, at most `limit` (1..KEYS_LIMIT_MAX). */
  keys(prefix: string, limit: number): Promise<BrowserReply> {
    if (prefix.length > KEY_LENGTH_MAX) return Promise.resolve(bad(`the prefix may be at most ${KEY_LENGTH_MAX} characters`));
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > KEYS_LIMIT_MAX) return Promise.resolve(bad(`"limit" must be 1 to ${KEYS_LIMIT_MAX}`));
    return this.ask('keys', { prefix, limit });
  }

  /** One key's type, value and history (events since the last round). */
  async key(key: string): Promise<BrowserReply> {
    if (key.length === 0 || key.length > KEY_LENGTH_MAX) return bad(`"key" must be 1 to ${KEY_LENGTH_MAX} characters`);
    const [value, history] = await Promise.all([this.ask('get', { key }), this.ask('history', { key })]);
    return { ok: value.ok === true, key, value, history };
  }

  private async ask(command: string, body: Record<string, unknown>): Promise<BrowserReply> {
    const nc = this.nc();
    if (!nc || nc.isClosed()) return failure('UNAVAILABLE', 'the coordinator is not connected to NATS');
    try {
      const msg = await nc.request(this.subjects.api(command), JSON.stringify(body), { timeout: this.timeoutMs });
      const reply = JSON.parse(msg.string()) as unknown;
      return typeof reply === 'object' && reply !== null ? (reply as BrowserReply) : failure('BAD_REPLY', 'a replica answered with something other than a JSON object');
    } catch (e) {
      return failure('UNAVAILABLE', `no replica answered ${this.subjects.api(command)}: ${(e as Error)?.message ?? e}`);
    }
  }
}

function failure(code: string, message: string): BrowserReply {
  return { ok: false, error: { code, message } };
}

function bad(message: string): BrowserReply {
  return failure('BAD_REQUEST', message);
}
