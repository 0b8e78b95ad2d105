#!/usr/bin/env node
// Builds the web console (web/) into build/console with esbuild: one minified bundle of the app (Preact,
// Chart.js and our code), its stylesheet, the page and the icon. Everything faceserver serves at /console
// comes from here: no CDN, so the console works offline. bin/setup and `npm test` run it; ~1 s.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { build } from 'esbuild';

const root = path.resolve(import.meta.dirname, '..');
const web = path.join(root, 'web');
const out = path.join(root, 'build/console');
const started = Date.now();

fs.mkdirSync(out, { recursive: true });
await build({
  entryPoints: { app: path.join(web, 'src/main.tsx') },
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['chrome110', 'firefox110', 'safari16'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  outdir: out,
  legalComments: 'linked',
  logLevel: 'warning',
  define: { 'process.env.NODE_ENV': '"production"' },
});
await build({
  entryPoints: { app: path.join(web, 'src/style.css') },
  bundle: true,
  minify: true,
  outdir: out,
  logLevel: 'warning',
});
for (const file of ['index.html', 'icon.svg']) fs.copyFileSync(path.join(web, file), path.join(out, file));

const sizes = ['app.js', 'app.css'].map((f) => {
  const bytes = fs.readFileSync(path.join(out, f));
  return `${f} ${(bytes.length / 1024).toFixed(1)} KB (${(zlib.gzipSync(bytes).length / 1024).toFixed(1)} KB gzip)`;
});
console.log(`console built into ${path.relative(root, out)}/ in ${Math.round(Date.now() - started)} ms: ${sizes.join(', ')}`);
