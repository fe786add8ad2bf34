/** The client protocol, version 1: subjects, requests, replies, error codes and limits. */
export * from './commands';
export * from './error-codes';
export * from './op-origin';
export * from './limits';
export * from './subjects';
export * from './requests';
export * from './strong';
export const PROTOCOL_VERSION = 1;
export * from './replicated-event';
export * from './heartbeat';
export * from './round-messages';
export * from './commands';
