import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import * as ts from 'typescript';

/** Files (relative to the repository root) and the repository files each imports. */
export type ImportGraph = ReadonlyMap<string, readonly string[]>;

/**
 * Resolves one import specifier of `fromFile` to a repository file, the way package.json
 * "imports" and jest.config.js map them: `#lib` is libs/lib/src/index.ts, `#lib/x` is
 * libs/lib/src/x.ts, `#app-name/x` is apps/name/src/x.ts, and relative paths are tried
 * as `.ts` then `/index.ts`. Undefined for packages from node_modules and node builtins.
 */
export function resolveImport(root: string, fromFile: string, spec: string): string | undefined {
  let base: string | undefined;
  if (spec.startsWith('.')) base = resolve(root, dirname(fromFile), spec);
  else if (spec.startsWith('#app-')) {
    const m = /^#app-([a-z-]+)\/(.*)$/.exec(spec);
    if (m) base = join(root, 'apps', m[1], 'src', m[2]);
  } else if (spec.startsWith('#')) {
    const m = /^#([a-z-]+)(?:\/(.*))?$/.exec(spec);
    if (m) base = m[2] === undefined ? join(root, 'libs', m[1], 'src', 'index') : join(root, 'libs', m[1], 'src', m[2]);
  }
  if (base === undefined) return undefined;
  for (const candidate of [`${base}.ts`, join(base, 'index.ts')]) {
    if (existsSync(candidate)) return relative(root, candidate);
  }
  throw new Error(`${fromFile}: cannot resolve import ${JSON.stringify(spec)}`);
}

/** Every `.ts` file under `dir` (specs included: a spec importing in a cycle is a cycle too). */
function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...tsFiles(p));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/**
 * The import graph of the `.ts` files under `dirs` (relative to `root`): every `import`,
 * `import type`, `export ... from`, `import()` and `require()` counts, since a type-only
 * cycle is still two files that cannot be understood one without the other.
 */
export function importGraph(root: string, dirs: readonly string[]): ImportGraph {
  const graph = new Map<string, string[]>();
  for (const dir of dirs) {
    for (const abs of tsFiles(join(root, dir))) {
      const file = relative(root, abs);
      const info = ts.preProcessFile(readFileSync(abs, 'utf8'), true, true);
      const targets = new Set<string>();
      for (const imp of info.importedFiles) {
        const target = resolveImport(root, file, imp.fileName);
        if (target !== undefined && target !== file) targets.add(target);
      }
      graph.set(file, [...targets].sort());
    }
  }
  return graph;
}

/**
 * The import cycles of a graph: its strongly connected components with more than one
 * file (Tarjan's algorithm, iterative so deep graphs cannot overflow the stack). Edges to
 * files outside the graph are ignored. Each cycle is sorted; the list is sorted by its first file.
 */
export function importCycles(graph: ImportGraph): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  let next = 0;
  for (const start of graph.keys()) {
    if (index.has(start)) continue;
    const work: Array<{ node: string; edge: number }> = [{ node: start, edge: 0 }];
    index.set(start, next);
    low.set(start, next++);
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const top = work[work.length - 1];
      const edges = (graph.get(top.node) ?? []).filter((t) => graph.has(t));
      if (top.edge < edges.length) {
        const to = edges[top.edge++];
        if (!index.has(to)) {
          index.set(to, next);
          low.set(to, next++);
          stack.push(to);
          onStack.add(to);
          work.push({ node: to, edge: 0 });
        } else if (onStack.has(to)) {
          low.set(top.node, Math.min(low.get(top.node)!, index.get(to)!));
        }
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1].node;
        low.set(parent, Math.min(low.get(parent)!, low.get(top.node)!));
      }
      if (low.get(top.node) === index.get(top.node)) {
        const component: string[] = [];
        let n: string;
        do {
          n = stack.pop()!;
          onStack.delete(n);
          component.push(n);
        } while (n !== top.node);
        if (component.length > 1) cycles.push(component.sort());
      }
    }
  }
  return cycles.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}
