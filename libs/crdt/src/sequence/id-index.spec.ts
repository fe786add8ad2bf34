import * as fc from 'fast-check';
import { ReplicaRuns } from './id-index';
import { Run } from './run';

describe('id index', () => {
  it('id index - finds the run holding a clock through appends, splits and removals', () => {
    const action = fc.oneof(
      fc.record({ kind: fc.constant('append' as const), gap: fc.nat({ max: 3 }), len: fc.integer({ min: 1, max: 4 }) }),
      fc.record({ kind: fc.constant('split' as const), pick: fc.nat() }),
      fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.array(action, { maxLength: 600 }), (actions) => {
        const index = new ReplicaRuns<string>('r');
        let model: Run<string>[] = [];
        let next = 0;
        for (const a of actions) {
          if (a.kind === 'append') {
            const run = new Run<string>('r', next + a.gap, a.len, null);
            next = run.clock + run.len;
            index.append(run);
            model.push(run);
          } else if (a.kind === 'split') {
            const i = model.findIndex((r, k) => r.len > 1 && k >= a.pick % Math.max(1, model.length));
            if (i < 0) continue;
            const left = model[i];
            const right = new Run<string>('r', left.clock + 1, left.len - 1, null);
            left.len = 1;
            index.insertAfter(left, right);
            model.splice(i + 1, 0, right);
          } else if (model.length > 0) {
            const i = a.pick % model.length;
            index.remove(model[i]);
            model = model.filter((_, k) => k !== i);
          }
        }
        expect(index.size).toBe(model.length);
        const listed: Run<string>[] = [];
        index.forEach((r) => listed.push(r));
        expect(listed).toEqual(model);
        for (let c = -1; c <= next; c++) {
          const holder = model.find((r) => c >= r.clock && c < r.clock + r.len) ?? null;
          expect(index.find(c)).toBe(holder);
          const ceiling = model.find((r) => r.clock + r.len > c) ?? null;
          expect(index.ceiling(c)).toBe(ceiling);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('id index - build splits sorted runs into chunks', () => {
    const runs = Array.from({ length: 1000 }, (_, i) => new Run<string>('r', i * 2, 2, null));
    const index = new ReplicaRuns<string>('r');
    index.build(runs);
    expect(index.size).toBe(1000);
    expect(index.find(1999)).toBe(runs[999]);
    expect(index.find(2000)).toBeNull();
    expect(index.find(777)).toBe(runs[388]);
  });
});
