import { canonical, runChecks, splitMarkers, type Check, type FinalState, type RoundRecord } from './checker';
import { Ledger } from './ledger';
import { describeStep, FAULT_KINDS, firstSteps, parseKinds } from './schedule';

/** The fault suite's own logic, without processes: the checks must catch what they claim to catch. */

const IDS = ['r1', 'r2', 'r3'];
const ROUND: RoundRecord = { epoch: 1, round: 5, outcome: 'committed', coordinator: 'c1', startedAtMs: 2_000 };

function state(values: Record<string, unknown>, over: Partial<FinalState> = {}): FinalState {
  const perReplica = new Map(IDS.map((id) => [id, new Map(Object.entries(values))]));
  return {
    replicaIds: IDS,
    values: perReplica,
    rounds: [ROUND],
    mismatchLogLines: [],
    lastFaultHealedMs: 1_000,
    lastRounds: new Map(IDS.map((id) => [id, { epoch: 1, round: 5 }])),
    ...over,
  };
}

function failed(checks: Check[]): string[] {
  return checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);
}

function ledger(): Ledger {
  const l = new Ledger();
  l.counter('counter-0', 1, 'acked');
  l.counter('counter-0', 1, 'acked');
  l.counter('counter-0', 1, 'uncertain');
  l.counter('counter-0', 1, 'refused', 'FROZEN');
  l.setAdd('or-set-0', 'e.r1.1', 'acked');
  l.setAdd('or-set-0', 'e.r1.2', 'uncertain');
  l.setAdd('or-set-0', 'e.r1.3', 'refused', 'FROZEN');
  l.mapField('or-map-0', 'f0', 3, 'acked');
  l.mapField('or-map-0', 'f0', 2, 'uncertain');
  l.textInsert('text-0', '<r1.1>', 'acked');
  l.textInsert('text-0', '<r2.1>', 'acked');
  l.textInsert('text-0', '<r3.1>', 'uncertain');
  return l;
}

const GOOD = { 'counter-0': 3, 'or-set-0': ['e.r1.1'], 'or-map-0': { f0: 3 }, 'text-0': '<r2.1><r1.1>' };

