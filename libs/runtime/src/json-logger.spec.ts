import { frameworkJsonLogger, jsonLogger, readLogLevel } from './json-logger';

describe('json logger', () => {
  it('logger - LOG_LEVEL: info by default, warn and error filter, anything else is refused naming the variable', () => {
    expect(readLogLevel({})).toBe('info');
    expect(readLogLevel({ LOG_LEVEL: 'WARN' })).toBe('warn');
    expect(() => readLogLevel({ LOG_LEVEL: 'debug' })).toThrow('LOG_LEVEL must be one of info, warn, error, got "debug"');
    const lines: string[] = [];
    const log = jsonLogger({ app: 'x' }, { level: 'warn', write: (l) => lines.push(l) });
    log.info('dropped');
    log.warn('kept', { n: 1 });
    log.with({ r: 'r1' }).error('also kept');
    expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toEqual([
      expect.objectContaining({ level: 'warn', msg: 'kept', app: 'x', n: 1 }),
      expect.objectContaining({ level: 'error', msg: 'also kept', app: 'x', r: 'r1' }),
    ]);
    expect(lines.every((l) => l.endsWith('\n') && !l.slice(0, -1).includes('\n'))).toBe(true);
  });

  it('logger - the framework logger writes its warnings and errors as JSON lines, with context and stack', () => {
    const lines: string[] = [];
    const nest = frameworkJsonLogger({ app: 'x' }, { write: (l) => lines.push(l) });
    nest.log('Starting Nest application...', 'NestFactory');
    nest.warn('careful', 'Ctx');
    nest.error('boom', 'Error: boom\n    at f (x.js:1:1)', 'Injector');
    expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toEqual([
      expect.objectContaining({ level: 'warn', msg: 'careful', context: 'Ctx' }),
      expect.objectContaining({ level: 'error', msg: 'boom', context: 'Injector', stack: 'Error: boom\n    at f (x.js:1:1)' }),
    ]);
  });
});
