/**
 * Random client commands for `populate`, per CRDT type. Pure: randomness comes in as a
 * function returning [0, 1), so a test can pin it. Values come from a small pool, so set
 * types see repeats and removes that hit.
 */

/** Types `populate` knows how to fill. */
export const POPULATE_TYPES = ['pn-counter', 'g-counter', 'or-set', 'g-set', '2p-set', 'lww-set', 'lww-register', 'mv-register', 'ew-flag', 'dw-flag', 'text', 'list'] as const;

/** One of `POPULATE_TYPES`. */
export type PopulateType = (typeof POPULATE_TYPES)[number];

/** True when `populate` can fill keys of `type`. */
export function isPopulateType(type: string): type is PopulateType {
  return (POPULATE_TYPES as readonly string[]).includes(type);
}

/** Distinct set elements populate draws from. */
const VALUE_POOL_SIZE = 100;
/** Largest step of a random counter op. */
const COUNTER_STEP_MAX = 10;

/**
 * Builds `count` random commands for a key of `type`. Text and list get inserts only, at
 * random positions of a sequence `length` long before the batch (each insert lengthens it),
 * so every index is in range whatever other writers add meanwhile.
 */
export function randomOps(type: PopulateType, count: number, random: () => number, length = 0): unknown[] {
  const int = (n: number) => Math.floor(random() * n);
  const element = () => `v${int(VALUE_POOL_SIZE)}`;
  const ops: unknown[] = [];
  for (let i = 0; i < count; i++) {
    switch (type) {
      case 'text':
        ops.push({ type: 'insert', index: int(length + i + 1), text: String.fromCharCode(97 + int(26)) });
        break;
      case 'list':
        ops.push({ type: 'insert', index: int(length + i + 1), value: element() });
        break;
      case 'pn-counter':
        ops.push({ type: random() < 0.7 ? 'increment' : 'decrement', by: 1 + int(COUNTER_STEP_MAX) });
        break;
      case 'g-counter':
        ops.push({ type: 'increment', by: 1 + int(COUNTER_STEP_MAX) });
        break;
      case 'or-set':
      case 'lww-set':
        ops.push({ type: random() < 0.75 ? 'add' : 'remove', value: element() });
        break;
      case 'g-set':
      case '2p-set':
        // A 2p-set element removed once can never come back; adds keep the set growing.
        ops.push({ type: 'add', value: element() });
        break;
      case 'lww-register':
      case 'mv-register':
        ops.push({ type: 'set', value: int(1_000_000) });
        break;
      case 'ew-flag':
      case 'dw-flag':
        ops.push({ type: random() < 0.5 ? 'enable' : 'disable' });
        break;
    }
  }
  return ops;
}
