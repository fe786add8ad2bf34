import * as fc from 'fast-check';
import { PositionTree } from './position-tree';
import { Run } from './run';

type Action = { kind: 'insert'; at: number; len: number; visible: boolean } | { kind: 'remove'; at: number } | { kind: 'find'; index: number } | { kind: 'hide'; at: number };

const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 5 }), visible: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('remove' as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('hide' as const), at: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('find' as const), index: fc.nat() }) },
);

describe('position tree', () => {
  it('position tree - finds, inserts and removes like an array of runs', () => {
    fc.assert(
      fc.property(fc.array(action, { maxLength: 200 }), (actions) => {
        const tree = new PositionTree<string>();
        const model: Run<string>[] = [];
        let clock = 0;
        for (const a of actions) {
          if (a.kind === 'insert') {
            const run = new Run<string>('r', clock, a.len, a.visible ? 'x'.repeat(a.len) : null);
            clock += a.len;
            const at = a.at % (model.length + 1);
            tree.insertAfter(at === 0 ? null : model[at - 1], run);
            model.splice(at, 0, run);
          } else if (a.kind === 'remove' && model.length > 0) {
            const at = a.at % model.length;
            tree.remove(model[at]);
            model.splice(at, 1);
          } else if (a.kind === 'hide' && model.length > 0) {
            const run = model[a.at % model.length];
            run.content = null;
            tree.splay(run);
          } else if (a.kind === 'find') {
            const total = model.reduce((s, r) => s + (r.content === null ? 0 : r.len), 0);
            expect(tree.length).toBe(total);
            if (total === 0) continue;
            let i = a.index % total;
            const expected = model.find((r) => {
              const v = r.content === null ? 0 : r.len;
              if (i < v) return true;
              i -= v;
              return false;
            });
            expect(tree.find(a.index % total)).toBe(expected);
            expect(tree.offset).toBe(i);
          }
          const order: Run<string>[] = [];
          tree.forEach((r) => order.push(r));
          expect(order).toEqual(model);
          const back: Run<string>[] = [];
          for (let x = model.length > 0 ? model[model.length - 1] : null; x !== null; x = tree.prev(x)) back.push(x);
          expect(back.reverse()).toEqual(model);
        }
      }),
      { numRuns: 100 },
    );
  });

  it('position tree - build makes a balanced tree that keeps the order', () => {
    const runs = Array.from({ length: 1000 }, (_, i) => new Run<string>('r', i, 1, i % 3 === 0 ? null : 'x'));
    const tree = new PositionTree<string>();
    tree.build(runs);
    const depth = (x: Run<string> | null): number => (x === null ? 0 : 1 + Math.max(depth(x.left), depth(x.right)));
    expect(depth(tree.root)).toBeLessThanOrEqual(10);
    expect(tree.length).toBe(666);
    expect(tree.find(0).clock).toBe(1);
    expect(() => tree.find(666)).toThrow(/outside/);
  });
});