describe('fault suite checks', () => {
  it('checker - a run within the bounds passes every check', () => {
    expect(failed(runChecks(ledger(), state(GOOD)))).toEqual([]);
  });

  it('checker - a lost acknowledged increment and a double-counted one both fail', () => {
    expect(failed(runChecks(ledger(), state({ ...GOOD, 'counter-0': 1 })))).toEqual([expect.stringMatching(/counter-0: 1 < 2 acknowledged/)]);
    expect(failed(runChecks(ledger(), state({ ...GOOD, 'counter-0': 4 })))).toEqual([expect.stringMatching(/counter-0: 4 > 2 acknowledged \+ 1 uncertain/)]);
  });

  it('checker - a missing acknowledged add, an unwritten element and a refused add present all fail', () => {
    expect(failed(runChecks(ledger(), state({ ...GOOD, 'or-set-0': [] })))).toEqual([expect.stringMatching(/1 acknowledged element\(s\) missing: e\.r1\.1/)]);
    expect(failed(runChecks(ledger(), state({ ...GOOD, 'or-set-0': ['e.r1.1', 'e.x'] })))).toEqual([expect.stringMatching(/no client wrote: e\.x/)]);
    expect(failed(runChecks(ledger(), state({ ...GOOD, 'or-set-0': ['e.r1.1', 'e.r1.3'] })))).toEqual([expect.stringMatching(/present though their write was refused: e\.r1\.3/)]);
  });

  it('checker - or-map fields are held to their acknowledged sums', () => {
    expect(failed(runChecks(ledger(), state({ ...GOOD, 'or-map-0': { f0: 2 } })))).toEqual([expect.stringMatching(/or-map-0\.f0: 2 < 3/)]);
    expect(failed(runChecks(ledger(), state({ ...GOOD, 'or-map-0': { f0: 3, f9: 1 } })))).toEqual([expect.stringMatching(/or-map-0\.f9: a field no client wrote/)]);
  });

  it('checker - text markers must all be there once, and whole', () => {
    expect(failed(runChecks(ledger(), state({ ...GOOD, 'text-0': '<r2.1>' })))).toEqual([expect.stringMatching(/acknowledged element\(s\) missing: <r1\.1>/)]);
    expect(failed(runChecks(ledger(), state({ ...GOOD, 'text-0': '<r2.1><r1.1><r1.1>' })))).toEqual([expect.stringMatching(/present twice: <r1\.1>/)]);
    expect(failed(runChecks(ledger(), state({ ...GOOD, 'text-0': '<r2.<r1.1>1>' })))).toEqual([expect.stringMatching(/not a sequence of whole markers/)]);
    expect(splitMarkers('<a><b>')).toEqual(['<a>', '<b>']);
    expect(splitMarkers('<a>x<b>')).toBeUndefined();
  });

  it('checker - replicas that disagree fail, naming the key and each value', () => {
    const s = state(GOOD);
    (s.values.get('r2') as Map<string, unknown>).set('counter-0', 2);
    expect(failed(runChecks(ledger(), s))).toEqual(expect.arrayContaining([expect.stringMatching(/counter-0: r1=3 r2=2 r3=3/)]));
  });

  it('checker - a digest mismatch (in a result or a log line), no round after the last fault, or a replica behind the newest round fail', () => {
    const mismatch: RoundRecord = { ...ROUND, round: 4, outcome: 'aborted', code: 'DIGEST_MISMATCH', reason: 'replicas reached the same cut with different states' };
    expect(failed(runChecks(ledger(), state(GOOD, { rounds: [mismatch, ROUND] })))).toEqual([expect.stringMatching(/no digest mismatch.*round 1\/4/)]);
    expect(failed(runChecks(ledger(), state(GOOD, { mismatchLogLines: ['{"msg":"DIGEST MISMATCH: ..."}'] })))).toEqual([expect.stringMatching(/log: .*DIGEST MISMATCH/)]);
    expect(failed(runChecks(ledger(), state(GOOD, { lastFaultHealedMs: 3_000 })))).toEqual([expect.stringMatching(/a round committed after the last fault/)]);
    const behind = new Map(IDS.map((id) => [id, { epoch: 1, round: id === 'r3' ? 4 : 5 }]));
    expect(failed(runChecks(ledger(), state(GOOD, { lastRounds: behind })))).toEqual([expect.stringMatching(/r3=1\/4/)]);
  });

  it('checker - canonical JSON ignores key order', () => {
    expect(canonical({ b: 1, a: [{ d: 1, c: 2 }] })).toBe(canonical({ a: [{ c: 2, d: 1 }], b: 1 }));
  });
});

describe('fault schedule', () => {
  it('schedule - a seed gives the same steps, every kind comes first once, and another seed differs', () => {
    const a = firstSteps(7, IDS, 3, 20);
    expect(firstSteps(7, IDS, 3, 20)).toEqual(a);
    expect(new Set(a.slice(0, FAULT_KINDS.length).map((s) => s.kind))).toEqual(new Set(FAULT_KINDS));
    expect(firstSteps(8, IDS, 3, 20)).not.toEqual(a);
    for (const s of a) {
      if (s.kind === 'kill-leader') expect([s.replica, s.node]).toEqual([undefined, undefined]);
      if (s.kind === 'kill-nats' || s.kind === 'kill-replica-nats-down') expect([0, 1, 2]).toContain(s.node);
      if (s.kind !== 'kill-nats' && s.kind !== 'kill-leader') expect(IDS).toContain(s.replica);
    }
    expect(describeStep({ n: 3, kind: 'kill-replica-nats-down', replica: 'r2', node: 2, gapMs: 10, holdMs: 20 })).toBe('#3 kill-replica-nats-down r2 + n3 (after 10 ms clean, held 20 ms)');
  });

  it('schedule - FAULTS_KINDS limits the kinds and refuses unknown ones', () => {
    expect(parseKinds(undefined)).toEqual([...FAULT_KINDS]);
    const only = parseKinds('kill-nats, kill-leader');
    expect(new Set(firstSteps(1, IDS, 3, 30, only).map((s) => s.kind))).toEqual(new Set(['kill-nats', 'kill-leader']));
    expect(() => parseKinds('kill-everything')).toThrow(/unknown fault kind "kill-everything"/);
  });
});
