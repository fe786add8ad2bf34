/**
 * Documented limits of the client protocol (docs/protocol.md repeats them). Everything a
 * client sends is bounded, so a hostile or buggy client cannot grow a replica's memory
 * or its op log without end in one request.
 */
export const PROTOCOL_LIMITS = {
  /** Largest request body, bytes. */
  requestBytesMax: 256 * 1024,
  /** Longest key, UTF-16 code units. */
  keyLengthMax: 256,
  /** Most ops in one `update` batch. */
  batchOpsMax: 1000,
  /** Deepest nesting of JSON in a request. */
  jsonDepthMax: 32,
  /** Most keys one `keys` reply lists. */
  keysLimitMax: 10_000,
  /** Longest wait a request may ask for (`after`, `consistency`, `ack`), milliseconds. */
  waitMsMax: 30_000,
} as const;

/** Keys are printable: letters, digits and `_-.:/@` (no spaces, no NATS wildcards). */
export const KEY_PATTERN = /^[A-Za-z0-9_\-.:/@]+$/;
