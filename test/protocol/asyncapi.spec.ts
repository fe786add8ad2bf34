import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DiagnosticSeverity, Parser, type AsyncAPIDocumentInterface, type ChannelInterface, type MessageInterface } from '@asyncapi/parser';
import Ajv from 'ajv';
import { TYPE_NAMES } from '#crdt';
import {
  batchMessageId,
  checkKey,
  checkOpOrigin,
  commandSpec,
  decodeEventBatch,
  ERROR_CODES,
  FREEZE_LEASE_MS_DEFAULT,
  parseHeartbeat,
  PROTOCOL_LIMITS,
  REPLICA_COMMANDS,
  REPLICA_EVENTS,
  REPLICA_MODES,
  replicaSubscriptions,
  RID_LENGTH_MAX,
  ROUND_PHASES,
  roundReplyFields,
  subjectsFor,
  type RoundPhase,
  type Subjects,
} from '#protocol';
import {
  COORDINATION_ERROR_CODES,
  COORDINATOR_COMMAND_NAMES,
  DEFAULT_COORDINATOR_CONFIG,
  parseRoundResult,
  ROUND_EVENT_PHASES,
  ROUND_OUTCOMES,
  ROUND_TRIGGERS,
} from '#coordination';
import { LEASE_KEY } from '#app-coordinator/nats/kv-lease-store';
import { HISTORY_KEY } from '#app-coordinator/nats/kv-round-history';
import { LATEST } from '#app-replica/nats/object-store-snapshots';

/**
 * docs/asyncapi.yaml, the NATS contract, against the code: it must parse as AsyncAPI 3
 * without errors or warnings, list exactly the subjects the code uses (from the command
 * table, the events a replica hears, the coordinator's admin table and the subject
 * builders) with the right replies and queue group, carry the code's error codes and
 * enums, and hold examples that both its own schemas and the code's parsers accept.
 */

const CONTRACT = join(__dirname, '..', '..', 'docs', 'asyncapi.yaml');

/** Placeholders the contract's channel addresses use, so the code's own builders produce the addresses. */
const P = { prefix: '{prefix}', replicaId: '{replicaId}', key: '{key}', origin: '{origin}', leaseBucket: '{leaseBucket}', snapshotBucket: '{snapshotBucket}', chunkId: '{chunkId}' } as const;

/** A subject the code uses, as the contract must describe it. */
interface Expected {
  readonly subject: string;
  /** `receive`: a product process subscribes (and answers when `reply`); `send`: it publishes. */
  readonly action: 'send' | 'receive';
  /** Which error catalogue the reply's error message must carry; absent for fire and forget. */
  readonly reply?: 'replica' | 'coordinator';
  /** The NATS queue group of the subscription, if any. */
  readonly queue?: string;
  /** The operation's tag. */
  readonly tag: string;
  /** Where in the code it comes from (for failure messages). */
  readonly from: string;
}

/**
 * Every subject family the `Subjects` builders make, and the subjects of each as the code
 * derives them. Typed by `keyof Subjects`: a family added there does not compile until it
 * is listed here, and then its subjects must be in the contract.
 */
function codeSubjects(s: Subjects): Record<keyof Subjects, Expected[]> {
  const subs = replicaSubscriptions(s, P.replicaId);
  const requests = (family: 'api' | 'replica'): Expected[] =>
    subs.flatMap((sub) => {
      if (sub.kind !== 'request' || sub.subject !== (family === 'api' ? s.api('*') : s.replica(P.replicaId, '*'))) return [];
      return sub.commands.map((name) => ({
        subject: family === 'api' ? s.api(name) : s.replica(P.replicaId, name),
        action: 'receive' as const,
        reply: 'replica' as const,
        ...(sub.queue !== undefined ? { queue: sub.queue } : {}),
        tag: commandSpec(name)!.kind,
        from: `command table: ${name} on ${sub.subject}`,
      }));
    });
  const events = subs.flatMap((sub) => (sub.kind === 'event' ? [{ subject: sub.subject, action: 'send' as const, tag: sub.event === 'round-resume' ? 'round' : 'internal', from: `REPLICA_EVENTS.${sub.event}` }] : []));
  const eventsUnder = (prefix: string) => events.filter((e) => e.subject.startsWith(prefix));
  return {
    api: requests('api'),
    replica: [...requests('replica'), ...eventsUnder(s.replica(P.replicaId, ''))],
    heartbeat: eventsUnder(s.heartbeat),
    round: eventsUnder(s.round('')),
    changes: [{ subject: s.changes(P.key), action: 'send', tag: 'client', from: 'NoticePort.changed (apps/replica/src/nats/nats-notices.ts)' }],
    coordinator: COORDINATOR_COMMAND_NAMES.map((name) => ({ subject: s.coordinator(name), action: 'receive', reply: 'coordinator', tag: 'admin', from: `COORDINATOR_COMMANDS.${name}` })),
    roundEvents: [{ subject: s.roundEvents, action: 'send', tag: 'admin', from: 'RoundPorts.emit (apps/coordinator/src/coordinator-runtime.ts)' }],
    ops: [{ subject: s.ops(P.origin), action: 'send', tag: 'internal', from: 'the op stream (apps/replica/src/replica-runtime.ts)' }],
    strongOps: [{ subject: s.strongOps(P.key), action: 'send', tag: 'internal', from: 'the op stream\'s strong subjects (libs/replication/src/strong-commands.ts)' }],
    // A filter and a queue group, not subjects of their own: checked against `ops` and the api bindings.
    opsFilter: [],
    queueGroup: [],
  };
}

