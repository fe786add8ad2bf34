import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { subjectsFor } from '#protocol';
import { passwordVariable } from '#runtime';
import { connectClient, REPO_ROOT, startNatsServer, type NatsServerHandle } from '#testing';

/** The compose stack's committed config runs on a real nats-server, passwords from its environment. */

const passwords: Record<string, string> = Object.fromEntries(
  ['client', 'admin', 'coordinator', 'replica-r1', 'replica-r2', 'replica-r3'].map((u) => [passwordVariable(u), `test-password-of-${u}`]),
);

describe('compose nats config', () => {
  let server: NatsServerHandle;

  beforeAll(async () => {
    server = await startNatsServer({ configFile: join(REPO_ROOT, 'deploy', 'nats', 'nats-server.conf'), env: { ...process.env, ...passwords } });
  }, 30_000);
  afterAll(async () => server?.dispose(), 30_000);

  it('compose - users log in with the passwords from the environment, a wrong one is refused, roles apply', async () => {
    const r1 = await connectClient(server.url, { user: 'replica-r1', pass: passwords.CRDT_REPLICA_R1_PASSWORD, inboxPrefix: '_INBOX.replica-r1', maxReconnectAttempts: 0 });
    const errors: string[] = [];
    void (async () => {
      for await (const st of r1.status()) if (st.type === 'error') errors.push(String((st as { error?: Error }).error?.message));
    })();
    r1.publish(subjectsFor('crdt').ops('r2'), '{}');
    await r1.flush();
    await new Promise((r) => setTimeout(r, 300));
    expect(errors.join('\n')).toContain('Permissions Violation for Publish to "crdt.ops.r2"');
    await r1.close();
    const wrong = await connectClient(server.url, { user: 'client', pass: 'not-the-password', maxReconnectAttempts: 0 }).then(
      async (c) => {
        await c.close();
        return 'connected!';
      },
      (e: Error) => e.message,
    );
    expect(wrong).toMatch(/Authorization Violation/);
  }, 30_000);
});
