/** Node-side implementations of the core's clock and log ports, shared by the apps. */
export * from './system-clock';
export * from './json-logger';
export * from './nats-liveness';
export * from './security';
