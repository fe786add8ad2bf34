/** The coordinator's logic: membership, leader lease, round triggers and the compaction round, pure behind ports. */
export * from './ports';
export * from './error-codes';
export * from './admin-commands';
export * from './round-result';
export * from './round-messages';
export * from './membership';
export * from './round-runner';
export * from './round-scheduler';
export * from './round-history';
export * from './round-need';
export * from './leader-lease';
export * from './coordinator-config';
export * from './coordinator';
