/**
 * The bare request/reply baseline's responder, run as its own process (as a replica is):
 * `nc.subscribe` + `msg.respond` echoing the request body, nothing else. Reads NATS_URL and
 * ECHO_SUBJECT; logs {"msg":"ready"} once the subscription is registered at the server.
 */
import { connect } from '@nats-io/transport-node';

async function main(): Promise<void> {
  const url = process.env.NATS_URL;
  const subject = process.env.ECHO_SUBJECT;
  if (!url || !subject) throw new Error('NATS_URL and ECHO_SUBJECT are required');
  const nc = await connect({ servers: url, name: 'bench-echo' });
  nc.subscribe(subject, {
    callback: (err, msg) => {
      if (!err) msg.respond(msg.data);
    },
  });
  // The subscription reaches the server before the flush's PONG comes back.
  await nc.flush();
  process.stdout.write(JSON.stringify({ msg: 'ready', subject }) + '\n');
  const stop = () => void nc.close().finally(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((e) => {
  process.stderr.write(`echo responder failed: ${String((e as Error)?.stack ?? e)}\n`);
  process.exit(1);
});
