import type { NatsConnection } from '@nats-io/transport-node';
import type { TypeName } from '#crdt';
import { checkKey, type Subjects } from '#protocol';

/**
 * `watch`: change notices as an async iterator. Replicas publish a notice on
 * `<prefix>.changes.<key>` each time they apply an event on `<key>` (docs/protocol.md
 * §12). NATS wildcards match whole dot-separated tokens only (`*` one token, `>` the
 * rest), so a key prefix maps to subjects like this:
 *
 * | asked | NATS subject | filtered here |
 * |---|---|---|
 * | `{ key: 'visits' }` | `crdt.changes.visits` | no |
 * | `{ prefix: 'users.' }` (ends at a dot) | `crdt.changes.users.>` | no |
 * | `{ prefix: 'users.al' }` | `crdt.changes.users.>` | keys starting `users.al` |
 * | `{ prefix: 'tag' }` (inside the first token) | `crdt.changes.>` (every notice crosses the wire) | keys starting `tag` |
 * | `{ pattern: 'users.*' }` | `crdt.changes.users.*` | no (NATS token wildcards as given) |
 *
 * So name keys with dot-separated parts (`users.alice`) and watch at a dot for the
 * server to do the filtering. Notices are hints to re-read, never the data: core NATS,
 * fire and forget, possibly lost; with N replicas each write is announced N times, and
 * the iterator yields it once (per key, origin and seq) unless `everyReplica` is set.
 */

/** What to watch: exactly one of `key`, `prefix`, `pattern`. */
export interface WatchOptions {
  readonly key?: string;
  readonly prefix?: string;
  /** NATS whole-token wildcards over keys: `users.*`, `users.>`, `>`. */
  readonly pattern?: string;
  /** Yield the notice of every replica that applied a write (default: once per write). */
  readonly everyReplica?: boolean;
  /** Ends the iteration. */
  readonly signal?: AbortSignal;
  /** Notices buffered while the consumer is slow; beyond it the oldest are dropped. Default 10,000. */
  readonly queueMax?: number;
}

/** One change notice. */
export interface ChangeNotice {
  readonly key: string;
  readonly type: TypeName;
  /** The event: the replica that made it and its sequence there. */
  readonly origin: string;
  readonly seq: number;
  /** The event's hybrid logical clock reading. */
  readonly time: number;
  /** The replica that applied it and sent this notice. */
  readonly replica: string;
  /** Set when the event was a delete of the key (`store.delete`). */
  readonly deleted?: true;
}

const QUEUE_MAX_DEFAULT = 10_000;
/** Writes remembered to yield each once. */
const SEEN_MAX = 10_000;

/** The NATS subject (suffix after `<prefix>.changes.`) and the client-side filter for a watch. */
export function watchSubject(w: Pick<WatchOptions, 'key' | 'prefix' | 'pattern'>): { suffix: string; filter?: string } {
  const given = [w.key, w.prefix, w.pattern].filter((x) => x !== undefined).length;
  if (given !== 1) throw new RangeError('watch takes exactly one of key, prefix and pattern');
  if (w.key !== undefined) {
    const bad = checkKey(w.key);
    if (bad) throw new RangeError(bad.error.message);
    return { suffix: w.key };
  }
  if (w.pattern !== undefined) {
    const tokens = w.pattern.split('.');
    tokens.forEach((t, i) => {
      if (t === '>' ? i !== tokens.length - 1 : t !== '*' && checkKey(t) !== undefined) {
        throw new RangeError(`pattern ${JSON.stringify(w.pattern)}: each dot-separated part is a key part, "*" (one part) or a final ">" (the rest); for a prefix inside a part use { prefix }`);
      }
    });
    return { suffix: w.pattern };
  }
  const prefix = w.prefix!;
  if (prefix !== '' && !/^[A-Za-z0-9_\-.:/@]+$/.test(prefix)) throw new RangeError(`prefix ${JSON.stringify(prefix)} may hold only key characters`);
  const cut = prefix.lastIndexOf('.') + 1;
  const whole = prefix.slice(0, cut);
  return { suffix: `${whole}>`, ...(cut === prefix.length ? {} : { filter: prefix }) };
}

/** Subscribes and yields notices until `return()` (a `break`), `signal` or the connection's end. */
export function watchChanges(nc: NatsConnection, subjects: Subjects, w: WatchOptions): AsyncIterableIterator<ChangeNotice> {
  const { suffix, filter } = watchSubject(w);
  const queueMax = w.queueMax ?? QUEUE_MAX_DEFAULT;
  const queue: ChangeNotice[] = [];
  const seen = new Set<string>();
  let wake: (() => void) | undefined;
  let done = false;
  const sub = nc.subscribe(subjects.changes(suffix), {
    callback: (err, msg) => {
      if (err) return finish();
      let n: ChangeNotice;
      try {
        n = msg.json<ChangeNotice>();
      } catch {
        return;
      }
      if (typeof n?.key !== 'string' || (filter !== undefined && !n.key.startsWith(filter))) return;
      if (!w.everyReplica) {
        const id = `${n.key}\u0000${n.origin}\u0000${n.seq}`;
        if (seen.has(id)) return;
        seen.add(id);
        if (seen.size > SEEN_MAX) seen.delete(seen.values().next().value!);
      }
      queue.push(n);
      if (queue.length > queueMax) queue.shift();
      wake?.();
    },
  });
  void sub.closed.then(() => finish());
  const finish = () => {
    if (done) return;
    done = true;
    sub.unsubscribe();
    wake?.();
  };
  // Aborting ends the iteration at once: notices still queued are dropped.
  const abort = () => {
    queue.length = 0;
    finish();
  };
  w.signal?.addEventListener('abort', abort, { once: true });
  if (w.signal?.aborted) abort();

  const it: AsyncIterableIterator<ChangeNotice> = {
    async next(): Promise<IteratorResult<ChangeNotice>> {
      while (queue.length === 0 && !done) await new Promise<void>((r) => (wake = r));
      wake = undefined;
      if (queue.length > 0) return { value: queue.shift()!, done: false };
      return { value: undefined, done: true };
    },
    async return(): Promise<IteratorResult<ChangeNotice>> {
      finish();
      queue.length = 0;
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]() {
      return it;
    },
  };
  return it;
}
