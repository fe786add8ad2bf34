/** The replication core: pure logic behind ports, shared by production and the simulator. */
export * from './ports';
export * from './replicated-event';
export * from './causal-token';
export * from './key-space';
export * from './replica-config';
export * from './replica-core';
export * from './replica-observer';
export * from './snapshot-codec';
export * from './round-host';
export * from './round-participant';
export * from './stream/op-stream-error';
export * from './stream/stream-follower';
