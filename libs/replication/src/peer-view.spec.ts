import type { Heartbeat } from './ports';
import { PeerView } from './peer-view';

const T = 1_700_000_000_000;
const beat = (replica: string, sentMs: number): Heartbeat => ({
  v: 1,
  replica,
  mode: 'Work',
  applied: { [replica]: 1 },
  opLogLength: 1,
  outboxDepth: 0,
  streamSeq: 1,
  keys: 1,
  epoch: 0,
  round: 0,
  sentMs,
});

describe('peer view', () => {
  test('peer view - a peer is live for peerTimeoutMs after its heartbeat, then forgotten', () => {
    const v = new PeerView(() => 'r1', 1_500);
    v.heard(beat('r2', T), T);
    v.heard(beat('r1', T), T);
    expect(v.live(T + 1_500).map((b) => b.replica)).toEqual(['r2']);
    expect(v.live(T + 1_501)).toEqual([]);
    expect(v.live(T)).toEqual([]);
  });

  test('peer view - a heartbeat heard before this clock went back further than peerTimeoutMs does not keep its peer live (seed 4648)', () => {
    const v = new PeerView(() => 'r1', 1_500);
    // Heard while this clock ran 1,339 s ahead; the peer then died and the clock was set back.
    v.heard(beat('r3', T), T + 1_339_352);
    v.heard(beat('r4', T + 1_000), T + 1_000);
    expect(v.live(T + 1_100).map((b) => b.replica)).toEqual(['r4']);
    // A small step back keeps a peer heard a moment ago live.
    v.heard(beat('r5', T + 2_000), T + 2_000);
    expect(v.live(T + 1_000).map((b) => b.replica)).toEqual(['r4', 'r5']);
  });
});
