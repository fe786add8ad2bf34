import { describe, expect, it } from '@jest/globals';
import { checkOpOrigin, NOT_AN_OP_SUBJECT, opSubjectOrigin, ORIGIN_MISMATCH } from './op-origin';
import { subjectsFor } from './subjects';

const s = subjectsFor('crdt');

describe('op origin', () => {
  it('op subject - names its one-token origin', () => {
    expect(opSubjectOrigin(s, 'crdt.ops.r3')).toBe('r3');
    expect(opSubjectOrigin(subjectsFor('a.b'), 'a.b.ops.r-1_x')).toBe('r-1_x');
  });

  it('op subject - anything else names no origin', () => {
    for (const subject of ['crdt.ops.', 'crdt.ops', 'crdt.ops.r3.x', 'other.ops.r3', 'crdt.api.get', 'crdtx.ops.r3']) {
      expect(opSubjectOrigin(s, subject)).toBeUndefined();
    }
  });

  it('check - a batch claiming only the subject origin is believed', () => {
    expect(checkOpOrigin(s, 'crdt.ops.r3', ['r3', 'r3'])).toEqual({ ok: true, origin: 'r3' });
  });

  it('check - an empty batch claims nothing and passes', () => {
    expect(checkOpOrigin(s, 'crdt.ops.r3', [])).toEqual({ ok: true, origin: 'r3' });
  });

  it('check - a batch on crdt.ops.r3 claiming r1 is refused with ORIGIN_MISMATCH', () => {
    const r = checkOpOrigin(s, 'crdt.ops.r3', ['r1']);
    expect(r).toMatchObject({ ok: false, code: ORIGIN_MISMATCH, subjectOrigin: 'r3', claimed: ['r1'] });
    if (!r.ok) expect(r.message).toContain('"r1"');
  });

  it('check - one foreign event among own ones refuses the whole batch', () => {
    expect(checkOpOrigin(s, 'crdt.ops.r3', ['r3', 'r3', 'r2', 'r3'])).toMatchObject({ ok: false, code: ORIGIN_MISMATCH, claimed: ['r3', 'r2'] });
  });

  it('check - a message on a subject that is not an op subject is refused', () => {
    expect(checkOpOrigin(s, 'crdt.ops.r3.extra', ['r3'])).toMatchObject({ ok: false, code: NOT_AN_OP_SUBJECT, subjectOrigin: undefined });
  });

  it('check - the origins quoted in a refusal are bounded', () => {
    const many = Array.from({ length: 1000 }, (_, i) => `x${i}`);
    const r = checkOpOrigin(s, 'crdt.ops.r3', many);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.claimed.length).toBeLessThanOrEqual(8);
  });
});
