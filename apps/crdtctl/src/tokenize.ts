/**
 * Splits a shell line into words. Whitespace separates words, except inside quotes
 * ('...' or "...", which are removed) and inside JSON brackets ({...} and [...], kept
 * whole with their inner strings), so `update x {"type": "add", "value": "a b"}` gives
 * three words without any quoting.
 */
export function tokenize(line: string): { ok: true; words: string[] } | { ok: false; message: string } {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let depth = 0;
  let i = 0;
  const flush = () => {
    if (inWord) words.push(word);
    word = '';
    inWord = false;
  };
  while (i < line.length) {
    const c = line[i];
    if (depth === 0 && /\s/.test(c)) {
      flush();
      i++;
      continue;
    }
    inWord = true;
    if (c === '"' || (c === "'" && depth === 0)) {
      // A quoted run: inside JSON brackets the quotes stay (they are JSON's), outside they go.
      const end = findClosingQuote(line, i);
      if (end < 0) return { ok: false, message: `unclosed ${c} quote` };
      word += depth > 0 ? line.slice(i, end + 1) : unescapeQuoted(line.slice(i + 1, end), c);
      i = end + 1;
      continue;
    }
    if (c === '{' || c === '[') depth++;
    else if ((c === '}' || c === ']') && depth > 0) depth--;
    word += c;
    i++;
  }
  if (depth > 0) return { ok: false, message: 'unclosed { or [ in JSON' };
  flush();
  return { ok: true, words };
}

function findClosingQuote(s: string, start: number): number {
  const q = s[start];
  for (let j = start + 1; j < s.length; j++) {
    if (s[j] === '\\' && q === '"') j++;
    else if (s[j] === q) return j;
  }
  return -1;
}

function unescapeQuoted(body: string, quote: string): string {
  return quote === '"' ? body.replace(/\\(["\\])/g, '$1') : body;
}
