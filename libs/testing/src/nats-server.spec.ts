import { existsSync, writeFileSync } from 'node:fs';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { pollUntil, portAccepts } from './free-port';
import { eventually } from './eventually';
import { connectClient, requestJson, waitForJetStream } from './nats-client';
import { findNatsServer, NatsServerMissingError, NatsServerStartError, startNatsCluster, startNatsServer, type NatsServerHandle } from './nats-server';
import { makeTempDir } from './temp-dir';

async function storedData(nc: NatsConnection, stream: string, seq: number): Promise<string | undefined> {
  const jsm = await jetstreamManager(nc);
  const m = await jsm.streams.getMessage(stream, { seq });
  return m?.string();
}

describe('nats-server launcher', () => {
  let server: NatsServerHandle | undefined;
  let nc: NatsConnection | undefined;

  afterEach(async () => {
    await nc?.close().catch(() => undefined);
    nc = undefined;
    await server?.dispose();
    server = undefined;
  });

  it('nats-server - starts on a free port and answers requests', async () => {
    server = await startNatsServer();
    expect(server.port).toBeGreaterThan(0);
    expect(server.url).toBe(`nats://127.0.0.1:${server.port}`);
    expect(server.running).toBe(true);
    nc = await connectClient(server.url);
    const sub = nc.subscribe('echo');
    void (async () => {
      for await (const m of sub) m.respond(JSON.stringify({ ok: true, got: m.json() }));
    })();
    await expect(requestJson(nc, 'echo', { n: 1 })).resolves.toEqual({ ok: true, got: { n: 1 } });
  });

  it('nats-server - JetStream data survives a graceful restart on the same port and store', async () => {
    server = await startNatsServer();
    const { port, storeDir } = server;
    const firstPid = server.pid;
    nc = await connectClient(server.url);
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'T', subjects: ['t.>'] });
    const ack = await jetstream(nc).publish('t.a', 'before restart');

    await server.restart();
    expect(server.port).toBe(port);
    expect(server.storeDir).toBe(storeDir);
    expect(server.pid).not.toBe(firstPid);

    // The same connection reconnects to the same URL and finds the stream and its message.
    await expect(waitForJetStream(nc, 10_000)).resolves.toBe(true);
    await expect(storedData(nc, 'T', ack.seq)).resolves.toBe('before restart');
  });

  it('nats-server - a killed server restarts with its JetStream data and clients reconnect', async () => {
    server = await startNatsServer();
    nc = await connectClient(server.url);
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'K', subjects: ['k.>'] });
    const ack = await jetstream(nc).publish('k.a', 'before crash');

    await server.kill();
    expect(server.running).toBe(false);
    await expect(portAccepts(server.port)).resolves.toBe(false);

    await server.restart();
    await expect(waitForJetStream(nc, 10_000)).resolves.toBe(true);
    await expect(storedData(nc, 'K', ack.seq)).resolves.toBe('before crash');
    const after = await jetstream(nc).publish('k.b', 'after crash');
    expect(after.seq).toBe(ack.seq + 1);
  });

  it('nats-server - keeps a given store dir and leaves it in place on dispose', async () => {
    const dir = makeTempDir('given-store');
    try {
      server = await startNatsServer({ storeDir: dir.path });
      expect(server.storeDir).toBe(dir.path);
      await server.dispose();
      server = undefined;
      expect(existsSync(dir.path)).toBe(true);
    } finally {
      dir.remove();
    }
  });

  it('nats-server - pause holds the server and resume lets it answer again', async () => {
    server = await startNatsServer();
    nc = await connectClient(server.url);
    const sub = nc.subscribe('ping');
    void (async () => {
      for await (const m of sub) m.respond('pong');
    })();
    server.pause();
    await expect(nc.request('ping', '', { timeout: 300 })).rejects.toThrow();
    server.resume();
    await expect(pollUntil(async () => (await nc!.request('ping', '', { timeout: 500 }).then((m) => m.string(), () => '')) === 'pong', 5_000)).resolves.toBe(true);
  });

  it('nats-server - a missing binary fails with install instructions', async () => {
    const env = { ...process.env, NATS_SERVER_BIN: '/nonexistent/nats-server' };
    expect(() => findNatsServer(env)).toThrow(NatsServerMissingError);
    await expect(startNatsServer({ env })).rejects.toThrow(/NATS_SERVER_BIN=\/nonexistent\/nats-server is not an executable/);
    // Without the Debian binary and nothing on PATH the message says how to install it.
    expect(() => findNatsServer({ PATH: '' }, '/nonexistent/sbin/nats-server')).toThrow(/apt-get install nats-server.*NATS_SERVER_BIN/);
    // One on PATH is found when the Debian one is absent.
    const dir = makeTempDir('path-bin');
    try {
      writeFileSync(`${dir.path}/nats-server`, '#!/bin/sh\n', { mode: 0o755 });
      expect(findNatsServer({ PATH: `/nonexistent:${dir.path}` }, '/nonexistent/sbin/nats-server')).toBe(`${dir.path}/nats-server`);
    } finally {
      dir.remove();
    }
  });

  it('nats-server - a binary that exits at once fails the start with its log', async () => {
    const env = { ...process.env, NATS_SERVER_BIN: '/bin/false' };
    await expect(startNatsServer({ env, startTimeoutMs: 3_000 })).rejects.toThrow(NatsServerStartError);
  });
});

describe('nats-server cluster launcher', () => {
  it('nats-cluster - three nodes form a JetStream cluster that survives one node crashing', async () => {
    const cluster = await startNatsCluster(3);
    let nc: NatsConnection | undefined;
    try {
      expect(cluster.urls).toHaveLength(3);
      expect(new Set(cluster.nodes.map((n) => n.port)).size).toBe(3);
      nc = await connectClient(cluster.url);
      await expect(waitForJetStream(nc, 20_000)).resolves.toBe(true);
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: 'R', subjects: ['r.>'], num_replicas: 3 });
      const js = jetstream(nc);
      const first = await js.publish('r.a', 'one');

      // Two of three nodes keep the quorum; the killed node rejoins on restart.
      await cluster.nodes[2].kill();
      const second = await eventually(() => js.publish('r.b', 'two', { timeout: 2_000 }), 20_000);
      expect(second.seq).toBe(first.seq + 1);
      await cluster.nodes[2].restart();
      expect(cluster.nodes[2].running).toBe(true);
      // The client may be reconnecting and the stream re-electing: read once both settle.
      await expect(eventually(() => storedData(nc!, 'R', first.seq), 20_000)).resolves.toBe('one');
    } finally {
      await nc?.close().catch(() => undefined);
      await cluster.dispose();
    }
  }, 120_000);
});
