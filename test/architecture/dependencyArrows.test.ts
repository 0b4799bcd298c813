import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/**
 * README's dependency arrows, enforced. The arrows are read from README.md itself (the ```arrows
 * block under "Layout"), so the document and this test cannot drift apart: each line
 * `part → a, b, c` lists all a part of src/ may import from src/. Every import of every
 * src/**\/*.ts (static import and export-from, side-effect import, dynamic import()) is checked.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SRC = join(ROOT, 'src');

/** The part of src/ a file belongs to: its top folder, or the file's own name at the top (main.ts, errors.ts). */
function partOf(absPath: string): string {
  return relative(SRC, absPath).split(sep)[0] ?? '';
}

function parseArrows(readme: string): Map<string, Set<string>> {
  const block = /^```arrows\n([\s\S]*?)^```/m.exec(readme);
  if (!block?.[1]) throw new Error('README.md has no ```arrows block');
  const arrows = new Map<string, Set<string>>();
  for (const line of block[1].split('\n')) {
    if (line.trim() === '') continue;
    const m = /^(\S+)\s*→\s*(.*)$/.exec(line.trim());
    if (!m?.[1]) throw new Error(`README.md arrows: cannot read ${JSON.stringify(line)}; expected "part → a, b"`);
    if (arrows.has(m[1])) throw new Error(`README.md arrows: ${m[1]} has two lines`);
    arrows.set(m[1], new Set((m[2] ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '')));
  }
  return arrows;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (path !== join(SRC, 'generated')) out.push(...sourceFiles(path));
    } else if (entry.name.endsWith('.ts')) {
      out.push(path);
    }
  }
  return out.sort();
}

/** Every module specifier a file imports: import/export … from, import '…', import('…'), import type. */
function importsOf(source: string): string[] {
  return ts.preProcessFile(source, true, true).importedFiles.map((f) => f.fileName);
}

function isTestCode(absPath: string): boolean {
  return absPath.endsWith('.test.ts') || relative(SRC, absPath).split(sep).includes('testing');
}

interface Violation {
  readonly file: string;
  readonly specifier: string;
  readonly problem: string;
}

/** What is wrong with src/'s imports under these arrows, and which arrows no import uses. */
function checkImports(arrows: Map<string, Set<string>>, files: readonly { readonly path: string; readonly source: string }[]): { violations: Violation[]; unused: string[] } {
  const violations: Violation[] = [];
  const used = new Set<string>();
  for (const { path, source } of files) {
    const from = partOf(path);
    const allowed = arrows.get(from);
    const file = relative(ROOT, path);
    if (!allowed) {
      violations.push({ file, specifier: '', problem: `src/${from} has no line in README's arrows` });
      continue;
    }
    for (const specifier of importsOf(source)) {
      if (!specifier.startsWith('.')) continue; // packages and node: builtins
      const target = resolve(dirname(path), specifier);
      const rel = relative(SRC, target);
      if (rel.startsWith('..')) {
        const top = relative(ROOT, target).split(sep)[0];
        if ((top === 'test' || top === 'e2e') && !isTestCode(path)) violations.push({ file, specifier, problem: `production code imports ${top}/` });
        continue;
      }
      const to = partOf(target);
      if (to === from) continue;
      if (!allowed.has(to)) {
        violations.push({ file, specifier, problem: `${from} → ${to} is not an arrow (README: ${from} → ${[...allowed].join(', ') || 'nothing'})` });
      } else {
        used.add(`${from} → ${to}`);
      }
    }
  }
  const unused = [...arrows].flatMap(([from, tos]) => [...tos].map((to) => `${from} → ${to}`)).filter((a) => !used.has(a));
  return { violations, unused };
}

/** A cycle among the arrows, as a path, or undefined. */
function findCycle(arrows: Map<string, Set<string>>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const visit = (node: string, path: string[]): string[] | undefined => {
    if (state.get(node) === 'done') return undefined;
    if (state.get(node) === 'open') return [...path.slice(path.indexOf(node)), node];
    state.set(node, 'open');
    for (const next of arrows.get(node) ?? []) {
      const cycle = visit(next, [...path, node]);
      if (cycle) return cycle;
    }
    state.set(node, 'done');
    return undefined;
  };
  for (const node of arrows.keys()) {
    const cycle = visit(node, []);
    if (cycle) return cycle;
  }
  return undefined;
}

describe("README's dependency arrows", () => {
  const arrows = parseArrows(readFileSync(join(ROOT, 'README.md'), 'utf8'));
  const files = sourceFiles(SRC).map((path) => ({ path, source: readFileSync(path, 'utf8') }));

  test('name every part of src/ and only parts that exist', () => {
    const parts = new Set([...files.map((f) => partOf(f.path)), 'generated']);
    assert.deepEqual([...arrows.keys()].filter((p) => !parts.has(p)), [], 'arrows for parts src/ does not have');
    for (const tos of arrows.values()) assert.deepEqual([...tos].filter((p) => !arrows.has(p)), [], 'arrows to parts without a line');
  });

  test('point one way (no cycle)', () => {
    assert.equal(findCycle(arrows)?.join(' → '), undefined);
  });

  test('allow every import in src/', () => {
    const { violations } = checkImports(arrows, files);
    assert.equal(violations.length, 0, `broken dependency arrows:\n${violations.map((v) => `  ${v.file}: import '${v.specifier}': ${v.problem}`).join('\n')}`);
  });

  test('are each used by some import (the README says what the code does)', () => {
    assert.deepEqual(checkImports(arrows, files).unused, []);
  });

  test('the checker itself: catches static, export-from, type-only and dynamic imports across a missing arrow', () => {
    const toy = parseArrows('```arrows\ncontroller → agentApi\nagentApi →\nlvm →\n```\n');
    const at = join(SRC, 'controller', 'x.ts');
    for (const line of [
      "import { Lvm } from '../lvm/index.ts';",
      "import type { Lvm } from '../lvm/index.ts';",
      "export { Lvm } from '../lvm/index.ts';",
      "const m = await import('../lvm/index.ts');",
      "import '../lvm/index.ts';",
    ]) {
      const { violations } = checkImports(toy, [{ path: at, source: line }]);
      assert.equal(violations.length, 1, line);
      assert.match(violations[0]?.problem ?? '', /controller → lvm is not an arrow/);
    }
    assert.deepEqual(checkImports(toy, [{ path: at, source: "import { x } from '../agentApi/ids.ts';\nimport { y } from './y.ts';" }]).violations, []);
    assert.match(checkImports(toy, [{ path: at, source: "import { f } from '../../test/fakes/FakeRunner.ts';" }]).violations[0]?.problem ?? '', /production code imports test\//);
    assert.deepEqual(checkImports(toy, [{ path: join(SRC, 'controller', 'x.test.ts'), source: "import { f } from '../../test/fakes/FakeRunner.ts';" }]).violations, []);
    assert.deepEqual(findCycle(parseArrows('```arrows\na → b\nb → a\n```\n')), ['a', 'b', 'a']);
  });
});
