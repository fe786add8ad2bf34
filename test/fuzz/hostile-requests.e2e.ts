import * as fc from 'fast-check';
import { CLIENT_COMMAND_NAMES, ROUND_COMMAND_NAMES } from '#protocol';
import { TestCluster } from '../support/cluster';

/** Every command a replica answers (client and round): the fuzzer's unknown commands are none of these. */
const KNOWN_COMMANDS: readonly string[] = [...CLIENT_COMMAND_NAMES, ...ROUND_COMMAND_NAMES];

/**
 * Input fuzzing over NATS: at least 10,000 generated malformed or hostile requests sent to
 * a running cluster. Every one must get an error reply with a code, no process may die,
 * and the state afterwards must equal the state before (same values, no new events).
 *
 * Each generator is built so that its requests are invalid by construction (the wrong
 * op family for the key's type, a missing or mistyped field, an over-limit size ...), so
 * "every reply is an error" is an exact expectation, not a hope.
 */
const IDS = ['r1', 'r2'];
const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 10_000);
const SEED = Number(process.env.FUZZ_SEED ?? 20261121);

/** Keys created before fuzzing, and op types that each one's CRDT type does not accept. */
const TARGETS: Record<string, { type: string; options?: unknown; foreignOps: string[] }> = {
  counter: { type: 'pn-counter', foreignOps: ['add', 'remove', 'set', 'insert', 'delete', 'enable', 'transition', 'update'] },
  tags: { type: 'or-set', foreignOps: ['increment', 'decrement', 'set', 'insert', 'delete', 'enable', 'transition', 'update'] },
  doc: { type: 'text', foreignOps: ['increment', 'add', 'remove', 'set', 'enable', 'transition', 'update'] },
  flag: { type: 'ew-flag', foreignOps: ['increment', 'add', 'remove', 'set', 'insert', 'delete', 'transition', 'update'] },
  ticket: { type: 'lifecycle', options: { states: ['open', 'closed'] }, foreignOps: ['increment', 'add', 'remove', 'insert', 'delete', 'enable', 'update'] },
  profile: { type: 'or-map', foreignOps: ['increment', 'add', 'insert', 'delete', 'enable', 'transition', 'set'] },
};
const KEYS = Object.keys(TARGETS);

type Sent = { subject: string; data: string | Uint8Array; why: string };

const anyJson = fc.jsonValue({ maxDepth: 3 });
const hugeString = fc.integer({ min: 270 * 1024, max: 400 * 1024 }).map((n) => 'x'.repeat(n));

function deep(depth: number): string {
  return '{"key":"counter","op":' + '{"a":'.repeat(depth) + '1' + '}'.repeat(depth) + '}';
}

