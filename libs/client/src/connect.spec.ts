import { startNatsServer, type NatsServerHandle } from '#testing';
import { connect, wrap } from './store';
import { isCrdtError } from './errors';

/** Connecting with credentials, and wrapping a connection, against a real nats-server that wants a user. */
describe('client connect', () => {
  let server: NatsServerHandle;
  beforeAll(async () => {
    server = await startNatsServer({ jetstream: false, args: ['--user', 'app', '--pass', 's3cret'] });
  });
  afterAll(async () => server?.dispose());

  it('connect - user and pass reach a server that requires them; wrong ones are refused', async () => {
    const store = await connect({ servers: server.url, user: 'app', pass: 's3cret', discoveryMs: 50 });
    try {
      // No replica runs here: the request reaches NATS and nobody answers.
      const e = await store.get('x', { timeoutMs: 100 }).catch((err: unknown) => err);
      expect(isCrdtError(e, 'NO_RESPONDERS')).toBe(true);
    } finally {
      await store.close();
    }
    await expect(connect({ servers: server.url, user: 'app', pass: 'wrong', discoveryMs: 50 })).rejects.toThrow(/auth/i);
  });

  it('wrap - uses an existing connection and leaves it open on close', async () => {
    const first = await connect({ servers: server.url, user: 'app', pass: 's3cret', discoveryMs: 50 });
    const wrapped = await wrap(first.nc, { discoveryMs: 50 });
    await wrapped.close();
    expect(first.nc.isClosed()).toBe(false);
    await first.close();
    expect(first.nc.isClosed()).toBe(true);
  });
});
