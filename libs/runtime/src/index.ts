/** Node-side implementations of the core's clock and log ports, and process plumbing shared by the apps. */
export * from './system-clock';
export * from './json-logger';
export * from './nats-liveness';
export * from './security';
export * from './data-dir-lock';
export * from './nats-connect';
export * from './cluster-file';
export * from './http';
