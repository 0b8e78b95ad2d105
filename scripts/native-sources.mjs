// Lists the addon's C++ sources for binding.gyp: every .cpp under native/core (recursively) and native/binding,
// the same globs CMakeLists.txt uses.
import { readdirSync } from 'node:fs';
import path from 'node:path';

function cpp(dir, recursive) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.posix.join(dir, e.name);
    if (e.isDirectory()) return recursive ? cpp(p, true) : [];
    return e.name.endsWith('.cpp') ? [p] : [];
  });
}

console.log([...cpp('native/core', true), ...cpp('native/binding', false)].sort().join(' '));
