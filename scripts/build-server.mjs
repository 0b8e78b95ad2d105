#!/usr/bin/env node
// Compiles the server (src/ -> dist/) with the TypeScript compiler, so `npm start` and the `faceserver` command
// run plain JavaScript with no run-time transpiler. The sources import each other without file extensions
// (moduleResolution "Bundler"); Node's ES module loader needs them, so a transformer on the emitted JavaScript
// rewrites each relative specifier to the file the compiler resolved ('./config' -> './config.js',
// './console' -> './console/index.js'). Type errors fail the build.
//
//   node scripts/build-server.mjs              build (about 15 s on one core)
//   node scripts/build-server.mjs --if-stale   build only when a source is newer than the last build, and do
//                                              nothing where there are no sources or no compiler (a production
//                                              install of a released tarball: dist/ is already there)
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const src = path.join(root, 'src');
const dist = path.join(root, 'dist');
const STAMP = path.join(dist, '.build-stamp');
const CONFIG = path.join(root, 'tsconfig.build.json');

/** The newest modification time (ms) among the sources and the build settings. */
function newestSource() {
  let newest = 0;
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(p);
      else newest = Math.max(newest, fs.statSync(p).mtimeMs);
    }
  };
  walk(src);
  for (const f of [CONFIG, path.join(root, 'tsconfig.json')]) newest = Math.max(newest, fs.statSync(f).mtimeMs);
  return newest;
}

function isStale() {
  if (!fs.existsSync(STAMP)) return true;
  return newestSource() > fs.statSync(STAMP).mtimeMs;
}

async function loadTypeScript() {
  try {
    return (await import('typescript')).default;
  } catch {
    return undefined;
  }
}

/** A relative specifier of `fromFile` rewritten to the emitted file it names, or undefined to leave it. */
function resolveSpecifier(spec, fromFile) {
  if (!spec.startsWith('./') && !spec.startsWith('../')) return undefined;
  if (/\.(m?js|json|node)$/.test(spec)) return undefined;
  const base = path.resolve(path.dirname(fromFile), spec);
  if (fs.existsSync(`${base}.ts`)) return `${spec}.js`;
  if (fs.existsSync(path.join(base, 'index.ts'))) return `${spec.replace(/\/$/, '')}/index.js`;
  throw new Error(`${path.relative(root, fromFile)}: cannot resolve "${spec}"`);
}

function specifierRewriter(ts) {
  return (context) => (sourceFile) => {
    const fromFile = sourceFile.fileName;
    const f = context.factory;
    const rewrite = (literal) => {
      const to = resolveSpecifier(literal.text, fromFile);
      return to === undefined ? literal : f.createStringLiteral(to);
    };
    const visit = (node) => {
      if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
        return f.updateImportDeclaration(node, node.modifiers, node.importClause, rewrite(node.moduleSpecifier), node.attributes);
      }
      if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
        return f.updateExportDeclaration(node, node.modifiers, node.isTypeOnly, node.exportClause, rewrite(node.moduleSpecifier), node.attributes);
      }
      if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments.length >= 1 && ts.isStringLiteral(node.arguments[0])) {
        return f.updateCallExpression(node, node.expression, node.typeArguments, [rewrite(node.arguments[0]), ...node.arguments.slice(1)]);
      }
      return ts.visitEachChild(node, visit, context);
    };
    return ts.visitNode(sourceFile, visit);
  };
}

async function build(ts) {
  const started = Date.now();
  const parsed = ts.getParsedCommandLineOfConfigFile(CONFIG, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => fail(ts, [d]) });
  if (parsed.errors.length) fail(ts, parsed.errors);
  // Built beside dist/ and swapped in whole, so a server starting meanwhile never sees half a build.
  const out = `${dist}.tmp-${process.pid}`;
  fs.rmSync(out, { recursive: true, force: true });
  const program = ts.createProgram({ rootNames: parsed.fileNames, options: { ...parsed.options, outDir: out } });
  const diagnostics = ts.getPreEmitDiagnostics(program);
  if (diagnostics.length) {
    fs.rmSync(out, { recursive: true, force: true });
    fail(ts, diagnostics);
  }
  const result = program.emit(undefined, undefined, undefined, false, { after: [specifierRewriter(ts)] });
  if (result.emitSkipped || result.diagnostics.length) {
    fs.rmSync(out, { recursive: true, force: true });
    fail(ts, result.diagnostics);
  }
  fs.writeFileSync(path.join(out, 'package.json'), '{ "type": "module" }\n');
  fs.writeFileSync(path.join(out, '.build-stamp'), `${new Date().toISOString()}\n`);
  const old = `${dist}.old-${process.pid}`;
  if (fs.existsSync(dist)) fs.renameSync(dist, old);
  fs.renameSync(out, dist);
  fs.rmSync(old, { recursive: true, force: true });
  const files = parsed.fileNames.length;
  console.error(`build-server: ${files} files -> dist/ in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

function fail(ts, diagnostics) {
  const host = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => '\n' };
  console.error(ts.formatDiagnosticsWithColorAndContext(diagnostics, host));
  console.error('build-server: FAILED');
  process.exit(1);
}

const ifStale = process.argv.includes('--if-stale');
if (ifStale && (!fs.existsSync(src) || !isStale())) process.exit(0);
const ts = await loadTypeScript();
if (!ts) {
  if (ifStale && fs.existsSync(STAMP)) {
    console.error('build-server: the sources are newer than dist/, but TypeScript is not installed: running the existing build');
    process.exit(0);
  }
  console.error('build-server: TypeScript is not installed (npm ci without --omit=dev installs it)');
  process.exit(1);
}
await build(ts);
