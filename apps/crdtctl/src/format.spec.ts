import { timestampFromWallMs } from '#crdt/causality/hlc';
import type { Heartbeat } from '#replication/ports';
import { TransportError } from './client';
import {
  appliedLag,
  cellValue,
  formatErrorReply,
  formatGet,
  formatHeartbeatStatus,
  formatHistory,
  formatRound,
  formatRoundEvent,
  formatStatus,
  formatStrongNoReply,
  formatTransportError,
  formatUnreachable,
  formatUpdate,
  formatValue,
  membersOf,
} from './format';
import { isPopulateType, randomOps } from './populate-ops';

const beat = (replica: string, applied: Record<string, number>, extra: Partial<Heartbeat> = {}): Heartbeat => ({
  v: 1,
  replica,
  mode: 'Work',
  applied,
  opLogLength: 10,
  outboxDepth: 0,
  streamSeq: 5,
  keys: 2,
  epoch: 1,
  round: 3,
  sentMs: 1_000,
  ...extra,
});

const ROUND = {
  epoch: 2,
  round: 7,
  outcome: 'committed',
  trigger: 'manual',
  members: ['r1', 'r2', 'r3'],
  cut: { r1: 4 },
  digest: 'abcdef0123456789',
  publisher: 'r1',
  keepFromSeq: 42,
  timings: { freezeMs: 3, cutMs: 4, commitMs: 5, totalMs: 15, writesHeldMs: 12 },
  startedAtMs: Date.UTC(2025, 0, 1),
  coordinator: 'c1',
};

