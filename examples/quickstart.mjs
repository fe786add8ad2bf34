// A first program against crdt-nats with the typed client (ES module).
// Run the cluster (`npm start`), then: NATS_URL=nats://127.0.0.1:<port> node examples/quickstart.mjs
// `crdt-nats/client` resolves to this repository's build (run `npm run build` first):
// inside the repository Node resolves the package's own name through package.json "exports".
import { connect, isCrdtError } from 'crdt-nats/client';

const store = await connect({
  servers: process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
  user: process.env.NATS_USER,
  pass: process.env.NATS_PASS,
});
try {
  console.log(`replicas heard: ${store.replicas().join(', ') || '(none yet)'}`);

  // Typed handles: each write creates the key with its type when it is missing.
  await store.counter('example.visits').increment(5);
  await store.set('example.tags').add('crdt', 'nats');
  const hello = await store.text('example.doc').insert(0, 'hello');
  console.log(`visits = ${await store.counter('example.visits').value()}`);
  console.log(`tags = ${JSON.stringify(await store.set('example.tags').value())}`);

  // A session: its requests go round-robin over the replicas, and every read sees the
  // session's own writes (and everything earlier reads saw), whichever replica answers.
  const session = store.session();
  // The session starts after the 'hello' above (written outside it): without this, its first
  // insert at 0 could reach a replica that has not read 'hello' yet, and the two inserts
  // would be concurrent, in an order the check below does not expect.
  session.observe(hello.token);
  for (let i = 1; i <= 3; i++) {
    const w = await session.text('example.doc').insert(0, `${i} `);
    const r = await session.text('example.doc').get();
    console.log(`write on ${w.replica} (event ${w.replica}#${w.seq}), read: ${JSON.stringify(r.value)}`);
    if (!r.value.startsWith(`${i} `)) throw new Error('read-your-writes broken');
  }
  console.log('read-your-writes held on every replica');

  // Errors are typed: a stable code, and whether retrying can help.
  try {
    await store.text('example.visits').insert(0, 'x');
  } catch (e) {
    if (!isCrdtError(e)) throw e;
    console.log(`refused: ${e.code} (retryable: ${e.retryable})`);
  }
} finally {
  await store.close();
}