/** Requests invalid by construction, labelled with why. */
const hostile: fc.Arbitrary<Sent> = fc.oneof(
  // Broken JSON and non-objects.
  fc.string({ minLength: 1, maxLength: 40 }).filter((s) => { try { const v = JSON.parse(s); return typeof v !== 'object' || v === null || Array.isArray(v); } catch { return true; } })
    .map((s) => ({ subject: 'crdt.api.get', data: s, why: 'not a JSON object' })),
  fc.uint8Array({ minLength: 1, maxLength: 64 }).map((b) => ({ subject: 'crdt.api.update', data: Uint8Array.from([0xff, ...b]), why: 'binary garbage' })),
  // Missing or mistyped key.
  fc.record({ key: fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.string()), fc.constant('')) })
    .map((b) => ({ subject: 'crdt.api.get', data: JSON.stringify(b), why: 'key of a wrong type' })),
  fc.string({ minLength: 1, maxLength: 20 }).filter((k) => !/^[A-Za-z0-9_\-.:/@]+$/.test(k))
    .map((key) => ({ subject: 'crdt.api.get', data: JSON.stringify({ key }), why: 'key with forbidden characters' })),
  fc.integer({ min: 257, max: 5000 }).map((n) => ({ subject: 'crdt.api.get', data: JSON.stringify({ key: 'k'.repeat(n) }), why: 'over-long key' })),
  // Unknown commands (including round commands on the api subject, which are not allowed there).
  fc.oneof(fc.constantFrom('freeze', 'cut', 'commit', 'resume', 'digests', 'drop', 'eval', 'purge'), fc.stringMatching(/^[a-z]{3,12}$/).filter((c) => !KNOWN_COMMANDS.includes(c)))
    .map((c) => ({ subject: `crdt.api.${c}`, data: JSON.stringify({ key: 'counter' }), why: 'unknown command' })),
  // Ops for the wrong type, and unknown op types.
  fc.constantFrom(...KEYS).chain((key) => fc.record({ type: fc.constantFrom(...TARGETS[key].foreignOps), value: anyJson, by: anyJson, index: anyJson, text: anyJson })
    .map((op) => ({ subject: 'crdt.api.update', data: JSON.stringify({ key, op }), why: `op for the wrong type on ${key}` }))),
  fc.constantFrom(...KEYS).chain((key) => fc.stringMatching(/^[a-z]{4,10}$/).filter((t) => !['increment', 'decrement', 'add', 'remove', 'set', 'insert', 'delete', 'enable', 'disable', 'transition', 'update'].includes(t))
    .map((t) => ({ subject: 'crdt.api.update', data: JSON.stringify({ key, op: { type: t } }), why: 'unknown op' }))),
  // Right op family, wrong values.
  fc.oneof(fc.double(), fc.string(), fc.constant(null), fc.constant(2 ** 60), fc.array(fc.integer())).filter((by) => !(typeof by === 'number' && Number.isSafeInteger(by)))
    .map((by) => ({ subject: 'crdt.api.update', data: JSON.stringify({ key: 'counter', op: { type: 'increment', by } }), why: 'increment by a non-integer' })),
  fc.integer({ min: 10_000, max: 2 ** 40 }).map((index) => ({ subject: 'crdt.api.update', data: JSON.stringify({ key: 'doc', op: { type: 'insert', index, text: 'x' } }), why: 'insert out of range' })),
  fc.constantFrom('reopened', '', 'OPEN', 'nope').map((to) => ({ subject: 'crdt.api.update', data: JSON.stringify({ key: 'ticket', op: { type: 'transition', to } }), why: 'undeclared lifecycle state' })),
  // Types and options.
  fc.stringMatching(/^[a-z-]{3,14}$/).filter((t) => !['ew-flag', 'dw-flag', 'g-counter', 'pn-counter', 'lww-register', 'mv-register', 'g-set', '2p-set', 'lww-set', 'or-set', 'or-map', 'text', 'list', 'lifecycle'].includes(t))
    .map((type) => ({ subject: 'crdt.api.create', data: JSON.stringify({ key: 'fresh-key', type }), why: 'unknown type' })),
  fc.constantFrom(...KEYS).map((key) => ({ subject: 'crdt.api.create', data: JSON.stringify({ key, type: TARGETS[key].type === 'or-set' ? 'g-set' : 'or-set' }), why: 'create with another type' })),
  anyJson.filter((o) => !(o !== null && typeof o === 'object' && !Array.isArray(o) && Array.isArray((o as { states?: unknown }).states)))
    .map((options) => ({ subject: 'crdt.api.create', data: JSON.stringify({ key: 'fresh-lc', type: 'lifecycle', options }), why: 'lifecycle without states' })),
  // Sizes and nesting.
  hugeString.map((s) => ({ subject: 'crdt.api.update', data: JSON.stringify({ key: 'tags', op: { type: 'add', value: s } }), why: 'payload over the limit' })),
  fc.integer({ min: 40, max: 5000 }).map((d) => ({ subject: 'crdt.api.update', data: deep(d), why: 'nesting over the limit' })),
  fc.integer({ min: 1001, max: 3000 }).map((n) => ({ subject: 'crdt.api.update', data: JSON.stringify({ key: 'counter', ops: new Array(n).fill({ type: 'increment' }) }), why: 'batch over the limit' })),
  // Forged tokens.
  fc.oneof(fc.string(), fc.base64String().map((b) => 'v1.' + b), fc.constant('v1.' + Buffer.from('{"__proto__":{"x":1}}').toString('base64url')))
    .filter((t) => { if (!t.startsWith('v1.')) return true; try { const v = JSON.parse(Buffer.from(t.slice(3), 'base64url').toString()); return typeof v !== 'object' || v === null || Array.isArray(v) || Object.values(v).some((n) => typeof n !== 'number'); } catch { return true; } })
    .map((after) => ({ subject: 'crdt.api.get', data: JSON.stringify({ key: 'counter', after }), why: 'forged token' })),
  fc.integer({ min: 1_000_000, max: 2 ** 40 }).map((n) => ({ subject: 'crdt.api.get', data: JSON.stringify({ key: 'counter', after: 'v1.' + Buffer.from(JSON.stringify({ r1: n })).toString('base64url'), timeoutMs: 0 }), why: 'unreachable token' })),
  fc.oneof(fc.constant(-1), fc.constant(1.5), fc.constant('5'), fc.integer({ min: 30_001 })).map((timeoutMs) => ({ subject: 'crdt.api.get', data: JSON.stringify({ key: 'counter', timeoutMs }), why: 'bad timeoutMs' })),
  fc.constantFrom('maybe', 'ALL', 1, null).map((ack) => ({ subject: 'crdt.api.update', data: JSON.stringify({ key: 'counter', op: { type: 'increment' }, ack }), why: 'bad ack' })),
  fc.constantFrom('strong', 'LATEST', 3).map((consistency) => ({ subject: 'crdt.api.get', data: JSON.stringify({ key: 'counter', consistency }), why: 'bad consistency' })),
);

