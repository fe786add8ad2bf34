import type { Heartbeat } from '#replication/ports';
import { Membership, parseHeartbeat } from './membership';

function beat(replica: string, over: Partial<Heartbeat> = {}): Heartbeat {
  return { v: 1, replica, mode: 'Work', applied: { [replica]: 1 }, opLogLength: 1, outboxDepth: 0, streamSeq: 1, keys: 1, epoch: 0, round: 0, sentMs: 0, ...over };
}

describe('membership', () => {
  it('parseHeartbeat - takes a well-formed heartbeat and drops malformed ones', () => {
    expect(parseHeartbeat(beat('r1'))).toEqual(beat('r1'));
    expect(parseHeartbeat({ ...beat('r1'), v: 2 })).toBeUndefined();
    expect(parseHeartbeat({ ...beat('r1'), mode: 'Sleeping' })).toBeUndefined();
    expect(parseHeartbeat({ ...beat('r1'), replica: '' })).toBeUndefined();
    expect(parseHeartbeat({ ...beat('r1'), opLogLength: -1 })).toBeUndefined();
    expect(parseHeartbeat({ ...beat('r1'), applied: { r1: 'x' } })).toBeUndefined();
    expect(parseHeartbeat({ ...beat('r1'), epoch: undefined })).toBeUndefined();
    expect(parseHeartbeat('hello')).toBeUndefined();
  });

  it('membership - live members are sorted by id and expire after the silence bound', () => {
    const m = new Membership({ silenceMsMax: 1_500, membersMax: 10 });
    m.heard(beat('r2'), 1_000);
    m.heard(beat('r1'), 1_200);
    expect(m.live(2_500).map((x) => x.beat.replica)).toEqual(['r1', 'r2']);
    expect(m.live(2_501).map((x) => x.beat.replica)).toEqual(['r1']);
    m.heard(beat('r2'), 2_600);
    expect(m.live(2_700).map((x) => x.beat.replica)).toEqual(['r1', 'r2']);
    expect(m.live(4_200).map((x) => x.beat.replica)).toEqual([]);
  });

  it('membership - keeps the latest heartbeat and when it arrived, not the replica\'s own clock', () => {
    const m = new Membership({ silenceMsMax: 1_500, membersMax: 10 });
    m.heard(beat('r1', { opLogLength: 5, sentMs: 99_999_999 }), 1_000);
    m.heard(beat('r1', { opLogLength: 7, sentMs: 1 }), 1_100);
    expect(m.live(1_200)).toEqual([{ beat: beat('r1', { opLogLength: 7, sentMs: 1 }), heardAtMs: 1_100 }]);
  });

  it('membership - remembers the newest round any replica reported, expired ones included', () => {
    const m = new Membership({ silenceMsMax: 100, membersMax: 10 });
    m.heard(beat('r1', { epoch: 3, round: 9 }), 0);
    m.heard(beat('r2', { epoch: 4, round: 1 }), 0);
    m.heard(beat('r3', { epoch: 4, round: 0 }), 0);
    expect(m.live(1_000)).toEqual([]);
    expect(m.newestRoundSeen()).toEqual({ epoch: 4, round: 1 });
  });

  it('membership - bounded: heartbeats of new replicas beyond membersMax are dropped until others expire', () => {
    const m = new Membership({ silenceMsMax: 100, membersMax: 2 });
    expect(m.heard(beat('r1'), 0)).toBe(true);
    expect(m.heard(beat('r2'), 50)).toBe(true);
    expect(m.heard(beat('r3'), 60)).toBe(false);
    expect(m.droppedBeats).toBe(1);
    expect(m.heard(beat('r2'), 90)).toBe(true); // known replicas are always updated
    expect(m.heard(beat('r3'), 150)).toBe(true); // r1 expired and made room
    expect(m.live(150).map((x) => x.beat.replica)).toEqual(['r2', 'r3']);
  });
});
