import { decodeToken, encodeToken } from '#replication/causal-token';
import { Session } from './session';
import type { CrdtStore } from './store';

/**
 * The session's token bookkeeping against a recording stand-in for the store's request
 * path (the guarantees themselves are tested against real replicas in test/client).
 */
describe('Session', () => {
  function fakeStore() {
    const sent: Array<{ kind: string; after?: string; preferred?: string }> = [];
    let n = 0;
    const reply = (preferred: string | undefined) => encodeToken({ [preferred ?? 'any']: ++n });
    const store = {
      replicas: () => ['r1', 'r2', 'r3'],
      sendUpdate: async (key: string, _c: unknown, o: { after?: string }, preferred?: string) => {
        sent.push({ kind: 'update', after: o.after, preferred });
        return { key, type: 'pn-counter', replica: preferred, seq: n + 1, token: reply(preferred) };
      },
      sendGet: async (key: string, o: { after?: string }, preferred?: string) => {
        sent.push({ kind: 'get', after: o.after, preferred });
        return { key, type: 'pn-counter', value: 0, token: reply(preferred) };
      },
    };
    return { store: store as unknown as CrdtStore, sent };
  }

  it('session - every request carries the merge of every token seen so far, round-robin over replicas', async () => {
    const { store, sent } = fakeStore();
    const s = new Session(store);
    expect(s.token).toBeUndefined();
    await s.counter('c').increment(); // r1 -> {r1:1}
    await s.counter('c').get(); //       r2 -> {r2:2}
    await s.counter('c').increment(); // r3 -> {r3:3}
    await s.counter('c').get(); //       r1 -> {r1:4}
    expect(sent.map((x) => x.preferred)).toEqual(['r1', 'r2', 'r3', 'r1']);
    expect(sent.map((x) => (x.after === undefined ? undefined : decodeToken(x.after)))).toEqual([
      undefined,
      { r1: 1 },
      { r1: 1, r2: 2 },
      { r1: 1, r2: 2, r3: 3 },
    ]);
    expect(decodeToken(s.token!)).toEqual({ r1: 4, r2: 2, r3: 3 });
  });

  it('session - starts from a given token, and refuses a forged one', () => {
    const { store } = fakeStore();
    const s = new Session(store, { after: encodeToken({ r9: 7 }) });
    expect(decodeToken(s.token!)).toEqual({ r9: 7 });
    expect(() => s.observe('garbage')).toThrow(/causal token/);
  });
});
