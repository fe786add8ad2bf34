import { parseArgs, parseShellLine, type ParsedLine } from './args';
import type { Command, UsageError } from './command';
import { tokenize } from './tokenize';

function command(r: ParsedLine | UsageError | undefined): Command {
  if (r === undefined || 'message' in r) throw new Error(`expected a command, got ${JSON.stringify(r)}`);
  return r.command;
}

function usage(r: ParsedLine | UsageError | undefined): string {
  if (r === undefined || !('message' in r)) throw new Error(`expected a usage error, got ${JSON.stringify(r)}`);
  return r.message;
}

describe('crdtctl tokenizer', () => {
  it('tokenize - splits on whitespace and drops shell quotes', () => {
    expect(tokenize(`get  x`)).toEqual({ ok: true, words: ['get', 'x'] });
    expect(tokenize(`watch 'users.*'`)).toEqual({ ok: true, words: ['watch', 'users.*'] });
    expect(tokenize(`a "b c" d`)).toEqual({ ok: true, words: ['a', 'b c', 'd'] });
  });

  it('tokenize - keeps JSON with spaces whole, its quotes included', () => {
    expect(tokenize(`update x {"type": "add", "value": "a b"}`)).toEqual({ ok: true, words: ['update', 'x', '{"type": "add", "value": "a b"}'] });
    expect(tokenize(`update x [{"type":"add","value":"}"}, {"type":"remove","value":"]"}]`)).toEqual({
      ok: true,
      words: ['update', 'x', '[{"type":"add","value":"}"}, {"type":"remove","value":"]"}]'],
    });
    expect(tokenize(`update x '{"type": "increment"}'`)).toEqual({ ok: true, words: ['update', 'x', '{"type": "increment"}'] });
  });

  it('tokenize - reports unclosed quotes and brackets', () => {
    expect(tokenize(`get "x`).ok).toBe(false);
    expect(tokenize(`update x {"type":"add"`).ok).toBe(false);
  });
});

