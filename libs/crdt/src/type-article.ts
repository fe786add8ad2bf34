import { TYPE_NAMES, type TypeName } from './crdt-type';

/**
 * A type name with its indefinite article, as read aloud: "an or-set", "an lww-register"
 * ("el"), "an mv-register" ("em"), "a g-counter", "a 2p-set" ("two"), "a text". Messages
 * use it so that they read as sentences.
 */
const AN: ReadonlySet<string> = new Set<TypeName>(['ew-flag', 'lww-register', 'mv-register', 'lww-set', 'or-set', 'or-map']);

/** `name` with "a" or "an" in front; names outside the catalogue by their first letter's sound. */
export function withArticle(name: string): string {
  const catalogued = (TYPE_NAMES as readonly string[]).includes(name);
  const an = catalogued ? AN.has(name) : /^[aeiou]/i.test(name);
  return `${an ? 'an' : 'a'} ${name}`;
}
