import { errorReply, isErrorReply, parseRid, type ErrorReply } from '#protocol';

/**
 * Exactly-once updates for retried requests (issue 10): a client that lost the reply of
 * an `update` resends it with the same request id (`rid`), and the replica answers the
 * resend with the first reply instead of writing again. A resend that arrives while the
 * first run is still under way (waiting for its ack, say) waits for that run's reply.
 *
 * Pure and bounded: the clock comes in as a function; at most `idsMax` ids are
 * remembered, each for at most `rememberMs`. The oldest id is forgotten first, so under
 * heavy write load an id is remembered for min(`rememberMs`, the time `idsMax` newer ids
 * take to arrive). The memory is per replica and in memory only: a resend must go to the
 * same replica (the typed client does this), and a replica restart forgets every id.
 *
 * Only replies that name a written event are remembered (success, or a TIMEOUT that
 * carries `seq`): after any other error nothing was applied, so a resend runs afresh.
 */

/** Bounds of the dedupe memory (units last). */
export interface RequestDedupeLimits {
  /** Most request ids remembered at once. */
  readonly idsMax: number;
  /** How long a request id is remembered after its first arrival, ms. */
  readonly rememberMs: number;
}

/**
 * Defaults: 10,000 ids for 2 minutes; two minutes match the op stream's duplicate window
 * and are far longer than the typed client's whole retry budget.
 */
export const REQUEST_DEDUPE_DEFAULTS: RequestDedupeLimits = { idsMax: 10_000, rememberMs: 120_000 };

interface Entry<R> {
  /** The key the id was first used with; the same id on another key is refused. */
  readonly key: unknown;
  readonly atMs: number;
  readonly reply: Promise<R>;
}

/** True when a reply names a written event (so a resend must not write again). */
export function namesWrittenEvent(reply: unknown): boolean {
  if (typeof reply !== 'object' || reply === null) return false;
  const r = reply as { ok?: unknown; seq?: unknown };
  return r.ok === true || typeof r.seq === 'number';
}

/** The reply memory of one replica's updates, keyed by the client's request id. */
export class RequestDedupe<R> {
  private readonly entries = new Map<string, Entry<R>>();
  private readonly limits: RequestDedupeLimits;

  constructor(
    private readonly nowMs: () => number,
    limits: Partial<RequestDedupeLimits> = {},
  ) {
    this.limits = { ...REQUEST_DEDUPE_DEFAULTS, ...limits };
  }

  /** Ids remembered now (for tests and status). */
  get size(): number {
    return this.entries.size;
  }

  /**
   * Runs `write` for an update body, once per `rid`: a body without `rid` (or with a
   * malformed one, which `write`'s parser refuses) just runs. A repeat of a remembered id
   * gets the first reply with `"duplicate": true` added.
   */
  run(body: Record<string, unknown>, write: () => Promise<R>): Promise<R | ErrorReply> {
    const rid = parseRid(body);
    if (rid === undefined || typeof rid === 'object') return write();
    const now = this.nowMs();
    this.expire(now);
    const seen = this.entries.get(rid);
    if (seen) {
      if (seen.key !== body.key) {
        return Promise.resolve(errorReply('BAD_REQUEST', `"rid" ${JSON.stringify(rid)} was already used for another key; use a new id for each update`));
      }
      return seen.reply.then((r) => (isErrorReply(r) || typeof r !== 'object' || r === null ? r : ({ ...r, duplicate: true } as R)));
    }
    const reply = write();
    const entry: Entry<R> = { key: body.key, atMs: now, reply };
    this.entries.set(rid, entry);
    while (this.entries.size > this.limits.idsMax) this.entries.delete(this.entries.keys().next().value!);
    // Nothing was applied: forget the id, so that a resend writes.
    reply.then(
      (r) => {
        if (!namesWrittenEvent(r) && this.entries.get(rid) === entry) this.entries.delete(rid);
      },
      () => {
        if (this.entries.get(rid) === entry) this.entries.delete(rid);
      },
    );
    return reply;
  }

  /** Forgets ids older than `rememberMs` (the map is in arrival order). */
  private expire(now: number): void {
    for (const [rid, e] of this.entries) {
      if (now - e.atMs < this.limits.rememberMs) break;
      this.entries.delete(rid);
    }
  }
}
