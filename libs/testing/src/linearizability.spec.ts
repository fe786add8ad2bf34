import { checkLinearizable, type HistoryOp } from './linearizability';
import { registerModel, revisionsReadIn, type RegisterInput, type RegisterOp, type RegisterOutput } from './register-model';

const op = (client: number, callMs: number, returnMs: number, input: RegisterInput, output?: RegisterOutput): RegisterOp => ({ client, callMs, returnMs: output === undefined ? Infinity : returnMs, input, output });
const check = (h: RegisterOp[]) => checkLinearizable(registerModel(revisionsReadIn(h)), h);

describe('linearizability checker', () => {
  it('checker - accepts overlapping writes and reads that some order explains', () => {
    const h = [
      op(1, 0, 10, { op: 'write', value: 'a' }, { kind: 'stored', revision: 3 }),
      op(2, 1, 12, { op: 'write', value: 'b' }, { kind: 'stored', revision: 5 }),
      // Overlaps both writes: may see a (between them).
      op(3, 2, 11, { op: 'read' }, { kind: 'read', value: 'a', revision: 3 }),
      op(3, 13, 14, { op: 'read' }, { kind: 'read', value: 'b', revision: 5 }),
      op(1, 15, 20, { op: 'cas', expect: 5, value: 'c' }, { kind: 'stored', revision: 9 }),
      op(2, 16, 21, { op: 'cas', expect: 5, value: 'd' }, { kind: 'conflict', revision: 9 }),
    ];
    expect(check(h)).toEqual({ ok: true, operations: 6 });
  });

  it('checker - rejects a stale read after a completed write', () => {
    const h = [
      op(1, 0, 10, { op: 'write', value: 'a' }, { kind: 'stored', revision: 3 }),
      op(1, 11, 20, { op: 'write', value: 'b' }, { kind: 'stored', revision: 4 }),
      op(2, 21, 22, { op: 'read' }, { kind: 'read', value: 'a', revision: 3 }),
    ];
    expect(check(h)).toMatchObject({ ok: false, operations: 3 });
  });

  it('checker - rejects two compare-and-sets that both won from the same revision', () => {
    const h = [
      op(1, 0, 10, { op: 'cas', expect: 0, value: 'a' }, { kind: 'stored', revision: 1 }),
      op(2, 0, 10, { op: 'cas', expect: 0, value: 'b' }, { kind: 'stored', revision: 2 }),
    ];
    expect(check(h).ok).toBe(false);
  });

  it('checker - rejects a read that sees a value before it was written (real-time order)', () => {
    const h = [
      op(2, 0, 5, { op: 'read' }, { kind: 'read', value: 'a', revision: 1 }),
      op(1, 6, 10, { op: 'write', value: 'a' }, { kind: 'stored', revision: 1 }),
    ];
    expect(check(h).ok).toBe(false);
  });

  it('checker - an unknown outcome may have happened (a read saw it) or not', () => {
    const seen = [op(1, 0, 0, { op: 'write', value: 'a' }), op(2, 5, 6, { op: 'read' }, { kind: 'read', value: 'a', revision: 7 })];
    expect(check(seen).ok).toBe(true);
    const unseen = [op(1, 0, 0, { op: 'write', value: 'a' }), op(2, 5, 6, { op: 'read' }, { kind: 'read', value: null, revision: 0 })];
    expect(check(unseen).ok).toBe(true);
    // A conflict must name the revision the register is at.
    const wrongConflict = [op(1, 0, 1, { op: 'cas', expect: 4, value: 'x' }, { kind: 'conflict', revision: 2 })];
    expect(check(wrongConflict).ok).toBe(false);
  });

  it('checker - handles a few hundred concurrent operations of a linearizable history', () => {
    // Three clients; every write is a compare-and-set from the revision its client last read.
    const h: Array<HistoryOp<RegisterInput, RegisterOutput>> = [];
    let rev = 0;
    let value: string | null = null;
    let t = 0;
    for (let i = 0; i < 300; i++) {
      const client = i % 3;
      t += 1;
      if (i % 2 === 0) {
        h.push(op(client, t, t + 2.5, { op: 'read' }, { kind: 'read', value, revision: rev }));
      } else {
        const v = `v${i}`;
        rev += 2;
        value = v;
        h.push(op(client, t, t + 2.5, { op: 'cas', expect: rev - 2, value: v }, { kind: 'stored', revision: rev }));
      }
    }
    expect(check(h)).toEqual({ ok: true, operations: 300 });
  });
});
