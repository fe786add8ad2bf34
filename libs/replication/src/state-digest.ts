import { hash } from 'node:crypto';

/** Bytes of one SHA-256 digest, and of the running sum. */
const DIGEST_BYTES = 32;

/**
 * The digest of a whole key space, kept up to date one key at a time.
 *
 * Each key contributes a term `SHA-256(JSON(key) ‖ canonical encoding)`, read as a 256-bit
 * big-endian integer; the state's digest is the sum of the terms mod 2^256 (the additive
 * "AdHash" of Bellare and Micciancio, "A New Paradigm for Collision-free Hashing", 1997).
 * A key that changes subtracts its old term and adds its new one, so a round pays for the
 * keys that changed since the last one, not for all of them. The sum does not depend on
 * the order terms were added in, so replicas with equal states agree whatever order they
 * applied, loaded or refreshed their keys in.
 *
 * Why a sum and not XOR: under XOR, equal terms cancel (a key counted twice by a bug
 * vanishes from the digest), and any 257 terms are linearly dependent over GF(2), so sets
 * that XOR to the same value are easy to construct. A sum mod 2^256 has neither weakness;
 * two different states collide by accident with probability about 2^-256. It is not meant
 * to resist a party that chooses whole key spaces to collide (Wagner's generalised
 * birthday attack applies to AdHash): replicas compare digests to catch divergence from
 * bugs, and clients choose ops, not the states that diverge. A lattice hash (LtHash) is the
 * upgrade if that ever changes.
 *
 * The terms live in one growing byte table, 32 bytes per key at a slot the caller keeps,
 * rather than an object per key.
 */
export class StateDigest {
  /** Bytes of one key's term. */
  static readonly TERM_BYTES = DIGEST_BYTES;

  private table = new Uint8Array(DIGEST_BYTES * 1024);
  private slots = 0;
  private readonly freeSlots: number[] = [];
  private readonly sum = new Uint8Array(DIGEST_BYTES);

  /** The term of one key with its canonical encoding (JSON text). */
  static term(key: string, canonicalEncoding: string): Buffer {
    // The one-shot hash: a Hash object per key costs twice as much for inputs this small.
    return hash('sha256', JSON.stringify(key) + canonicalEncoding, 'buffer');
  }

  /** A new slot whose term is zero (adds nothing until `set`). */
  allocate(): number {
    const reused = this.freeSlots.pop();
    if (reused !== undefined) return reused;
    const slot = this.slots++;
    if ((slot + 1) * DIGEST_BYTES > this.table.length) {
      const grown = new Uint8Array(this.table.length * 2);
      grown.set(this.table);
      this.table = grown;
    }
    return slot;
  }

  /** Replaces the term at `slot` (zero when never set) with `term`. */
  set(slot: number, term: Uint8Array): void {
    const at = slot * DIGEST_BYTES;
    subtract(this.sum, this.table, at);
    this.table.set(term.subarray(0, DIGEST_BYTES), at);
    add(this.sum, this.table, at);
  }

  /** Removes the term at `slot` from the sum and frees the slot. */
  release(slot: number): void {
    const at = slot * DIGEST_BYTES;
    subtract(this.sum, this.table, at);
    this.table.fill(0, at, at + DIGEST_BYTES);
    this.freeSlots.push(slot);
  }

  /** Whether the term at `slot` was set (a zero term is taken as unset: SHA-256 gives one with probability 2^-256). */
  isSet(slot: number): boolean {
    const at = slot * DIGEST_BYTES;
    for (let i = at; i < at + DIGEST_BYTES; i++) if (this.table[i] !== 0) return true;
    return false;
  }

  /** The term at `slot`, hex. */
  termHex(slot: number): string {
    return Buffer.from(this.table.buffer, this.table.byteOffset + slot * DIGEST_BYTES, DIGEST_BYTES).toString('hex');
  }

  /** The sum of every term, hex (64 characters). */
  hex(): string {
    return Buffer.from(this.sum).toString('hex');
  }

  /** Forgets every term. */
  clear(): void {
    this.table = new Uint8Array(DIGEST_BYTES * 1024);
    this.slots = 0;
    this.freeSlots.length = 0;
    this.sum.fill(0);
  }
}

/** `sum += table[at..at+32]` mod 2^256, big-endian. */
function add(sum: Uint8Array, table: Uint8Array, at: number): void {
  let carry = 0;
  for (let i = DIGEST_BYTES - 1; i >= 0; i--) {
    const s = sum[i] + table[at + i] + carry;
    sum[i] = s & 0xff;
    carry = s >> 8;
  }
}

/** `sum -= table[at..at+32]` mod 2^256, big-endian. */
function subtract(sum: Uint8Array, table: Uint8Array, at: number): void {
  let borrow = 0;
  for (let i = DIGEST_BYTES - 1; i >= 0; i--) {
    const s = sum[i] - table[at + i] - borrow;
    sum[i] = s & 0xff;
    borrow = s < 0 ? 1 : 0;
  }
}

/** The digest of a set of (key, canonical encoding) pairs computed from scratch (tests, checks). */
export function digestFromScratch(entries: Iterable<readonly [string, string]>): string {
  const d = new StateDigest();
  for (const [key, text] of entries) d.set(d.allocate(), StateDigest.term(key, text));
  return d.hex();
}
