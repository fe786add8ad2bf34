import { healthReply, runHealthChecks } from './health';

describe('health replies', () => {
  it('health - Terminus shape: ok only when every check is up; info and error split the details', () => {
    const ok = healthReply({ a: { status: 'up' }, b: { status: 'up', n: 1 } });
    expect(ok).toEqual({ status: 'ok', info: { a: { status: 'up' }, b: { status: 'up', n: 1 } }, error: {}, details: { a: { status: 'up' }, b: { status: 'up', n: 1 } } });
    const bad = healthReply({ a: { status: 'up' }, b: { status: 'down', reason: 'x' } });
    expect(bad.status).toBe('error');
    expect(bad.error).toEqual({ b: { status: 'down', reason: 'x' } });
    expect(bad.info).toEqual({ a: { status: 'up' } });
  });

  it('health - a throwing check is down with its message; later checks are skipped naming it', async () => {
    let ranLast = false;
    const r = await runHealthChecks(
      [
        ['first', () => ({ status: 'up' })],
        ['nats', () => Promise.reject(new Error('connection disconnected'))],
        ['stream', () => ((ranLast = true), { status: 'up' })],
      ],
      1_000,
    );
    expect(r.status).toBe('error');
    expect(r.details.nats).toEqual({ status: 'down', reason: 'connection disconnected' });
    expect(r.details.stream).toEqual({ status: 'down', skipped: 'nats is down' });
    expect(ranLast).toBe(false);
  });

  it('health - a check that never answers is down after its bound', async () => {
    const r = await runHealthChecks([['slow', () => new Promise(() => undefined)]], 20);
    expect(r.details.slow).toEqual({ status: 'down', reason: 'no answer within 20 ms' });
  });
});
