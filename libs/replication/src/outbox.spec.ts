import type { ReplicatedEvent } from '#protocol/replicated-event';
import { memoryPorts, settle } from '../testing/memory-ports';
import { Outbox } from './outbox';

/** An own counter event of r1. */
function own(seq: number): ReplicatedEvent {
  return { v: 1, origin: 'r1', seq, time: seq, deps: {}, key: 'c', type: 'pn-counter', options: null, ops: [{ type: 'increment', by: 1, replica: 'r1' }] };
}

/** An outbox over memory ports whose publishes wait until the spec lets each one through. */
function heldOutbox() {
  const ports = memoryPorts();
  const held: Array<() => void> = [];
  const publish = ports.stream.publish.bind(ports.stream);
  ports.stream.publish = (events, republish) => new Promise<number>((resolve) => held.push(() => void publish(events, republish).then(resolve)));
  const limits = { memoryEventsMax: 100, batchEventsMax: 10, batchBytesMax: 100_000, retryMsMin: 10, retryMsMax: 100 };
  const outbox = new Outbox('r1', ports.store, ports.stream, ports.clock, ports.log, limits, 0, 0, () => undefined);
  const release = async () => {
    held.shift()?.();
    await settle();
    // A publish that follows is deferred to after the current burst.
    await ports.clock.advance(0);
  };
  return { outbox, ports, release, published: () => ports.stream.messages.map((m) => m.events.map((e) => e.seq)) };
}

describe('outbox', () => {
  it('outbox - an own event seen in the stream while an earlier one is still being published counts once the earlier one is acknowledged (seed 91)', async () => {
    const { outbox, ports, release, published } = heldOutbox();
    outbox.push(own(1));
    // The outbox publishes after the current burst (deferred): let it start.
    await ports.clock.advance(0);
    // A strong write (seq 2) is stored and read back before the stream acknowledged seq 1.
    outbox.noteInStream(2);
    expect(outbox.depth).toBe(2);
    await release();
    expect(outbox.publishedThrough).toBe(2);
    expect(outbox.depth).toBe(0);
    // Seq 2 is not published again through the outbox.
    expect(published()).toEqual([[1]]);
  });

  it('outbox - a rewind forgets what was seen in the stream past it and publishes that again from the store', async () => {
    const { outbox, ports, release, published } = heldOutbox();
    ports.store.events.push(own(1), own(2));
    outbox.push(own(1));
    await ports.clock.advance(0);
    outbox.noteInStream(2);
    // The stream lost everything: seq 2 was in the lost stream, so it goes out again too
    // (seq 1, acknowledged after the rewind, is taken as published by the new stream).
    outbox.rewind(0);
    await release();
    await release();
    expect(published()).toEqual([[1], [2]]);
    expect(outbox.depth).toBe(0);
  });
});