/** The JetStream stores, by the keys and object name the adapters use. */
function storeSubjects(): Expected[] {
  return [
    { subject: `$KV.${P.leaseBucket}.${LEASE_KEY}`, action: 'send', tag: 'storage', from: 'KvLeaseStore' },
    { subject: `$KV.${P.leaseBucket}.${HISTORY_KEY}`, action: 'send', tag: 'storage', from: 'KvRoundHistory' },
    { subject: `$O.${P.snapshotBucket}.C.${P.chunkId}`, action: 'send', tag: 'storage', from: 'ObjectStoreSnapshots' },
  ];
}

let doc: AsyncAPIDocumentInterface;
let text: string;

beforeAll(async () => {
  text = readFileSync(CONTRACT, 'utf8');
  const { document, diagnostics } = await new Parser().parse(text);
  const serious = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error || d.severity === DiagnosticSeverity.Warning);
  if (!document || serious.length > 0) {
    throw new Error(`docs/asyncapi.yaml does not parse cleanly:\n${serious.map((d) => `${d.code}: ${d.message} at ${d.path.join('/')}`).join('\n')}`);
  }
  doc = document;
}, 60_000);

function channelAt(address: string): ChannelInterface | undefined {
  return doc.channels().all().find((c) => c.address() === address);
}

function schemaOf(name: string): Record<string, unknown> {
  const schema = doc.components().schemas().get(name);
  if (!schema) throw new Error(`the contract has no schema ${name}`);
  return schema.json() as Record<string, unknown>;
}

function enumOf(name: string): unknown[] {
  return schemaOf(name).enum as unknown[];
}

/** The error catalogue codes a reply message's `error.code` allows. */
function errorCodesOf(m: MessageInterface): unknown[] | undefined {
  const payload = m.payload()?.json() as { properties?: { ok?: { const?: unknown }; error?: { properties?: { code?: { enum?: unknown[] } } } } } | undefined;
  return payload?.properties?.ok?.const === false ? payload.properties.error?.properties?.code?.enum : undefined;
}