describe('crdtctl argument parser', () => {
  it('args - no arguments, help and --help print help', () => {
    expect(command(parseArgs([]))).toEqual({ name: 'help' });
    expect(command(parseArgs(['help']))).toEqual({ name: 'help' });
    expect(command(parseArgs(['get', 'x', '--help']))).toEqual({ name: 'help' });
    expect(command(parseArgs(['help', 'shell']))).toEqual({ name: 'help', topic: 'shell' });
  });

  it('args - commands without arguments', () => {
    for (const name of ['status', 'peers', 'sync', 'missing', 'rounds', 'shell'] as const) expect(command(parseArgs([name]))).toEqual({ name });
    expect(usage(parseArgs(['rounds', 'extra']))).toMatch(/^usage: rounds$/);
    expect(usage(parseArgs(['status', 'a', 'b']))).toMatch(/^usage: status \[KEY\]$/);
  });

  it('args - the seed shell forms: sync, peers, status and missing take an optional key', () => {
    for (const name of ['status', 'peers', 'sync', 'missing'] as const) expect(command(parseArgs([name, 'x']))).toEqual({ name, key: 'x' });
    expect(usage(parseArgs(['missing', 'a b']))).toMatch(/letters, digits/);
    expect(command(parseArgs(['before', 'x']))).toEqual({ name: 'before-sync', key: 'x' });
    expect(command(parseArgs(['create', 'x']))).toEqual({ name: 'create', key: 'x', type: 'pn-counter' });
    expect(command(parseArgs(['+5', 'x']))).toEqual({ name: 'update', key: 'x', op: { type: 'increment', by: 5 }, type: 'pn-counter' });
    expect(command(parseArgs(['-3', 'x']))).toEqual({ name: 'update', key: 'x', op: { type: 'decrement', by: 3 }, type: 'pn-counter' });
    expect(command(parseArgs(['7', 'x']))).toEqual({ name: 'update', key: 'x', op: { type: 'increment', by: 7 }, type: 'pn-counter' });
  });

  it('args - put is a plain-key shorthand over an lww-register; del and delete send the protocol\'s delete', () => {
    expect(command(parseArgs(['put', 'color', 'blue']))).toEqual({ name: 'update', key: 'color', op: { type: 'set', value: 'blue' }, type: 'lww-register' });
    expect(command(parseArgs(['put', 'n', '42']))).toEqual({ name: 'update', key: 'n', op: { type: 'set', value: 42 }, type: 'lww-register' });
    expect(command(parseArgs(['put', 'o', '{"a":[1]}']))).toEqual({ name: 'update', key: 'o', op: { type: 'set', value: { a: [1] } }, type: 'lww-register' });
    expect(usage(parseArgs(['put', 'x']))).toMatch(/^usage: put KEY VALUE/);
    expect(command(parseArgs(['del', 'x']))).toEqual({ name: 'delete', key: 'x' });
    expect(command(parseArgs(['delete', 'x', '--ack', 'all']))).toEqual({ name: 'delete', key: 'x', ack: 'all' });
    expect(usage(parseArgs(['del']))).toMatch(/^usage: del KEY/);
    expect(usage(parseArgs(['delete', 'x', '--ack', 'now']))).toMatch(/--ack is local, stream or all/);
    expect(usage(parseArgs(['del', 'x', '--type', 'text']))).toMatch(/takes no --type/);
  });

  it('args - req takes a subject and a JSON body', () => {
    expect(command(parseArgs(['req', 'crdt.api.get', '{"key":"x"}']))).toEqual({ name: 'req', subject: 'crdt.api.get', body: { key: 'x' } });
    expect(command(parseArgs(['req', 'crdt.api.keys']))).toEqual({ name: 'req', subject: 'crdt.api.keys', body: {} });
    expect(usage(parseArgs(['req', 'crdt.api.*', '{}']))).toMatch(/without wildcards/);
    expect(usage(parseArgs(['req', 'crdt.api.get', '{nope']))).toMatch(/JSON is not JSON/);
  });

  it('args - --replica, --after and --consistency', () => {
    expect(parseArgs(['get', 'x', '--replica', 'r2', '--after', 'v1.abc', '--consistency', 'latest'])).toEqual({
      command: { name: 'get', key: 'x' },
      options: { json: false, timeoutMs: undefined, replica: 'r2', after: 'v1.abc', consistency: 'latest' },
    });
    expect(parseArgs(['status', '--replica=r1'])).toMatchObject({ options: { replica: 'r1' } });
    expect(usage(parseArgs(['get', 'x', '--replica', 'a.b']))).toMatch(/--replica is a replica id/);
    expect(usage(parseArgs(['get', 'x', '--consistency', 'strong']))).toBe('--consistency of get is local, latest or linearizable (strong is for writes: put KEY VALUE, update KEY OP_JSON and del KEY)');
    expect(usage(parseArgs(['get', 'x', '--consistency', 'soon']))).toBe('--consistency of get is local, latest or linearizable');
    expect(usage(parseArgs(['variables', '--consistency', 'linearizable']))).toMatch(/^--consistency of variables is local or latest \(linearizable is for `get KEY`/);
    expect(usage(parseArgs(['history', 'x', '--after', 'v1.a']))).toMatch(/history takes no --after/);
  });

  it('args - get --consistency linearizable, with --replica, --after and --timeout', () => {
    expect(parseArgs(['get', 'cfg.mode', '--consistency', 'linearizable'])).toEqual({
      command: { name: 'get', key: 'cfg.mode' },
      options: { json: false, timeoutMs: undefined, consistency: 'linearizable' },
    });
    expect(parseArgs(['get', 'cfg.mode', '--consistency=linearizable', '--replica', 'r3', '--after', 'v1.t', '--timeout', '2000', '--json'])).toEqual({
      command: { name: 'get', key: 'cfg.mode' },
      options: { json: true, timeoutMs: 2000, replica: 'r3', after: 'v1.t', consistency: 'linearizable' },
    });
  });

  it('args - put and update take --consistency strong and --expect REVISION (a compare-and-set)', () => {
    expect(command(parseArgs(['put', 'cfg.mode', 'blue', '--consistency', 'strong']))).toEqual({
      name: 'update',
      key: 'cfg.mode',
      op: { type: 'set', value: 'blue' },
      type: 'lww-register',
      consistency: 'strong',
    });
    expect(parseArgs(['put', 'cfg.mode', 'green', '--consistency', 'strong', '--expect', '7', '--replica', 'r2', '--after', 'v1.t', '--timeout', '3000'])).toEqual({
      command: { name: 'update', key: 'cfg.mode', op: { type: 'set', value: 'green' }, type: 'lww-register', consistency: 'strong', expect: 7 },
      options: { json: false, timeoutMs: 3000, replica: 'r2', after: 'v1.t' },
    });
    // 0: the key has had no strong write; --expect=N works as --expect N.
    expect(command(parseArgs(['put', 'k', '1', '--expect=0', '--consistency=strong']))).toMatchObject({ consistency: 'strong', expect: 0 });
    expect(command(parseArgs(['update', 'r', '{"type":"set","value":1}', '--type', 'lww-register', '--consistency', 'strong', '--expect', '12', '--ack', 'all']))).toEqual({
      name: 'update',
      key: 'r',
      op: { type: 'set', value: 1 },
      type: 'lww-register',
      ack: 'all',
      consistency: 'strong',
      expect: 12,
    });
    // `eventual` is the default: accepted, and nothing is sent for it.
    expect(command(parseArgs(['put', 'k', 'v', '--consistency', 'eventual']))).toEqual({ name: 'update', key: 'k', op: { type: 'set', value: 'v' }, type: 'lww-register' });
    // A write's consistency is its own, not a read option.
    expect(parseArgs(['put', 'k', 'v', '--consistency', 'strong'])).toMatchObject({ options: { json: false, timeoutMs: undefined } });
    expect((parseArgs(['put', 'k', 'v', '--consistency', 'strong']) as ParsedLine).options).not.toHaveProperty('consistency');
  });

  it('args - --expect needs --consistency strong and a whole revision; reads and counters take no strong write', () => {
    expect(usage(parseArgs(['put', 'k', 'v', '--expect', '3']))).toBe('--expect N (a compare-and-set) needs --consistency strong');
    expect(usage(parseArgs(['update', 'k', '{"type":"set","value":1}', '--expect', '3', '--consistency', 'eventual']))).toBe('--expect N (a compare-and-set) needs --consistency strong');
    for (const bad of ['-1', '1.5', 'abc', '', '1e3', '99999999999999999999']) {
      expect(usage(parseArgs(['put', 'k', 'v', '--consistency', 'strong', '--expect', bad]))).toMatch(/^--expect is a revision: a whole number from 0/);
    }
    expect(usage(parseArgs(['put', 'k', 'v', '--consistency', 'strong', '--expect']))).toBe('--expect needs a value');
    expect(usage(parseArgs(['put', 'k', 'v', '--consistency', 'linearizable']))).toBe('--consistency of put is strong or eventual (the default) (linearizable is for reads: get KEY)');
    expect(usage(parseArgs(['update', 'k', '{"type":"set","value":1}', '--consistency', 'latest']))).toMatch(/^--consistency of update is strong or eventual/);
    expect(usage(parseArgs(['get', 'k', '--expect', '3']))).toBe('get takes no --expect');
    expect(command(parseArgs(['del', 'k', '--consistency', 'strong', '--expect', '4']))).toEqual({ name: 'delete', key: 'k', consistency: 'strong', expect: 4 });
    expect(command(parseArgs(['del', 'k', '--consistency', 'strong']))).toEqual({ name: 'delete', key: 'k', consistency: 'strong' });
    expect(usage(parseArgs(['del', 'k', '--expect', '4']))).toMatch(/needs --consistency strong/);
    expect(usage(parseArgs(['+5', 'k', '--consistency', 'strong']))).toMatch(/^\+5 KEY adds to a pn-counter and takes no --consistency; strong writes are for lww-register keys/);
    expect(usage(parseArgs(['-2', 'k', '--expect', '1']))).toMatch(/^-2 KEY adds to a pn-counter and takes no --expect/);
    expect(usage(parseArgs(['populate', 'k', '--consistency', 'strong']))).toBe('populate takes no --consistency');
  });

  it('args - key commands check the key', () => {
    expect(command(parseArgs(['get', 'visits']))).toEqual({ name: 'get', key: 'visits' });
    expect(command(parseArgs(['history', 'a.b']))).toEqual({ name: 'history', key: 'a.b' });
    expect(command(parseArgs(['before-sync', 'a']))).toEqual({ name: 'before-sync', key: 'a' });
    expect(usage(parseArgs(['get']))).toMatch(/usage: get KEY/);
    expect(usage(parseArgs(['get', 'a b']))).toMatch(/letters, digits/);
    expect(usage(parseArgs(['get', 'a..b']))).toMatch(/empty part/);
    expect(usage(parseArgs(['get', 'x'.repeat(300)]))).toMatch(/limit is 256/);
  });

  it('args - keys and variables take an optional prefix', () => {
    expect(command(parseArgs(['keys']))).toEqual({ name: 'keys', prefix: undefined });
    expect(command(parseArgs(['keys', 'user.']))).toEqual({ name: 'keys', prefix: 'user.' });
    // `variables x` is the one key x, as in the seed shell; a prefix is explicit.
    expect(command(parseArgs(['variables', 'a']))).toEqual({ name: 'variables', key: 'a' });
    expect(command(parseArgs(['variables', '--prefix', 'a']))).toEqual({ name: 'variables', prefix: 'a' });
    expect(usage(parseArgs(['variables', 'a', '--prefix', 'b']))).toMatch(/not both/);
  });

  it('args - create takes a type and optional options JSON', () => {
    expect(command(parseArgs(['create', 'x', 'pn-counter']))).toEqual({ name: 'create', key: 'x', type: 'pn-counter' });
    expect(command(parseArgs(['create', 's', 'lifecycle', '{"states":["open","closed"]}']))).toEqual({
      name: 'create',
      key: 's',
      type: 'lifecycle',
      options: { states: ['open', 'closed'] },
    });
    expect(usage(parseArgs(['create']))).toMatch(/^usage: create KEY \[TYPE\]/);
    expect(usage(parseArgs(['create', 'x', 'lifecycle', '{bad']))).toMatch(/OPTIONS_JSON is not JSON/);
  });

  it('args - update takes an op or a batch, --type and --ack', () => {
    expect(command(parseArgs(['update', 'x', '{"type":"increment","by":2}']))).toEqual({ name: 'update', key: 'x', op: { type: 'increment', by: 2 } });
    expect(command(parseArgs(['update', 's', '[{"type":"add","value":1},{"type":"add","value":2}]', '--type', 'or-set', '--ack=all']))).toEqual({
      name: 'update',
      key: 's',
      ops: [{ type: 'add', value: 1 }, { type: 'add', value: 2 }],
      type: 'or-set',
      ack: 'all',
    });
    expect(usage(parseArgs(['update', 'x', '{"type":"increment"}', '--ack', 'most']))).toMatch(/--ack is local, stream or all/);
    expect(usage(parseArgs(['update', 'x', 'increment']))).toMatch(/OP_JSON is not JSON.*for example/);
    expect(usage(parseArgs(['update', 'x', '5']))).toMatch(/op object/);
    expect(usage(parseArgs(['update', 'x', '[]']))).toMatch(/empty array/);
    expect(usage(parseArgs(['update', 'x', '{}', '--count', '3']))).toMatch(/update takes no --count/);
  });

  it('args - watch defaults to every key', () => {
    expect(command(parseArgs(['watch']))).toEqual({ name: 'watch', target: { pattern: '>' } });
    expect(command(parseArgs(['watch', 'users.*']))).toEqual({ name: 'watch', target: { pattern: 'users.*' } });
    expect(command(parseArgs(['watch', 'users.>']))).toEqual({ name: 'watch', target: { pattern: 'users.>' } });
    expect(command(parseArgs(['watch', 'visits']))).toEqual({ name: 'watch', target: { key: 'visits' } });
  });

  it('args - watch "tag*" is a key prefix (NATS wildcards match whole parts only)', () => {
    expect(command(parseArgs(['watch', 'tag*']))).toEqual({ name: 'watch', target: { prefix: 'tag' } });
    expect(command(parseArgs(['watch', 'users.al*']))).toEqual({ name: 'watch', target: { prefix: 'users.al' } });
    expect(usage(parseArgs(['watch', 'a*b']))).toMatch(/PREFIX\* \(one star at the end\)/);
    expect(usage(parseArgs(['watch', '>.a']))).toMatch(/must come last/);
  });

  it('args - populate has a count and a type with defaults and bounds', () => {
    expect(command(parseArgs(['populate', 'x']))).toEqual({ name: 'populate', key: 'x', count: 1000, type: 'pn-counter' });
    expect(command(parseArgs(['populate', 's', '--count', '2500', '--type', 'or-set']))).toEqual({ name: 'populate', key: 's', count: 2500, type: 'or-set' });
    expect(usage(parseArgs(['populate', 'x', '--count', '0']))).toMatch(/--count/);
    expect(usage(parseArgs(['populate', 'x', '--count', '1.5']))).toMatch(/--count/);
    expect(usage(parseArgs(['populate', 'x', '--count']))).toMatch(/--count needs a value/);
  });

  it('args - global options --json and --timeout', () => {
    expect(parseArgs(['get', 'x', '--json', '--timeout', '250'])).toEqual({ command: { name: 'get', key: 'x' }, options: { json: true, timeoutMs: 250 } });
    expect(parseArgs(['get', 'x'])).toEqual({ command: { name: 'get', key: 'x' }, options: { json: false, timeoutMs: undefined } });
    expect(usage(parseArgs(['get', 'x', '--timeout', 'soon']))).toMatch(/--timeout is milliseconds/);
    expect(usage(parseArgs(['get', 'x', '--verbose']))).toMatch(/unknown option --verbose/);
  });

  it('args - unknown commands and shell-only words are usage errors', () => {
    expect(usage(parseArgs(['frobnicate']))).toBe('unknown command "frobnicate"');
    expect(usage(parseArgs(['exit']))).toMatch(/shell only/);
  });
});

describe('crdtctl shell lines', () => {
  it('shell - +N KEY increments, creating a pn-counter when missing', () => {
    expect(command(parseShellLine('+5 x'))).toEqual({ name: 'update', key: 'x', op: { type: 'increment', by: 5 }, type: 'pn-counter' });
    expect(command(parseShellLine('  +  x '))).toEqual({ name: 'update', key: 'x', op: { type: 'increment', by: 1 }, type: 'pn-counter' });
  });

  it('shell - -N KEY decrements', () => {
    expect(command(parseShellLine('-3 x'))).toEqual({ name: 'update', key: 'x', op: { type: 'decrement', by: 3 }, type: 'pn-counter' });
    expect(command(parseShellLine('- x'))).toEqual({ name: 'update', key: 'x', op: { type: 'decrement', by: 1 }, type: 'pn-counter' });
  });

  it('shell - short forms need exactly one valid key', () => {
    expect(usage(parseShellLine('+5'))).toMatch(/usage: \+5 KEY/);
    expect(usage(parseShellLine('+5 x y'))).toMatch(/usage/);
    expect(usage(parseShellLine('+5 a*b'))).toMatch(/letters, digits/);
    expect(usage(parseShellLine('+99999999999999999999 x'))).toMatch(/safe integer/);
  });

  it('shell - every subcommand works without `crdtctl`', () => {
    expect(command(parseShellLine('populate x'))).toEqual({ name: 'populate', key: 'x', count: 1000, type: 'pn-counter' });
    expect(command(parseShellLine('get x'))).toEqual({ name: 'get', key: 'x' });
    expect(command(parseShellLine('history x'))).toEqual({ name: 'history', key: 'x' });
    expect(command(parseShellLine('before-sync x'))).toEqual({ name: 'before-sync', key: 'x' });
    expect(command(parseShellLine('create x pn-counter'))).toEqual({ name: 'create', key: 'x', type: 'pn-counter' });
    expect(command(parseShellLine('variables'))).toEqual({ name: 'variables' });
    expect(command(parseShellLine('5 x'))).toEqual({ name: 'update', key: 'x', op: { type: 'increment', by: 5 }, type: 'pn-counter' });
    expect(command(parseShellLine('peers'))).toEqual({ name: 'peers' });
    expect(command(parseShellLine('update s {"type": "add", "value": "a b"} --type or-set'))).toEqual({
      name: 'update',
      key: 's',
      op: { type: 'add', value: 'a b' },
      type: 'or-set',
    });
  });

  it('shell - help, exit and quit; empty lines are nothing', () => {
    expect(command(parseShellLine('help'))).toEqual({ name: 'help', topic: 'shell' });
    expect(command(parseShellLine('exit'))).toEqual({ name: 'exit' });
    expect(command(parseShellLine('quit'))).toEqual({ name: 'exit' });
    expect(parseShellLine('   ')).toBeUndefined();
    expect(usage(parseShellLine('shell'))).toMatch(/already in the shell/);
    expect(usage(parseShellLine('nope'))).toBe('unknown command "nope"');
  });

  it('shell - per-line options apply to that line', () => {
    expect(parseShellLine('get x --json')).toEqual({ command: { name: 'get', key: 'x' }, options: { json: true, timeoutMs: undefined } });
  });

  it('shell - strong writes and linearizable reads take the same flags as on the command line', () => {
    expect(command(parseShellLine('put cfg.mode green --consistency strong --expect 4'))).toEqual({
      name: 'update',
      key: 'cfg.mode',
      op: { type: 'set', value: 'green' },
      type: 'lww-register',
      consistency: 'strong',
      expect: 4,
    });
    expect(parseShellLine('get cfg.mode --consistency linearizable')).toEqual({ command: { name: 'get', key: 'cfg.mode' }, options: { json: false, timeoutMs: undefined, consistency: 'linearizable' } });
    expect(usage(parseShellLine('put cfg.mode green --expect 4'))).toBe('--expect N (a compare-and-set) needs --consistency strong');
  });
});
