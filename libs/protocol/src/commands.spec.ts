import { subjectsFor } from './subjects';
import { CLIENT_COMMAND_NAMES, commandSpec, isClientCommand, isWriteCommand, REPLICA_COMMANDS, REPLICA_EVENTS, replicaSubscriptions, ROUND_COMMAND_NAMES } from './commands';

describe('command table', () => {
  it('command table - lists the client commands in help order and the round commands apart', () => {
    expect(CLIENT_COMMAND_NAMES).toEqual(['create', 'update', 'delete', 'get', 'keys', 'history', 'before-sync', 'status']);
    expect(ROUND_COMMAND_NAMES).toEqual(['freeze', 'cut', 'commit', 'resume', 'digests']);
  });

  it('command table - only create, update and delete write', () => {
    expect(Object.values(REPLICA_COMMANDS).filter((c) => c.write).map((c) => c.name)).toEqual(['create', 'update', 'delete']);
    expect(isWriteCommand('update')).toBe(true);
    expect(isWriteCommand('get')).toBe(false);
    expect(isWriteCommand('freeze')).toBe(false);
    expect(isWriteCommand('nope')).toBe(false);
  });

  it('command table - a name the table does not list has no entry (not even an Object.prototype key)', () => {
    expect(commandSpec('nope')).toBeUndefined();
    expect(commandSpec('toString')).toBeUndefined();
    expect(isClientCommand('constructor')).toBe(false);
    expect(isClientCommand('cut')).toBe(false);
    expect(isClientCommand('keys')).toBe(true);
  });

  it('command table - each entry parses with its own parser', () => {
    expect(REPLICA_COMMANDS.update.parse({ key: 'k', op: { type: 'increment' } })).toMatchObject({ ok: true, request: { key: 'k', ack: 'local' } });
    expect(REPLICA_COMMANDS.get.parse({})).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect(REPLICA_COMMANDS.freeze.parse({ epoch: 1, round: 2 })).toEqual({ ok: true, request: { epoch: 1, round: 2, leaseMs: 5_000 } });
    expect(REPLICA_COMMANDS.status.parse({ anything: 1 })).toEqual({ ok: true, request: {} });
  });

  it('command table - a replica subscribes to the shared api subject, its own subject and the three events', () => {
    const subs = replicaSubscriptions(subjectsFor('crdt'), 'r1');
    expect(subs).toEqual([
      { kind: 'request', subject: 'crdt.api.*', queue: 'crdt-replicas', commands: CLIENT_COMMAND_NAMES },
      { kind: 'request', subject: 'crdt.replica.r1.*', commands: [...CLIENT_COMMAND_NAMES, ...ROUND_COMMAND_NAMES] },
      { kind: 'event', subject: 'crdt.replica.r1.resend', event: 'resend' },
      { kind: 'event', subject: 'crdt.heartbeat', event: 'heartbeat' },
      { kind: 'event', subject: 'crdt.round.resume', event: 'round-resume' },
    ]);
  });

  it('command table - events drop bodies that are not theirs', () => {
    expect(REPLICA_EVENTS.resend.parse({ fromSeq: 3 })).toEqual({ fromSeq: 3 });
    expect(REPLICA_EVENTS.resend.parse({ fromSeq: 0 })).toBeUndefined();
    expect(REPLICA_EVENTS.heartbeat.parse({ replica: 'r2' })).toBeUndefined();
    expect(REPLICA_EVENTS.heartbeat.parse({ replica: 'r2', applied: {} })).toEqual({ replica: 'r2', applied: {} });
  });
});
