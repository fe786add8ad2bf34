import { formatChildLine, httpUrlOfLine, isReadyLine, jsonChildLine, prettyLine } from './log-format';

describe('cluster launcher log lines', () => {
  it('launcher - JSON log lines read as LEVEL msg key=value', () => {
    expect(prettyLine('{"level":"info","msg":"ready","t":"2025-01-01T00:00:00Z","replica":"r1","streamSeq":0,"note":"a b"}')).toBe('INFO  ready replica=r1 streamSeq=0 note="a b"');
    expect(prettyLine('{"level":"warn","msg":"x","members":["r1","r2"]}')).toBe('WARN  x members=["r1","r2"]');
  });

  it('launcher - nats-server lines lose their pid and date', () => {
    expect(prettyLine('[26501] 2026/11/21 12:11:51.385155 [INF] Server is ready')).toBe('INF Server is ready');
  });

  it('launcher - other lines pass through', () => {
    expect(prettyLine('plain text')).toBe('plain text');
    expect(prettyLine('{not json')).toBe('{not json');
  });

  it('launcher - lines carry the child name, coloured on a terminal', () => {
    expect(formatChildLine('r1', '{"level":"info","msg":"ready"}', { nameWidth: 4 })).toBe('r1   | INFO  ready');
    expect(formatChildLine('r1', 'x', { nameWidth: 2, color: 36 })).toBe('\x1b[36mr1\x1b[0m | x');
  });

  it('launcher - LOG_FORMAT=json: app JSON lines pass unchanged, every other line becomes one JSON object', () => {
    const t = '2026-01-01T00:00:00.000Z';
    expect(jsonChildLine('r1', '{"level":"info","msg":"ready"}', t)).toBe('{"level":"info","msg":"ready"}');
    expect(JSON.parse(jsonChildLine('nats', '[26501] 2026/11/21 12:11:51.385155 [WRN] disk low', t))).toEqual({ t, level: 'warn', msg: 'disk low', app: 'nats' });
    expect(JSON.parse(jsonChildLine('r1', '    at main (x.js:1:1)', t))).toEqual({ t, level: 'info', msg: '    at main (x.js:1:1)', app: 'r1' });
    expect(JSON.parse(jsonChildLine('r1', '{not json', t))).toMatchObject({ msg: '{not json' });
    expect(JSON.parse(jsonChildLine('r1', '[1,2]', t))).toMatchObject({ msg: '[1,2]' });
  });

  it('launcher - the ready line is the JSON line whose msg is ready', () => {
    expect(isReadyLine('{"level":"info","msg":"ready","replica":"r1"}')).toBe(true);
    expect(isReadyLine('{"level":"info","msg":"not ready"}')).toBe(false);
    expect(isReadyLine('ready')).toBe(false);
  });

  it('launcher - the http URL comes from the app\'s http listening line only', () => {
    expect(httpUrlOfLine('{"level":"info","msg":"http listening","http":"http://127.0.0.1:4100"}')).toBe('http://127.0.0.1:4100');
    expect(httpUrlOfLine('{"level":"info","msg":"ready","http":"http://127.0.0.1:4100"}')).toBeUndefined();
    expect(httpUrlOfLine('{"level":"info","msg":"http listening","http":4100}')).toBeUndefined();
    expect(httpUrlOfLine('http listening')).toBeUndefined();
  });
});
