import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { importCycles, importGraph, resolveImport } from './import-graph';

const ROOT = join(__dirname, '..', '..', '..');

describe('import graph', () => {
  it('import graph - finds a cycle of three files and leaves the files outside it alone', () => {
    const graph = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts', 'd.ts']],
      ['c.ts', ['a.ts']],
      ['d.ts', ['e.ts']],
      ['e.ts', []],
    ]);
    expect(importCycles(graph)).toEqual([['a.ts', 'b.ts', 'c.ts']]);
  });

  it('import graph - reports two files that import each other, and nothing for a chain', () => {
    expect(importCycles(new Map([['x.ts', ['y.ts']], ['y.ts', ['x.ts']]]))).toEqual([['x.ts', 'y.ts']]);
    expect(importCycles(new Map([['x.ts', ['y.ts']], ['y.ts', ['z.ts']], ['z.ts', []]]))).toEqual([]);
  });

  it('import graph - resolves path aliases and relative imports to repository files', () => {
    expect(resolveImport(ROOT, 'libs/replication/src/replica-core.ts', '#protocol')).toBe('libs/protocol/src/index.ts');
    expect(resolveImport(ROOT, 'libs/replication/src/replica-core.ts', '#crdt/json')).toBe('libs/crdt/src/json.ts');
    expect(resolveImport(ROOT, 'libs/replication/src/replica-core.ts', './ports')).toBe('libs/replication/src/ports.ts');
    expect(resolveImport(ROOT, 'libs/replication/src/replica-core.ts', 'node:fs')).toBeUndefined();
  });

  it('import graph - no two files of the libraries import each other in a cycle', () => {
    const dirs = readdirSync(join(ROOT, 'libs')).map((lib) => join('libs', lib, 'src'));
    const graph = importGraph(ROOT, dirs);
    // The graph really is the libraries' (a broken walk would find no cycle in nothing).
    expect(graph.get('libs/replication/src/replica-core.ts')).toContain('libs/replication/src/client-commands.ts');
    expect(graph.size).toBeGreaterThan(100);
    expect(importCycles(graph)).toEqual([]);
  });
});