describe('fuzz - hostile requests', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await TestCluster.start(IDS);
    for (const [key, t] of Object.entries(TARGETS)) await cluster.ok('create', { key, type: t.type, options: t.options }, 'r1');
    await cluster.ok('update', { key: 'counter', op: { type: 'increment', by: 7 } }, 'r1');
    await cluster.ok('update', { key: 'tags', op: { type: 'add', value: 'a' } }, 'r2');
    await cluster.ok('update', { key: 'doc', op: { type: 'insert', index: 0, text: 'hello' } }, 'r1');
    await cluster.ok('update', { key: 'profile', op: { type: 'update', field: 'age', fieldType: 'lww-register', op: { type: 'set', value: 42 } } }, 'r2');
    await cluster.converged(IDS);
  }, 60_000);
  afterAll(async () => cluster?.stop());

  async function snapshotState(): Promise<string> {
    const out: unknown[] = [];
    for (const id of IDS) {
      const status = await cluster.ok('status', {}, id);
      const keys = await cluster.ok('keys', {}, id);
      const values = await Promise.all(KEYS.map((key) => cluster.request('get', { key }, id)));
      out.push({ applied: status.applied, keys: keys.keys, values: values.map((v) => [v.type, v.value]) });
    }
    return JSON.stringify(out);
  }

  it(`fuzz - ${REQUESTS} malformed or hostile requests each get an error code; nothing dies, nothing changes`, async () => {
    const before = await snapshotState();
    const samples = fc.sample(hostile, { numRuns: REQUESTS, seed: SEED });
    const byCode = new Map<string, number>();
    const wrong: Array<{ why: string; reply: unknown }> = [];
    const WINDOW = 64;
    for (let i = 0; i < samples.length; i += WINDOW) {
      await Promise.all(
        samples.slice(i, i + WINDOW).map(async (s) => {
          const m = await cluster.nc.request(s.subject, s.data, { timeout: 10_000 });
          const reply = JSON.parse(m.string()) as { ok: boolean; error?: { code: string; message: string } };
          if (reply.ok !== false || typeof reply.error?.code !== 'string' || !/^[A-Z_]+$/.test(reply.error.code) || !reply.error.message) {
            wrong.push({ why: s.why, reply });
          } else {
            byCode.set(reply.error.code, (byCode.get(reply.error.code) ?? 0) + 1);
          }
        }),
      );
    }
    expect(wrong.slice(0, 5)).toEqual([]);
    for (const [id, app] of cluster.replicas) expect({ id, running: app.running }).toEqual({ id, running: true });
    expect(await snapshotState()).toBe(before);
    // The codes seen, for the record (the test log shows them).
    process.stdout.write(`fuzz: ${samples.length} requests (seed ${SEED}), codes ${JSON.stringify(Object.fromEntries(byCode))}\n`);
    expect(samples.length).toBeGreaterThanOrEqual(10_000);
  }, 300_000);
});
