// Fails when a C++ file under native/ is not formatted by .clang-format (clang-format --dry-run --Werror).
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';

function cppFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return cppFiles(p);
    return /\.(cpp|h|hpp)$/.test(e.name) ? [p] : [];
  });
}

const files = cppFiles('native');
try {
  execFileSync('clang-format', ['--dry-run', '--Werror', ...files], { stdio: 'inherit' });
  console.log(`clang-format: ${files.length} files formatted`);
} catch {
  console.error('clang-format: files above need `clang-format -i`');
  process.exit(1);
}
