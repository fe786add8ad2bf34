import { withArticle } from '#crdt/type-article';
import { formatErrorReply, opHintFor } from './format';
import { formatMissing, missingByReplica, missingEventsOfKey } from './format-replicas';

describe('crdtctl per-replica views', () => {
  it('missing - waiting counts and the ranges each replica lacks against the highest applied vector', () => {
    const rows = missingByReplica([
      ['r1', { ok: true, applied: { r1: 7, r2: 3 }, waiting: 0 }],
      ['r2', { ok: true, applied: { r1: 4, r2: 3 }, waiting: 2 }],
      ['r3', { ok: true, applied: { r1: 6 }, waiting: 0 }],
      ['r4', { ok: false, error: { code: 'NO_RESPONDERS', message: 'x' } }],
    ]);
    expect(rows).toEqual([
      { replica: 'r1', waiting: 0, missing: [] },
      { replica: 'r2', waiting: 2, missing: ['r1#5-7'] },
      { replica: 'r3', waiting: 0, missing: ['r1#7', 'r2#1-3'] },
      { replica: 'r4', missing: [], error: 'NO_RESPONDERS' },
    ]);
    const lines = formatMissing(rows);
    expect(lines[0]).toMatch(/^REPLICA +WAITING +MISSING$/);
    expect(lines[2]).toMatch(/^r2 +2 +r1#5-7$/);
    expect(lines[4]).toMatch(/^r4 +\? +\(NO_RESPONDERS\)$/);
  });

  it('missing KEY - the key\'s events some replica lists and another does not', () => {
    const ev = (origin: string, seq: number) => ({ origin, seq, time: 0, type: 'pn-counter', ops: [] });
    const rows = missingEventsOfKey([
      ['r1', { ok: true, events: [ev('r1', 1), ev('r1', 2), ev('r1', 3), ev('r2', 1)] }],
      ['r2', { ok: true, events: [ev('r1', 1), ev('r2', 1)] }],
    ]);
    expect(rows).toEqual([
      { replica: 'r1', missing: [] },
      { replica: 'r2', missing: ['r1#2-3'] },
    ]);
    expect(formatMissing(rows, 'x')[2]).toMatch(/^r2 +r1#2-3$/);
  });

  it('hints - INVALID_OP shows the commands of the key\'s own type, with the right article', () => {
    expect(opHintFor('text')).toBe('a text takes {"type":"insert","index":0,"text":"hi"} or {"type":"delete","index":0,"count":1}');
    expect(opHintFor('or-set')).toMatch(/^an or-set takes \{"type":"add","value":"x"\}/);
    expect(opHintFor('nope')).toBeUndefined();
    const reply = { ok: false, error: { code: 'INVALID_OP', message: 'UNKNOWN_COMMAND: text understands "insert" and "delete", not "increment"' } };
    const lines = formatErrorReply(reply, 'replica', 'text');
    expect(lines).toEqual([`error INVALID_OP: ${reply.error.message}`, `hint: ${opHintFor('text')}`]);
    // One hint, never two.
    expect(lines.filter((l) => l.startsWith('hint:'))).toHaveLength(1);
  });

  it('wording - type names read with their article', () => {
    expect(['or-set', 'lww-register', 'mv-register', 'ew-flag', 'pn-counter', '2p-set', 'text', 'lifecycle'].map(withArticle)).toEqual([
      'an or-set',
      'an lww-register',
      'an mv-register',
      'an ew-flag',
      'a pn-counter',
      'a 2p-set',
      'a text',
      'a lifecycle',
    ]);
  });
});