describe('asyncapi contract', () => {
  it('asyncapi contract - is AsyncAPI 3.0 and parses without errors or warnings', () => {
    expect(doc.version()).toBe('3.0.0');
    expect(doc.channels().all().length).toBeGreaterThan(0);
  });

  it('asyncapi contract - the parser check can fail: a dangling reference is an error', async () => {
    const broken = text.replace("$ref: '#/components/schemas/CreateReply'", "$ref: '#/components/schemas/NoSuchSchema'");
    expect(broken).not.toBe(text);
    const { diagnostics } = await new Parser().parse(broken);
    expect(diagnostics.some((d) => d.severity === DiagnosticSeverity.Error)).toBe(true);
  }, 60_000);

  it('asyncapi contract - every subject the code uses has its channel and operation, with the reply, queue group and tag the code gives it', () => {
    const s = subjectsFor(P.prefix);
    const expected = [...Object.values(codeSubjects(s)).flat(), ...storeSubjects()];
    // The table really was read (a broken derivation would expect nothing and pass).
    expect(expected.filter((e) => e.reply === 'replica').length).toBe(Object.keys(REPLICA_COMMANDS).length + Object.values(REPLICA_COMMANDS).filter((c) => c.kind === 'client').length);
    const problems: string[] = [];
    for (const e of expected) {
      const channel = channelAt(e.subject);
      if (!channel) {
        problems.push(`${e.subject} (${e.from}) has no channel`);
        continue;
      }
      const ops = channel.operations().all();
      if (ops.length !== 1) {
        problems.push(`${e.subject} has ${ops.length} operations, not 1`);
        continue;
      }
      const op = ops[0];
      if (op.action() !== e.action) problems.push(`${e.subject}: operation ${op.id()} is ${op.action()}, not ${e.action}`);
      if (!op.tags().all().some((t) => t.name() === e.tag)) problems.push(`${e.subject}: operation ${op.id()} lacks tag ${e.tag}`);
      if (op.messages().all().length !== 1) problems.push(`${e.subject}: operation ${op.id()} has ${op.messages().all().length} messages, not 1`);
      const queue = (op.bindings().get('nats')?.value() as { queue?: string } | undefined)?.queue;
      if (queue !== e.queue) problems.push(`${e.subject}: queue group ${queue} in the contract, ${e.queue} in the code`);
      const reply = op.reply();
      if (!e.reply) {
        if (reply) problems.push(`${e.subject} is fire and forget in the code but has a reply in the contract`);
        continue;
      }
      if (!reply) {
        problems.push(`${e.subject} is request/reply in the code but has no reply in the contract`);
        continue;
      }
      const inbox = reply.channel();
      if (!inbox || inbox.address() != null) problems.push(`${e.subject}: the reply goes to the requester's inbox (address null)`);
      const messages = reply.messages().all();
      const okReplies = messages.filter((m) => (m.payload()?.json() as { properties?: { ok?: { const?: unknown } } }).properties?.ok?.const === true);
      const catalogue = Object.keys(e.reply === 'replica' ? ERROR_CODES : COORDINATION_ERROR_CODES);
      const errorReplies = messages.filter((m) => errorCodesOf(m) !== undefined);
      if (okReplies.length !== 1) problems.push(`${e.subject}: ${okReplies.length} success replies ({"ok":true}), not 1`);
      if (errorReplies.length !== 1 || JSON.stringify(errorCodesOf(errorReplies[0])) !== JSON.stringify(catalogue)) {
        problems.push(`${e.subject}: the error reply must carry the ${e.reply} error catalogue`);
      }
    }
    const known = new Set(expected.map((e) => e.subject));
    for (const c of doc.channels().all()) {
      const address = c.address();
      if (address === null || address === undefined) {
        // Reply inboxes: used as the reply of some operation, never on their own.
        if (!doc.operations().all().some((o) => o.reply()?.channel()?.id() === c.id())) problems.push(`reply channel ${c.id()} is no operation's reply`);
      } else if (!known.has(address)) {
        problems.push(`channel ${c.id()} (${address}) maps to no subject the code uses`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('asyncapi contract - the op stream channel lies within the stream filter, and api commands are balanced over the queue group', () => {
    const s = subjectsFor(P.prefix);
    expect(s.opsFilter).toBe(s.ops('>'));
    expect(channelAt(s.ops(P.origin))).toBeDefined();
    const api = channelAt(s.api('get'))!.operations().all()[0];
    expect((api.bindings().get('nats')?.value() as { queue?: string }).queue).toBe(s.queueGroup);
  });

  it('asyncapi contract - its error codes and enums are the code\'s catalogues, in their order', () => {
    expect(enumOf('ErrorCode')).toEqual(Object.keys(ERROR_CODES));
    expect(enumOf('CoordinationErrorCode')).toEqual(Object.keys(COORDINATION_ERROR_CODES));
    expect(enumOf('TypeName')).toEqual([...TYPE_NAMES]);
    expect(enumOf('ReplicaMode')).toEqual([...REPLICA_MODES]);
    expect(enumOf('RoundEventPhase')).toEqual([...ROUND_EVENT_PHASES]);
    expect(enumOf('RoundTrigger')).toEqual([...ROUND_TRIGGERS]);
    expect(enumOf('RoundOutcome')).toEqual([...ROUND_OUTCOMES]);
    expect(enumOf('RoundFailurePhase')).toEqual([...ROUND_PHASES, 'start']);
  });

  it('asyncapi contract - its limits are the protocol\'s', () => {
    const props = (name: string) => schemaOf(name).properties as Record<string, Record<string, unknown>>;
    expect(schemaOf('Key').maxLength).toBe(PROTOCOL_LIMITS.keyLengthMax);
    expect(props('UpdateRequest').ops.maxItems).toBe(PROTOCOL_LIMITS.batchOpsMax);
    expect(props('UpdateRequest').rid.maxLength).toBe(RID_LENGTH_MAX);
    expect(props('KeysRequest').limit.maximum).toBe(PROTOCOL_LIMITS.keysLimitMax);
    expect(schemaOf('TimeoutMs').maximum).toBe(PROTOCOL_LIMITS.waitMsMax);
    expect(props('FreezeRequest').leaseMs.default).toBe(FREEZE_LEASE_MS_DEFAULT);
    expect(props('CoordinatorRoundsRequest').limit.maximum).toBe(DEFAULT_COORDINATOR_CONFIG.historyMax);
  });

  it('asyncapi contract - the Key schema accepts exactly the keys the protocol accepts', () => {
    const ajv = new Ajv({ strict: false });
    const valid = ajv.compile(schemaOf('Key'));
    const samples = ['visits', 'users.alice', 'a/b@c:d_e-f', 'x'.repeat(256), 'x'.repeat(257), '', '.a', 'a.', 'a..b', 'a b', 'a*', 'a>', 'ü'];
    for (const key of samples) expect([key, valid(key)]).toEqual([key, checkKey(key) === undefined]);
  });

  it('asyncapi contract - every message example validates against its own schemas', () => {
    const ajv = new Ajv({ strict: false, allErrors: true });
    let checked = 0;
    const problems: string[] = [];
    for (const m of doc.components().messages().all()) {
      const payload = m.payload()?.json();
      const headers = m.headers()?.json();
      const validPayload = payload ? ajv.compile(payload) : undefined;
      const validHeaders = headers ? ajv.compile(headers) : undefined;
      for (const ex of m.examples().all()) {
        checked++;
        if (validPayload && !validPayload(ex.payload())) problems.push(`${m.id()} example ${ex.name()}: ${ajv.errorsText(validPayload.errors)}`);
        if (validHeaders && !validHeaders(ex.headers())) problems.push(`${m.id()} example ${ex.name()} headers: ${ajv.errorsText(validHeaders.errors)}`);
      }
    }
    expect(problems).toEqual([]);
    expect(checked).toBeGreaterThan(30);
    // The schemas are strict enough to refuse: an unknown error code, a missing field.
    expect(ajv.validate(schemaOf('ErrorReply'), { ok: false, error: { code: 'NOPE', message: 'x' } })).toBe(false);
    expect(ajv.validate(schemaOf('UpdateRequest'), { key: 'k', op: { type: 'increment' }, ops: [{ type: 'increment' }] })).toBe(false);
    expect(ajv.validate(schemaOf('Heartbeat'), { v: 1, replica: 'r1' })).toBe(false);
  });

  it('asyncapi contract - its examples are accepted by the code\'s own parsers', () => {
    const examples = (id: string) => {
      const m = doc.components().messages().get(id);
      if (!m) throw new Error(`the contract has no message ${id}`);
      return m.examples().all().map((e) => e.payload() as Record<string, unknown>);
    };
    // Requests: each command's table parser, so a field renamed in the code fails here.
    for (const name of Object.keys(REPLICA_COMMANDS)) {
      const spec = commandSpec(name)!;
      const bodies = examples(`${name}.request`);
      expect([name, bodies.length > 0]).toEqual([name, true]);
      for (const body of bodies) expect([name, spec.parse(body).ok]).toEqual([name, true]);
    }
    // Round replies: the coordinator's reply reader.
    for (const phase of ROUND_PHASES) {
      for (const body of examples(`${phase}.reply`)) expect([phase, roundReplyFields(phase as RoundPhase, body) !== undefined]).toEqual([phase, true]);
    }
    for (const body of examples('heartbeat')) expect(parseHeartbeat(body)).toBeDefined();
    for (const body of examples('resend.request')) expect(REPLICA_EVENTS.resend.parse(body)).toEqual(body);
    for (const body of examples('round-resume.broadcast')) expect(REPLICA_COMMANDS.resume.parse(body)).toEqual({ ok: true, request: body });
    // Event batches: decoded, their message id as the publisher makes it, their origin believed on the origin's subject.
    const batchMessage = doc.components().messages().get('event.batch')!;
    for (const ex of batchMessage.examples().all()) {
      const batch = decodeEventBatch(Buffer.from(JSON.stringify(ex.payload())));
      expect(batch).toBeDefined();
      expect((ex.headers() as Record<string, string>)['Nats-Msg-Id']).toBe(batchMessageId(batch!.events));
      const s = subjectsFor('crdt');
      expect(checkOpOrigin(s, s.ops(batch!.events[0].origin), batch!.events.map((e) => e.origin)).ok).toBe(true);
    }
    // Round results, wherever they appear.
    for (const body of examples('coordinator-sync.reply')) expect(parseRoundResult(body.result)).toBeDefined();
    for (const body of examples('coordinator-rounds.reply')) for (const r of body.rounds as unknown[]) expect(parseRoundResult(r)).toBeDefined();
  });
});