describe('crdtctl output', () => {
  it('format - an update names the event it made', () => {
    expect(formatUpdate({ ok: true, key: 'x', type: 'pn-counter', replica: 'r2', seq: 4 }, undefined)).toEqual(['updated x (pn-counter) as event r2#4']);
    expect(formatUpdate({ ok: true, key: 'x', type: 'pn-counter', replica: 'r2', seq: 4 }, 'all')).toEqual(['updated x (pn-counter) as event r2#4, acknowledged by every live replica']);
  });

  it('format - a strong write and a linearizable read show the revision', () => {
    expect(formatUpdate({ ok: true, key: 'cfg.mode', type: 'lww-register', replica: 'r1', seq: 3, revision: 12, token: 'v1.t' }, undefined)).toEqual(['updated cfg.mode (lww-register) as event r1#3 at revision 12']);
    expect(formatGet({ ok: true, key: 'cfg.mode', type: 'lww-register', value: 'green', revision: 12, token: 'v1.t' })).toEqual(['cfg.mode (lww-register) at revision 12 = "green"']);
    expect(formatGet({ ok: true, key: 'cfg.mode', type: 'lww-register', value: 'green', token: 'v1.t' })).toEqual(['cfg.mode (lww-register) = "green"']);
  });

  it('format - CONFLICT names the current revision and says what to expect next', () => {
    const reply = { ok: false, error: { code: 'CONFLICT', message: 'key "cfg.mode" is at revision 14, not 12; nothing was applied' }, revision: 14 };
    expect(formatErrorReply(reply, 'replica', undefined, { key: 'cfg.mode', strongWrite: true })).toEqual([
      'error CONFLICT: key "cfg.mode" is at revision 14, not 12; nothing was applied',
      'hint: another strong write came first; read it (`get cfg.mode --consistency linearizable`) and, if yours still applies, send it with --expect 14',
    ]);
    // A reply whose message does not name the revision gets it added.
    expect(formatErrorReply({ ok: false, error: { code: 'CONFLICT', message: 'lost the race' }, revision: 9 })[0]).toBe('error CONFLICT: lost the race (the key is at revision 9)');
  });

  it('format - a strong write\'s TIMEOUT says its outcome is unknown and how to learn it', () => {
    const reply = { ok: false, error: { code: 'TIMEOUT', message: 'the stream did not say within 5000 ms whether it stored the strong write' } };
    expect(formatErrorReply(reply, 'replica', undefined, { key: 'k', strongWrite: true })[1]).toMatch(/^hint: the strong write may or may not take effect: `get k --consistency linearizable` tells which/);
    expect(formatStrongNoReply(new TransportError('timeout', 'crdt.api.update', 'no reply on crdt.api.update within 100 ms'), 'k')).toEqual([
      'error: no reply on crdt.api.update within 100 ms',
      expect.stringMatching(/^hint: the strong write may or may not take effect: .*--expect REVISION.*; raise --timeout next time$/),
    ]);
    expect(formatErrorReply({ ok: false, error: { code: 'STRONG_UNSUPPORTED', message: 'key "n" is a pn-counter' } })[1]).toMatch(/only lww-register keys/);
  });

  it('format - applied lag counts events the most advanced member has and this one lacks', () => {
    const lag = appliedLag([beat('r1', { r1: 5, r2: 3 }), beat('r2', { r1: 2, r2: 3 }), beat('r3', { r1: 5 })]);
    expect(Object.fromEntries(lag)).toEqual({ r1: 0, r2: 3, r3: 3 });
  });

  it('format - error replies carry their code, message and a hint', () => {
    expect(formatErrorReply({ ok: false, error: { code: 'NOT_FOUND', message: 'key "x" does not exist' } })).toEqual([
      'error NOT_FOUND: key "x" does not exist',
      expect.stringMatching(/^hint: create it first/),
    ]);
    expect(formatErrorReply({ ok: false, error: { code: 'NOT_LEADER', message: 'no lease' } }, 'coordinator')[1]).toMatch(/retry in a few seconds/);
    // A write whose ack timed out is durable: the hint says not to send it again.
    expect(formatErrorReply({ ok: false, error: { code: 'TIMEOUT', message: 'ack "all" did not come' }, replica: 'r2', seq: 9, token: 'v1.x' })[1]).toMatch(/durable as event r2#9 .*do not send it again/);
    expect(formatErrorReply({ ok: false, error: { code: 'TIMEOUT', message: 'the stream did not answer' } })[1]).toBe('hint: retry, or raise --timeout');
  });

  it('format - no responders tells the user to start the cluster', () => {
    expect(formatTransportError(new TransportError('no-responders', 'crdt.api.get', 'x'), 'crdt')).toEqual([
      'error: no replica answers on crdt.api.*',
      'hint: is the cluster running? try `npm start`, or check CRDT_PREFIX',
    ]);
    expect(formatTransportError(new TransportError('no-responders', 'crdt.coordinator.sync', 'x'), 'crdt')[0]).toBe('error: no coordinator answers on crdt.coordinator.*');
    expect(formatUnreachable('nats://127.0.0.1:1', new Error('connection refused'))[0]).toBe('error: cannot reach NATS at nats://127.0.0.1:1 (connection refused)');
    expect(formatUnreachable('nats://127.0.0.1:1', new Error('Authorization Violation'))).toEqual([
      'error: NATS at nats://127.0.0.1:1 refused the login (Authorization Violation)',
      'hint: the server requires credentials: set NATS_USER and NATS_PASSWORD (or NATS_PASSWORD_FILE); `npm start` prints the ones to use',
    ]);
  });

  it('format - a committed round shows its timings, members and purge', () => {
    expect(formatRound(ROUND)).toEqual([
      'round 2/7 committed (manual) in 15 ms at 2025-01-01T00:00:00.000Z by c1',
      '  freeze 3 ms, cut 4 ms, commit 5 ms; client writes held 12 ms',
      '  members r1, r2, r3, digest abcdef012345…, snapshot by r1',
      '  stream purged below seq 42',
    ]);
  });

  it('format - an aborted round says why and who failed', () => {
    const lines = formatRound({
      ...ROUND,
      outcome: 'aborted',
      code: 'DIGEST_MISMATCH',
      reason: 'states differ',
      failures: [{ replica: 'r2', phase: 'cut', code: 'DIGEST_MISMATCH', message: 'differs' }],
      mismatchedKeys: ['a', 'b'],
      mismatchedKeysTotal: 3,
    });
    expect(lines).toContain('  why: DIGEST_MISMATCH: states differ');
    expect(lines).toContain('  failure: r2 at cut: DIGEST_MISMATCH differs');
    expect(lines).toContain('  keys that differ (3): a, b, …');
  });

  it('format - round events name each phase with its timing', () => {
    const base = { v: 1, coordinator: 'c1', epoch: 2, round: 7, atMs: 0 };
    expect(formatRoundEvent({ ...base, phase: 'started', members: ['r1', 'r2'], trigger: 'manual' }, 1)).toEqual(['+    1 ms  round 2/7 started (manual); members r1, r2']);
    expect(formatRoundEvent({ ...base, phase: 'frozen', cut: { r2: 3, r1: 4 }, freezeMs: 3 }, 5)[0]).toMatch(/frozen in 3 ms; cut r1:4 r2:3$/);
    expect(formatRoundEvent({ ...base, phase: 'resumed', committed: true, writesHeldMs: 12 }, 20)[0]).toMatch(/resumed; client writes were held 12 ms$/);
    expect(formatRoundEvent({ ...base, phase: 'done', result: ROUND }, 21)[0]).toMatch(/done: committed in 15 ms$/);
    expect(formatRoundEvent({ ...base, phase: 'later', x: 1 }, 21)[0]).toMatch(/later \{"x":1\}$/);
  });

  it('format - coordinator status lists leadership, members and last rounds', () => {
    const text = formatStatus(
      {
        ok: true,
        coordinator: 'c1',
        leader: 'c1',
        isLeader: true,
        epoch: 2,
        members: [{ ...beat('r2', { r1: 1 }), ageMs: 40 }, { ...beat('r1', { r1: 4 }), ageMs: 10 }],
        running: null,
        lastRounds: [ROUND],
        freeze: { committedRounds: 1, abortedRounds: 0, lastWritesHeldMs: 12, maxWritesHeldMs: 12, meanWritesHeldMs: 12 },
        schedule: { intervalMs: 60_000, opLogThreshold: 10_000 },
      },
      2_000,
    ).join('\n');
    expect(text).toContain('coordinator c1: the leader, epoch 2');
    expect(text).toContain('running: no round');
    expect(text).toContain('schedule: a round every 60 s, or when an op log passes 10000 events');
    expect(text).toMatch(/REPLICA +MODE +LAG +OPLOG +OUTBOX +KEYS +STREAMSEQ +ROUND +SEEN/);
    expect(text).toMatch(/r1 +Work +0 +10 +0 +2 +5 +1\/3 +10 ms ago\nr2 +Work +3 /);
    expect(text).toContain('  round 2/7 committed (manual) in 15 ms');
  });

  it('format - heartbeat status says no coordinator answered and names the newest round', () => {
    const text = formatHeartbeatStatus([beat('r1', {}, { epoch: 2, round: 4 }), beat('r2', {}, { epoch: 2, round: 3 })], 'crdt', 1_500).join('\n');
    expect(text).toMatch(/^no coordinator answered on crdt.coordinator.status/);
    expect(text).toContain('500 ms ago');
    expect(text).toContain('last round heard of: 2/4');
  });

  it('format - members come as an array or a map by id', () => {
    expect(membersOf({ members: { r1: { mode: 'Work', applied: {} } } }).map((m) => m.replica)).toEqual(['r1']);
    expect(membersOf({ replicas: [{ replica: 'r2' }, 'junk'] }).map((m) => m.replica)).toEqual(['r2']);
  });

  it('format - history lists events oldest first with their ops', () => {
    const lines = formatHistory({
      key: 'x',
      type: 'pn-counter',
      events: [
        { origin: 'r1', seq: 1, time: timestampFromWallMs(Date.UTC(2025, 0, 1)), type: 'pn-counter', ops: [] },
        { origin: 'r1', seq: 2, time: 0, type: 'pn-counter', ops: [{ type: 'increment', total: 5 }] },
      ],
      truncated: false,
      sinceRound: { epoch: 0, round: 0 },
    });
    expect(lines[0]).toBe('x (pn-counter): 2 events since round 0/0');
    expect(lines[1]).toBe('  r1#1  2025-01-01T00:00:00.000Z  create');
    expect(lines[2]).toMatch(/^ {2}r1#2 +.* \{"type":"increment","total":5\}$/);
  });

  it('format - long nested values print indented, flat ones on one line', () => {
    expect(formatValue([1, 2])).toBe('[1,2]');
    expect(formatValue(Array.from({ length: 60 }, (_, i) => i))).not.toContain('\n');
    expect(formatValue(Array.from({ length: 20 }, (_, i) => ({ i })))).toContain('\n');
    expect(cellValue(Array.from({ length: 60 }, (_, i) => i))).toMatch(/^\[0,1,.*… \(60 elements\)$/);
  });
});

describe('crdtctl populate ops', () => {
  it('populate - makes ops each type understands, from the given randomness', () => {
    let i = 0;
    const seq = [0.1, 0.9, 0.5, 0.2];
    const random = () => seq[i++ % seq.length];
    expect(randomOps('pn-counter', 2, random)).toEqual([
      { type: 'increment', by: 10 },
      { type: 'increment', by: 3 },
    ]);
    expect(randomOps('or-set', 3, () => 0.8).every((o) => (o as { type: string }).type === 'remove')).toBe(true);
    expect(randomOps('g-set', 3, () => 0.8).every((o) => (o as { type: string }).type === 'add')).toBe(true);
    expect(randomOps('lww-register', 1, () => 0.5)).toEqual([{ type: 'set', value: 500000 }]);
    expect(isPopulateType('text')).toBe(true);
    expect(isPopulateType('or-map')).toBe(false);
    // Text and list inserts stay inside the sequence as it grows (length 2 before the batch).
    const inserts = randomOps('text', 3, () => 0.999, 2) as Array<{ index: number }>;
    expect(inserts.map((o) => o.index)).toEqual([2, 3, 4]);
  });
});
