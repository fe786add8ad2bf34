/**
 * A linearizability checker for recorded histories (Wing & Gong, "Testing and Verifying
 * Concurrent Objects", 1993, with Lowe's memoisation of (linearized set, state) from
 * "Testing for linearizability", 2017, as Porcupine implements it). Used by the tests of
 * strong consistency (issue 10, item 2): a history of concurrent clients' calls and
 * returns is linearizable when some total order of the operations, each placed between
 * its call and its return, is a legal sequential history of the model.
 *
 * Operations whose outcome the client never learnt (a timeout) return at +∞ with no
 * output: the model's `step` gets `undefined` and may answer several next states (applied
 * or not); states are kept as sets, as Porcupine does for nondeterministic models.
 */

/** One recorded operation. Times are from one monotonic clock (for example `performance.now()`). */
export interface HistoryOp<I, O> {
  readonly client: number;
  readonly input: I;
  /** Undefined when the outcome is unknown (then `returnMs` is `Infinity`). */
  readonly output: O | undefined;
  readonly callMs: number;
  readonly returnMs: number;
}

/** A sequential specification. */
export interface Model<S, I, O> {
  init(): S;
  /** The states the object may be in after `input` answered `output` in state `state` (empty: not legal). */
  step(state: S, input: I, output: O | undefined): S[];
  /** A canonical string of a state (equal states, equal strings). */
  key(state: S): string;
  /** An operation, for the verdict's text. */
  describe?(input: I, output: O | undefined): string;
}

/** The verdict. On failure, the longest prefix of a linearization found and the operations it could not place. */
export type Verdict =
  | { readonly ok: true; readonly operations: number }
  | { readonly ok: false; readonly operations: number; readonly longestLinearized: number; readonly stuckAt: string };

interface Entry<I, O> {
  readonly kind: 'call' | 'return';
  readonly id: number;
  readonly timeMs: number;
  readonly op: HistoryOp<I, O>;
  /** For a call: its return entry. */
  match?: Entry<I, O>;
  prev?: Entry<I, O>;
  next?: Entry<I, O>;
}

/** Bounds of one check: a search larger than this is reported rather than run for ever. */
export const LINEARIZABILITY_LIMITS = { cacheEntriesMax: 5_000_000 } as const;

/**
 * Checks `history` against `model`. Throws when the search grows past
 * `LINEARIZABILITY_LIMITS.cacheEntriesMax` states (the answer would be unknown, not yes).
 */
export function checkLinearizable<S, I, O>(model: Model<S, I, O>, history: ReadonlyArray<HistoryOp<I, O>>): Verdict {
  for (const op of history) {
    if (!(op.returnMs >= op.callMs)) throw new Error(`an operation returns before its call: ${JSON.stringify(op)}`);
    if (op.output === undefined && op.returnMs !== Infinity) throw new Error('an operation without an output must return at Infinity (its outcome is unknown)');
  }
  // Calls before returns at equal times: the more permissive reading of a tie.
  const events: Array<Entry<I, O>> = [];
  history.forEach((op, id) => {
    const call: Entry<I, O> = { kind: 'call', id, timeMs: op.callMs, op };
    const ret: Entry<I, O> = { kind: 'return', id, timeMs: op.returnMs, op };
    call.match = ret;
    events.push(call, ret);
  });
  events.sort((a, b) => a.timeMs - b.timeMs || (a.kind === b.kind ? a.id - b.id : a.kind === 'call' ? -1 : 1));
  const head: Entry<I, O> = { kind: 'call', id: -1, timeMs: -Infinity, op: undefined as never };
  let prev = head;
  for (const e of events) {
    prev.next = e;
    e.prev = prev;
    prev = e;
  }

  const linearized = new Uint8Array(history.length);
  let linearizedCount = 0;
  let longest = 0;
  const cache = new Set<string>();
  const stack: Array<{ entry: Entry<I, O>; states: S[] }> = [];
  let states: S[] = [model.init()];
  let entry = head.next;
  let stuck: Entry<I, O> | undefined;

  while (head.next) {
    if (!entry) throw new Error('linearizability search ran off the history (a return without its call)');
    if (entry.kind === 'call') {
      const ret = entry.match!;
      const next = dedupe(model, states.flatMap((s) => model.step(s, entry!.op.input, ret.op.output)));
      if (next.length > 0) {
        linearized[entry.id] = 1;
        const key = `${bitsKey(linearized)}|${next.map((s) => model.key(s)).sort().join(';')}`;
        if (!cache.has(key)) {
          if (cache.size >= LINEARIZABILITY_LIMITS.cacheEntriesMax) throw new Error(`linearizability search passed ${LINEARIZABILITY_LIMITS.cacheEntriesMax} states; the verdict is unknown`);
          cache.add(key);
          stack.push({ entry, states });
          states = next;
          linearizedCount++;
          if (linearizedCount > longest) longest = linearizedCount;
          lift(entry);
          entry = head.next;
          continue;
        }
        linearized[entry.id] = 0;
      }
      entry = entry.next;
    } else {
      // A return whose call is not linearized yet: undo the last choice.
      if (stack.length === 0) {
        return { ok: false, operations: history.length, longestLinearized: longest, stuckAt: describe(model, stuck ?? entry) };
      }
      stuck ??= entry;
      const top = stack.pop()!;
      states = top.states;
      linearized[top.entry.id] = 0;
      linearizedCount--;
      unlift(top.entry);
      entry = top.entry.next;
    }
  }
  return { ok: true, operations: history.length };
}

function dedupe<S, I, O>(model: Model<S, I, O>, states: S[]): S[] {
  if (states.length < 2) return states;
  const seen = new Map<string, S>();
  for (const s of states) seen.set(model.key(s), s);
  return [...seen.values()];
}

function bitsKey(bits: Uint8Array): string {
  return Buffer.from(bits).toString('base64');
}

/** Takes a call and its return out of the list. */
function lift<I, O>(call: Entry<I, O>): void {
  call.prev!.next = call.next;
  if (call.next) call.next.prev = call.prev;
  const ret = call.match!;
  ret.prev!.next = ret.next;
  if (ret.next) ret.next.prev = ret.prev;
}

/** Puts them back (in reverse order of `lift`). */
function unlift<I, O>(call: Entry<I, O>): void {
  const ret = call.match!;
  ret.prev!.next = ret;
  if (ret.next) ret.next.prev = ret;
  call.prev!.next = call;
  if (call.next) call.next.prev = call;
}

function describe<S, I, O>(model: Model<S, I, O>, e: Entry<I, O>): string {
  const op = e.op;
  const what = model.describe ? model.describe(op.input, op.output) : JSON.stringify({ input: op.input, output: op.output });
  return `client ${op.client}: ${what} [${op.callMs.toFixed(1)}, ${op.returnMs === Infinity ? '∞' : op.returnMs.toFixed(1)}] ms`;
}
