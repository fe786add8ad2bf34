// The same client from CommonJS: require('crdt-nats/client') (build first: `npm run build`).
// NATS_URL=nats://127.0.0.1:<port> node examples/quickstart.cjs
const { connect } = require('crdt-nats/client');

async function main() {
  const store = await connect({ servers: process.env.NATS_URL ?? 'nats://127.0.0.1:4222', user: process.env.NATS_USER, pass: process.env.NATS_PASS });
  try {
    const session = store.session();
    await session.counter('example.cjs').increment(2);
    console.log(`visits = ${await session.counter('example.cjs').value()}`);
    // Watch every key under `example.` (a prefix that ends at a dot: NATS filters it).
    const changes = store.watch({ prefix: 'example.' });
    await store.nc.flush();
    await session.counter('example.cjs').increment();
    const { value } = await changes.next();
    console.log(`change seen: ${value.key} by ${value.origin}#${value.seq}`);
    await changes.return();
    console.log(`read-your-writes held: ${await session.counter('example.cjs').value()}`);
  } finally {
    await store.close();
  }
}
main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
