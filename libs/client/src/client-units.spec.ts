import type { Json, TypeName, ValueOf } from '#crdt';
import { COMMAND_EXAMPLES, crdtType, TYPE_NAMES } from '#crdt';
import { CrdtError, isRetryableCode } from './errors';
import { HandleFactory, type Commands, type DeleteResult, type GetOptions, type GetResult, type UpdateOptions, type UpdateResult } from './handles';
import { backoffMs, checkRetryPolicy, RETRY_DEFAULTS } from './retry';
import { watchSubject } from './watch';

/** Records what handles send, instead of a store. */
class Recorder extends HandleFactory {
  readonly sent: Array<{ key: string; commands: unknown; type?: string; options?: Json }> = [];
  override async update<T extends TypeName>(key: string, commands: Commands<T>, options: UpdateOptions & { type?: T; options?: Json } = {}): Promise<UpdateResult> {
    this.sent.push({ key, commands, type: options.type, options: options.options });
    return { key, type: options.type ?? 'pn-counter', replica: 'r1', seq: this.sent.length, token: 't' };
  }
  override async get<T extends TypeName = TypeName>(key: string, _options?: GetOptions): Promise<GetResult<ValueOf<T>>> {
    return { key, type: 'pn-counter', value: 0 as ValueOf<T>, token: 't' };
  }
  readonly deleted: Array<{ key: string; options?: UpdateOptions }> = [];
  override async delete(key: string, options?: UpdateOptions): Promise<DeleteResult> {
    this.deleted.push({ key, options });
    return { key, type: 'pn-counter', replica: 'r1', seq: 1, token: 't' };
  }
}

describe('client units', () => {
  it('handles - deleteKey deletes the whole key; a text handle\'s delete still removes characters', async () => {
    const r = new Recorder();
    await r.text('t').deleteKey({ ack: 'all' });
    await r.text('t').delete(0, 2);
    expect(r.deleted).toEqual([{ key: 't', options: { ack: 'all' } }]);
    expect(r.sent).toEqual([{ key: 't', commands: { type: 'delete', index: 0, count: 2 }, type: 'text', options: null }]);
  });

  it('handles - each typed method sends the command its type documents, with the type to create the key', async () => {
    const r = new Recorder();
    await r.counter('c').increment(5);
    await r.counter('c').decrement();
    await r.set('s').add('x');
    await r.set('s').add('x', 'y');
    await r.set('s', 'lww-set').remove('x');
    await r.text('t').insert(0, 'hi');
    await r.list('l').insert(1, 'a', 'b');
    await r.register('g', 'mv-register').set(null);
    await r.flag('f', 'dw-flag').disable();
    await r.map('m').updateField('n', 'g-counter', { type: 'increment', by: 2 });
    await r.lifecycle('k', ['open', 'closed']).transition('closed');
    expect(r.sent).toEqual([
      { key: 'c', commands: { type: 'increment', by: 5 }, type: 'pn-counter', options: null },
      { key: 'c', commands: { type: 'decrement', by: 1 }, type: 'pn-counter', options: null },
      { key: 's', commands: { type: 'add', value: 'x' }, type: 'or-set', options: null },
      { key: 's', commands: { type: 'add', values: ['x', 'y'] }, type: 'or-set', options: null },
      { key: 's', commands: { type: 'remove', value: 'x' }, type: 'lww-set', options: null },
      { key: 't', commands: { type: 'insert', index: 0, text: 'hi' }, type: 'text', options: null },
      { key: 'l', commands: { type: 'insert', index: 1, values: ['a', 'b'] }, type: 'list', options: null },
      { key: 'g', commands: { type: 'set', value: null }, type: 'mv-register', options: null },
      { key: 'f', commands: { type: 'disable' }, type: 'dw-flag', options: null },
      { key: 'm', commands: { type: 'update', field: 'n', fieldType: 'g-counter', op: { type: 'increment', by: 2 } }, type: 'or-map', options: null },
      { key: 'k', commands: { type: 'transition', to: 'closed' }, type: 'lifecycle', options: { states: ['open', 'closed'] } },
    ]);
  });

  it('handles - commands are typed per CRDT type (checked by tsc -p tsconfig.json)', async () => {
    const r = new Recorder();
    // @ts-expect-error a text takes insert and delete, not increment
    await r.text('t').update({ type: 'increment' });
    // @ts-expect-error an or-map field op must be a command of the field's type
    await r.map('m').updateField('n', 'text', { type: 'increment' });
    // @ts-expect-error a g-set cannot remove
    await r.set('s', 'g-set').remove('x');
    const v: number = await r.counter('c').value();
    expect(v).toBe(0);
  });

  it('commands - every example command of every type is accepted by the type\'s own prepare', () => {
    for (const name of TYPE_NAMES) {
      const impl = crdtType(name);
      if (!impl.ok) throw new Error(name);
      const options = name === 'lifecycle' ? { states: ['open', 'closed'] } : null;
      const state = impl.value.create(impl.value.parseOptions(options).ok ? (impl.value.parseOptions(options) as { value: Json }).value : null);
      // The first example of each type applies to a new key (sequences: an insert at 0).
      const prepared = impl.value.prepare(state, COMMAND_EXAMPLES[name][0], { replica: 'r1', time: 1 });
      expect({ name, ok: prepared.ok }).toEqual({ name, ok: true });
    }
  });

  it('errors - retryable comes from the protocol catalogue, and client codes from the client\'s', () => {
    expect(new CrdtError('FROZEN', 'x').retryable).toBe(true);
    expect(new CrdtError('INVALID_OP', 'x').retryable).toBe(false);
    expect(new CrdtError('REQUEST_TIMEOUT', 'x').retryable).toBe(true);
    expect(isRetryableCode('WHATEVER')).toBe(false);
    expect(new CrdtError('TIMEOUT', 'ack late', { ok: false, seq: 4 }).applied).toBe(true);
  });

  it('retry - jittered back-off stays within the doubling bound and the cap', () => {
    const p = { attemptsMax: 5, backoffMsBase: 50, backoffMsMax: 300 };
    expect([1, 2, 3, 4, 5].map((a) => backoffMs(p, a, () => 0.999999))).toEqual([49, 99, 199, 299, 299]);
    expect(backoffMs(p, 3, () => 0)).toBe(0);
    expect(() => checkRetryPolicy({ ...RETRY_DEFAULTS, attemptsMax: 0 })).toThrow(/attemptsMax/);
  });

  it('watch - keys, prefixes and patterns map to NATS subjects and a client-side filter', () => {
    expect(watchSubject({ key: 'visits' })).toEqual({ suffix: 'visits' });
    expect(watchSubject({ prefix: 'users.' })).toEqual({ suffix: 'users.>' });
    expect(watchSubject({ prefix: 'users.al' })).toEqual({ suffix: 'users.>', filter: 'users.al' });
    expect(watchSubject({ prefix: 'tag' })).toEqual({ suffix: '>', filter: 'tag' });
    expect(watchSubject({ prefix: '' })).toEqual({ suffix: '>' });
    expect(watchSubject({ pattern: 'users.*' })).toEqual({ suffix: 'users.*' });
    expect(() => watchSubject({ pattern: 'tag*' })).toThrow(/whole|part/);
    expect(() => watchSubject({ key: 'a', prefix: 'b' })).toThrow(/exactly one/);
  });
});
