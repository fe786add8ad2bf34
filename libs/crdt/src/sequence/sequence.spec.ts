import * as fc from 'fast-check';
import { text, type TextOp } from '../types/text';
import { outranks } from './run';

/**
 * The engine against a reference: RGA written the plain way, one object per character in
 * an array, integrating each insert by scanning from its origin and skipping elements that
 * outrank it. Runs, splay tree, id index, hint and fast paths must give exactly the same
 * text at every replica after every op, in every causal delivery order.
 */
interface RefElement {
  readonly replica: string;
  readonly clock: number;
  readonly ch: string;
  deleted: boolean;
}

class ReferenceRga {
  readonly elements: RefElement[] = [];
  private readonly seen = new Set<string>();

  apply(op: TextOp): void {
    if (op.type === 'delete') {
      for (const [replica, clock, count] of op.spans) {
        for (const e of this.elements) if (e.replica === replica && e.clock >= clock && e.clock < clock + count) e.deleted = true;
      }
      return;
    }
    const key = `${op.clock}@${op.replica}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    let at = op.after === null ? 0 : this.elements.findIndex((e) => e.replica === op.after![0] && e.clock === op.after![1]) + 1;
    if (op.after !== null && at === 0) throw new Error(`reference: origin ${op.after} missing`);
    for (let k = 0; k < op.text.length; k++) {
      const clock = op.clock + k;
      while (at < this.elements.length && outranks(this.elements[at].clock, this.elements[at].replica, clock, op.replica)) at++;
      this.elements.splice(at, 0, { replica: op.replica, clock, ch: op.text[k], deleted: false });
      at++;
    }
  }

  get value(): string {
    return this.elements
      .filter((e) => !e.deleted)
      .map((e) => e.ch)
      .join('');
  }
}

type Action = { kind: 'edit'; replica: number; index: number; del: number; text: string } | { kind: 'deliver'; replica: number; pick: number };

const action: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('edit' as const),
      replica: fc.nat({ max: 2 }),
      index: fc.nat({ max: 30 }),
      del: fc.oneof(fc.constant(0), fc.nat({ max: 3 })),
      text: fc.oneof(fc.constant(''), fc.string({ minLength: 1, maxLength: 4 })),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('deliver' as const), replica: fc.nat({ max: 2 }), pick: fc.nat() }) },
);

function run(actions: readonly Action[]): void {
  const n = 3;
  const ids = ['a', 'b', 'c'];
  const states = ids.map(() => text.create(null));
  const refs = ids.map(() => new ReferenceRga());
  const clocks = ids.map(() => 0);
  const log: { origin: number; op: TextOp; deps: number[] }[][] = ids.map(() => []);
  const applied = ids.map(() => new Array<number>(n).fill(0));
  const deliver = (r: number, entry: { origin: number; op: TextOp }) => {
    const checked = text.validateOp(JSON.parse(JSON.stringify(entry.op)), states[r]);
    if (!checked.ok) throw new Error(checked.error.message);
    text.apply(states[r], checked.value);
    refs[r].apply(entry.op);
    applied[r][entry.origin]++;
    expect(text.value(states[r])).toBe(refs[r].value);
  };
  const ready = (r: number) => {
    const out: { origin: number; op: TextOp; deps: number[] }[] = [];
    for (let o = 0; o < n; o++) {
      const next = log[o][applied[r][o]];
      if (next && next.deps.every((d, k) => k === o || d <= applied[r][k])) out.push(next);
    }
    return out;
  };
  for (const a of actions) {
    const r = a.replica;
    if (a.kind === 'deliver') {
      const c = ready(r);
      if (c.length > 0) deliver(r, c[a.pick % c.length]);
      continue;
    }
    const len = text.value(states[r]).length;
    const index = a.index % (len + 1);
    const cmds: unknown[] = [];
    if (a.del > 0 && index < len) cmds.push({ type: 'delete', index, count: Math.min(a.del, len - index) });
    if (a.text.length > 0) cmds.push({ type: 'insert', index, text: a.text });
    for (const cmd of cmds) {
      const op = text.prepare(states[r], cmd, { replica: ids[r], time: ++clocks[r] });
      if (!op.ok) throw new Error(op.error.message);
      log[r].push({ origin: r, op: op.value, deps: [...applied[r]] });
      deliver(r, { origin: r, op: op.value });
    }
  }
  for (let r = 0; r < n; r++) for (let c = ready(r); c.length > 0; c = ready(r)) deliver(r, c[0]);
  for (let r = 1; r < n; r++) expect(text.value(states[r])).toBe(text.value(states[0]));
}

describe('sequence', () => {
  it('sequence - matches a per-character reference RGA at every replica after every op', () => {
    fc.assert(
      fc.property(fc.array(action, { minLength: 20, maxLength: 120 }), (actions) => run(actions)),
      { numRuns: 120 },
    );
  });

  it('sequence - a remote insert inside a run lands between the right characters', () => {
    // Regression shape: "c" types a run, "a" and "b" insert into its middle concurrently,
    // and the later op arrives first at one replica and last at the other.
    run([
      { kind: 'edit', replica: 2, index: 0, del: 0, text: 'wxyz' },
      { kind: 'deliver', replica: 0, pick: 0 },
      { kind: 'deliver', replica: 1, pick: 0 },
      { kind: 'edit', replica: 0, index: 2, del: 0, text: 'A' },
      { kind: 'edit', replica: 1, index: 2, del: 1, text: 'BB' },
      { kind: 'edit', replica: 1, index: 3, del: 0, text: 'b' },
      { kind: 'deliver', replica: 2, pick: 1 },
      { kind: 'deliver', replica: 2, pick: 1 },
    ]);
  });
});
