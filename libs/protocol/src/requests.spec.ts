import { PROTOCOL_LIMITS } from './limits';
import { checkKey, parseBody, parseGet, parseKeys, parseUpdate } from './requests';

const bytes = (s: string) => new Uint8Array(Buffer.from(s));

describe('client requests', () => {
  it('client requests - a body is a JSON object within the size and depth limits', () => {
    expect(parseBody(bytes('{"key":"a"}'))).toEqual({ ok: true, body: { key: 'a' } });
    expect(parseBody(new Uint8Array(0))).toEqual({ ok: true, body: {} });
    expect(parseBody(bytes('[1]'))).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect(parseBody(bytes('{'))).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect(parseBody(new Uint8Array(PROTOCOL_LIMITS.requestBytesMax + 1))).toMatchObject({ ok: false, error: { code: 'TOO_LARGE' } });
    const deep = `{"a":${'['.repeat(PROTOCOL_LIMITS.jsonDepthMax + 1)}${']'.repeat(PROTOCOL_LIMITS.jsonDepthMax + 1)}}`;
    expect(parseBody(bytes(deep))).toMatchObject({ ok: false, error: { code: 'TOO_LARGE' } });
  });

  it('client requests - keys are printable with no empty part between dots', () => {
    expect(checkKey('c.visits')).toBeUndefined();
    expect(checkKey('a..b')).toMatchObject({ error: { code: 'BAD_REQUEST' } });
    expect(checkKey('a b')).toMatchObject({ error: { code: 'BAD_REQUEST' } });
    expect(checkKey('x'.repeat(PROTOCOL_LIMITS.keyLengthMax + 1))).toMatchObject({ error: { code: 'TOO_LARGE' } });
  });

  it('client requests - an update takes op or ops, not both, within the batch limit', () => {
    expect(parseUpdate({ key: 'k', op: { type: 'increment' } })).toMatchObject({ ok: true, request: { ops: [{ type: 'increment' }], ack: 'local', timeoutMs: 5_000 } });
    expect(parseUpdate({ key: 'k', op: { type: 'a' }, ops: [{ type: 'b' }] })).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect(parseUpdate({ key: 'k', ops: [] })).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect(parseUpdate({ key: 'k', ops: Array.from({ length: PROTOCOL_LIMITS.batchOpsMax + 1 }, () => ({ type: 'increment' })) })).toMatchObject({ ok: false, error: { code: 'TOO_LARGE' } });
    expect(parseUpdate({ key: 'k', op: 3 })).toMatchObject({ ok: false, error: { code: 'INVALID_OP' } });
    expect(parseUpdate({ key: 'k', op: { type: 'x' }, ack: 'quorum' })).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
  });

  it('client requests - waits and limits are bounded', () => {
    expect(parseGet({ key: 'k', timeoutMs: PROTOCOL_LIMITS.waitMsMax + 1 })).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect(parseGet({ key: 'k', consistency: 'latest' })).toMatchObject({ ok: true, request: { consistency: 'latest' } });
    expect(parseKeys({})).toEqual({ ok: true, request: { prefix: '', limit: 1000 } });
    expect(parseKeys({ limit: 0 })).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
  });
});
