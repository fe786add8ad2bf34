import { errorReply } from '#protocol';
import { namesWrittenEvent, RequestDedupe } from './request-dedupe';

type R = Record<string, unknown>;

/** A write that counts its runs and answers like the core's update. */
function counter() {
  let runs = 0;
  const write = () => {
    runs++;
    return Promise.resolve<R>({ ok: true, key: 'k', seq: runs, token: `t${runs}` });
  };
  return { write, runs: () => runs };
}

describe('RequestDedupe', () => {
  let now = 0;
  beforeEach(() => (now = 1_000));

  it('request dedupe - the same rid twice runs the write once and answers the resend with the first reply', async () => {
    const d = new RequestDedupe<R>(() => now);
    const c = counter();
    const first = await d.run({ key: 'k', rid: 'a' }, c.write);
    const second = await d.run({ key: 'k', rid: 'a' }, c.write);
    expect(c.runs()).toBe(1);
    expect(second).toEqual({ ...first, duplicate: true });
  });

  it('request dedupe - a resend while the first run is under way waits for its reply', async () => {
    const d = new RequestDedupe<R>(() => now);
    let release!: (r: R) => void;
    let runs = 0;
    const slow = () => {
      runs++;
      return new Promise<R>((r) => (release = r));
    };
    const first = d.run({ key: 'k', rid: 'a' }, slow);
    const second = d.run({ key: 'k', rid: 'a' }, slow);
    release({ ok: true, seq: 7 });
    expect(await first).toEqual({ ok: true, seq: 7 });
    expect(await second).toEqual({ ok: true, seq: 7, duplicate: true });
    expect(runs).toBe(1);
  });

  it('request dedupe - requests without rid, or with different rids, all run', async () => {
    const d = new RequestDedupe<R>(() => now);
    const c = counter();
    await d.run({ key: 'k' }, c.write);
    await d.run({ key: 'k' }, c.write);
    await d.run({ key: 'k', rid: 'a' }, c.write);
    await d.run({ key: 'k', rid: 'b' }, c.write);
    expect(c.runs()).toBe(4);
  });

  it('request dedupe - an error that applied nothing is forgotten, so the resend writes', async () => {
    const d = new RequestDedupe<R>(() => now);
    let runs = 0;
    const frozenThenOk = () => Promise.resolve<R>(++runs === 1 ? (errorReply('FROZEN', 'held too long') as unknown as R) : { ok: true, seq: 1 });
    expect((await d.run({ key: 'k', rid: 'a' }, frozenThenOk)).ok).toBe(false);
    expect(await d.run({ key: 'k', rid: 'a' }, frozenThenOk)).toEqual({ ok: true, seq: 1 });
    expect(runs).toBe(2);
  });

  it('request dedupe - a TIMEOUT that names the written event is remembered (the write happened)', async () => {
    const d = new RequestDedupe<R>(() => now);
    let runs = 0;
    const timedOut = () => Promise.resolve<R>({ ...errorReply('TIMEOUT', 'ack late'), seq: ++runs });
    await d.run({ key: 'k', rid: 'a' }, timedOut);
    const again = await d.run({ key: 'k', rid: 'a' }, timedOut);
    expect(runs).toBe(1);
    expect(again).toMatchObject({ ok: false, seq: 1 });
  });

  it('request dedupe - an id is forgotten after rememberMs', async () => {
    const d = new RequestDedupe<R>(() => now, { rememberMs: 100 });
    const c = counter();
    await d.run({ key: 'k', rid: 'a' }, c.write);
    now += 99;
    await d.run({ key: 'k', rid: 'a' }, c.write);
    expect(c.runs()).toBe(1);
    now += 1;
    await d.run({ key: 'k', rid: 'a' }, c.write);
    expect(c.runs()).toBe(2);
  });

  it('request dedupe - at most idsMax ids are remembered, the oldest forgotten first', async () => {
    const d = new RequestDedupe<R>(() => now, { idsMax: 3 });
    const c = counter();
    for (const rid of ['a', 'b', 'c', 'd']) await d.run({ key: 'k', rid }, c.write);
    expect(d.size).toBe(3);
    await d.run({ key: 'k', rid: 'd' }, c.write);
    expect(c.runs()).toBe(4);
    await d.run({ key: 'k', rid: 'a' }, c.write);
    expect(c.runs()).toBe(5);
  });

  it('request dedupe - the same rid on another key is refused with BAD_REQUEST', async () => {
    const d = new RequestDedupe<R>(() => now);
    const c = counter();
    await d.run({ key: 'k', rid: 'a' }, c.write);
    const r = await d.run({ key: 'other', rid: 'a' }, c.write);
    expect(r).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect(c.runs()).toBe(1);
  });

  it('request dedupe - a malformed rid is left to the parser (the write runs and refuses it)', async () => {
    const d = new RequestDedupe<R>(() => now);
    const c = counter();
    await d.run({ key: 'k', rid: 'has space' }, c.write);
    await d.run({ key: 'k', rid: 'has space' }, c.write);
    expect(c.runs()).toBe(2);
    expect(d.size).toBe(0);
  });

  it('request dedupe - namesWrittenEvent holds for success and for errors carrying seq only', () => {
    expect(namesWrittenEvent({ ok: true })).toBe(true);
    expect(namesWrittenEvent({ ok: false, seq: 3 })).toBe(true);
    expect(namesWrittenEvent(errorReply('FROZEN', 'x'))).toBe(false);
    expect(namesWrittenEvent(null)).toBe(false);
  });
});
