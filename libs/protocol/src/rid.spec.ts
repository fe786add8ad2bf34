import { parseRid, parseUpdate, RID_LENGTH_MAX } from './requests';

describe('protocol rid', () => {
  it('rid - optional; a printable id up to the limit is kept on the parsed update', () => {
    expect(parseRid({})).toBeUndefined();
    expect(parseRid({ rid: '7f1c2b9e-4a51-4e0c-9d7a-0c6f1f2e8a11' })).toBe('7f1c2b9e-4a51-4e0c-9d7a-0c6f1f2e8a11');
    const p = parseUpdate({ key: 'k', op: { type: 'increment' }, rid: 'a'.repeat(RID_LENGTH_MAX) });
    expect(p.ok && p.request.rid).toBe('a'.repeat(RID_LENGTH_MAX));
    const none = parseUpdate({ key: 'k', op: { type: 'increment' } });
    expect(none.ok && 'rid' in none.request).toBe(false);
  });

  it('rid - empty, too long, with spaces or not a string is BAD_REQUEST', () => {
    for (const rid of ['', 'a'.repeat(RID_LENGTH_MAX + 1), 'has space', 'tab\there', 42, null]) {
      expect(parseUpdate({ key: 'k', op: { type: 'increment' }, rid })).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    }
  });
});
