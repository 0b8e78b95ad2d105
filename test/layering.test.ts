// The design rule: dialects reach the native engine only through the product-neutral domain (src/domain), never
// by importing src/engine; the console imports only pure types from it (its status page shows the engine's info).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

const SRC = path.resolve(import.meta.dirname, '../src');
const ENGINE = path.join(SRC, 'engine') + path.sep;

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(full);
    return e.name.endsWith('.ts') ? [full] : [];
  });
}

/** The src/engine modules a file imports or re-exports (dynamic imports included), and whether type-only. */
function engineImports(file: string): { spec: string; typeOnly: boolean }[] {
  const text = fs.readFileSync(file, 'utf8');
  const found = [
    ...[...text.matchAll(/(?:^|\n)\s*(import|export)(\s+type)?\b[^'";]*?from\s+['"]([^'"]+)['"]/g)].map((m) => ({ spec: m[3], typeOnly: !!m[2] })),
    ...[...text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => ({ spec: m[1], typeOnly: false })),
  ];
  return found.filter(({ spec }) => spec.startsWith('.') && path.resolve(path.dirname(file), spec).startsWith(ENGINE));
}

function offending(layer: string, allowTypes: boolean): string[] {
  const files = sourceFiles(path.join(SRC, layer));
  assert.ok(files.length > 0, `no sources under src/${layer}`);
  return files.flatMap((file) =>
    engineImports(file)
      .filter((i) => !(allowTypes && i.typeOnly))
      .map((i) => `${path.relative(SRC, file)} imports ${i.spec}`),
  );
}

describe('layering', () => {
  it('src/dialects imports nothing from src/engine (the domain offers what they need)', () => {
    assert.deepEqual(offending('dialects', false), []);
  });

  it('src/console imports only pure types from src/engine', () => {
    assert.deepEqual(offending('console', true), []);
  });
});
