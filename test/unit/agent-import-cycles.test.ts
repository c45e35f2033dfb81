// No import circle among electron/agent/ files. A circle means two parts cannot be understood (or
// loaded) one after the other; the last one was agent.ts → share-service.ts → secrets.ts → agent.ts.
// Type-only imports count too: they are the ones that grow into value imports. The detector is
// checked on a tree with a known circle first, so a silent detector cannot pass the real check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.tsx?$/.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** A relative specifier as the bundler and tsx resolve it: file.ts, file.tsx, or folder/index.ts. */
function resolveImport(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const base = resolve(dirname(from), specifier);
  return [`${base}.ts`, `${base}.tsx`, join(base, 'index.ts'), base].find(
    (candidate) => /\.tsx?$/.test(candidate) && existsSync(candidate),
  );
}

/** Every circle of imports among the .ts files under `root`, each as a list of paths relative to it. */
export function findImportCycles(root: string): string[][] {
  const files = sourceFiles(root);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    graph.set(
      file,
      importedFiles
        .map((i) => resolveImport(file, i.fileName))
        .filter((target): target is string => !!target && target.startsWith(root)),
    );
  }
  const cycles: string[][] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string) => {
    state.set(file, 'visiting');
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 'visiting') {
        cycles.push([...stack.slice(stack.indexOf(next)), next].map((f) => relative(root, f)));
      } else if (!state.has(next)) {
        visit(next);
      }
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of files) if (!state.has(file)) visit(file);
  return cycles;
}

test('the detector finds a circle, through type-only imports and folder index files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lattice-cycles-'));
  try {
    mkdirSync(join(dir, 'store'));
    writeFileSync(join(dir, 'agent.ts'), "import type { Store } from './store';\nexport type A = Store;\n");
    writeFileSync(join(dir, 'store', 'index.ts'), "export { Repo as Store } from './repo';\n");
    writeFileSync(
      join(dir, 'store', 'repo.ts'),
      "import type { A } from '../agent';\nexport type Repo = A[];\n",
    );
    writeFileSync(
      join(dir, 'leaf.ts'),
      "import { readFileSync } from 'node:fs';\nexport const x = readFileSync;\n",
    );
    assert.deepEqual(findImportCycles(dir), [['agent.ts', 'store/index.ts', 'store/repo.ts', 'agent.ts']]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('no import circle among electron/agent/ files', () => {
  const root = new URL('../../electron/agent', import.meta.url).pathname;
  const cycles = findImportCycles(root);
  assert.deepEqual(
    cycles,
    [],
    `import circles in electron/agent/:\n${cycles.map((c) => `  ${c.join(' → ')}`).join('\n')}`,
  );
});
