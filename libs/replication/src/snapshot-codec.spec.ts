import { decodeSnapshot, encodeSnapshot, SNAPSHOT_FORMAT_LINE } from './snapshot-codec';
import type { SnapshotRecord } from './ports';

const snapshot: SnapshotRecord = {
  epoch: 2,
  round: 7,
  cut: { r1: 12, r2: 5 },
  streamSeq: 40,
  keys: [
    ['a.counter', [['pn-counter', null, { p: { r1: 3 }, n: {} }]]],
    // Already text (a cold key's JSON), with a tab and a line break inside a string value.
    ['b:text/@x', '[["lww-register",null,{"v":"tab\\there\\nline","t":1,"r":"r1"}]]'],
  ],
};

describe('snapshot codec', () => {
  it('snapshot codec - lines: the format line, the header, then a key, a tab and the encoding as JSON text; read back as text', () => {
    const text = encodeSnapshot(snapshot);
    const lines = text.split('\n');
    expect(lines[0]).toBe(SNAPSHOT_FORMAT_LINE);
    expect(JSON.parse(lines[1])).toEqual({ epoch: 2, round: 7, cut: { r1: 12, r2: 5 }, streamSeq: 40, keys: 2 });
    expect(lines).toHaveLength(4);
    const back = decodeSnapshot(text);
    expect(back).toMatchObject({ epoch: 2, round: 7, cut: { r1: 12, r2: 5 }, streamSeq: 40 });
    expect(back.keys.map(([k]) => k)).toEqual(['a.counter', 'b:text/@x']);
    // Each encoding comes back as its JSON text, equal in value to what was written.
    expect(back.keys.map(([, e]) => typeof e)).toEqual(['string', 'string']);
    expect(JSON.parse(back.keys[0][1] as string)).toEqual(snapshot.keys[0][1]);
    expect(back.keys[1][1]).toBe(snapshot.keys[1][1]);
    expect(encodeSnapshot(back)).toBe(text);
  });

  it('snapshot codec - an empty snapshot, and the earlier one-object JSON format, are read', () => {
    const empty: SnapshotRecord = { epoch: 0, round: 1, cut: {}, streamSeq: 0, keys: [] };
    expect(decodeSnapshot(encodeSnapshot(empty))).toEqual(empty);
    const legacy = JSON.stringify({ ...snapshot, keys: [snapshot.keys[0]] });
    expect(decodeSnapshot(legacy)).toEqual({ ...snapshot, keys: [snapshot.keys[0]] });
  });

  it('snapshot codec - text that is not a snapshot is refused with what is wrong', () => {
    const good = encodeSnapshot(snapshot).split('\n');
    const bad = (lines: string[]) => () => decodeSnapshot(lines.join('\n'));
    expect(bad(['crdt-snapshot 9', ...good.slice(1)])).toThrow(/not a snapshot: it starts "crdt-snapshot 9"/);
    expect(bad([good[0], '{nope', ...good.slice(2)])).toThrow(/header is not JSON/);
    expect(bad([good[0], JSON.stringify({ epoch: 2, round: 7, cut: {}, streamSeq: -1, keys: 2 }), ...good.slice(2)])).toThrow(/header lacks/);
    expect(bad(good.slice(0, 3))).toThrow(/names 2 keys, 1 follow/);
    expect(bad([...good.slice(0, 3), 'no tab here'])).toThrow(/line 4 is not a key, a tab and an encoding/);
    expect(bad([...good.slice(0, 3), 'bad key\t[]'])).toThrow(/line 4/);
    expect(bad([...good.slice(0, 3), 'k\t'])).toThrow(/line 4/);
    expect(() => decodeSnapshot('{"epoch":1}')).toThrow(/not a snapshot: a JSON object without/);
    expect(() => decodeSnapshot('{')).toThrow(/not a snapshot: it is not JSON/);
  });
});
