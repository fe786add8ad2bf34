/**
 * The signal that makes a profiled replica write its CPU profile (see cpu-profile-preload).
 * SIGWINCH: harmless when unhandled and outside Nest's shutdown signals. SIGUSR2 is one of
 * those: Nest would close the app's subscriptions and leave the process running.
 */
export const PROFILE_SIGNAL: NodeJS.Signals = 'SIGWINCH';
