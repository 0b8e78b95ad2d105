// The console's page and its bundle (built by `npm run build:console` into build/console: bin/setup and npm
// test build it). The page is served for /console with a <base> that carries the proxy's prefix, so every
// script, style and API URL it uses is relative and works under any prefix. Files are re-read when rebuilt.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Router from '@koa/router';
import type Koa from 'koa';
import { ConsoleError } from './errors';
import { CONSOLE_PATH, publicPrefix } from './http';

export const BUNDLE_DIR = path.resolve(import.meta.dirname, '../../build/console');

const TYPES: Record<string, string> = { '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml' };

interface Cached {
  mtimeMs: number;
  bytes: Buffer;
  etag: string;
}

function htmlEscape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function consoleAssets(opts: { pathPrefix: string; dir?: string }): Router {
  const dir = opts.dir ?? BUNDLE_DIR;
  const cache = new Map<string, Cached>();
  const read = (file: string): Cached => {
    const full = path.join(dir, file);
    let stat: fs.Stats;
    try {
      stat = fs.statSync(full);
    } catch {
      throw new ConsoleError('NOT_BUILT', 'the console is not built: run `npm run build:console` (bin/setup does)');
    }
    const hit = cache.get(file);
    if (hit && hit.mtimeMs === stat.mtimeMs) return hit;
    const bytes = fs.readFileSync(full);
    const entry = { mtimeMs: stat.mtimeMs, bytes, etag: `"${crypto.createHash('sha256').update(bytes).digest('base64url').slice(0, 22)}"` };
    cache.set(file, entry);
    return entry;
  };
  const files = new Set(['app.js', 'app.css', 'icon.svg']);
  const router = new Router();

  const page = (ctx: Koa.Context) => {
    const base = `${publicPrefix(ctx, opts.pathPrefix)}${CONSOLE_PATH}/`;
    ctx.type = 'text/html; charset=utf-8';
    ctx.set('Cache-Control', 'no-store');
    ctx.body = read('index.html').bytes.toString('utf8').replace('__BASE__', htmlEscape(base));
  };
  router.get(CONSOLE_PATH, page);
  router.get(`${CONSOLE_PATH}/index.html`, page);
  router.get(`${CONSOLE_PATH}/:file`, (ctx, next) => {
    const file = ctx.params.file as string;
    if (!files.has(file)) return next();
    const entry = read(file);
    ctx.type = TYPES[path.extname(file)];
    ctx.set('Cache-Control', 'no-cache'); // revalidated (ETag) on each load, so a rebuilt bundle is picked up
    ctx.set('ETag', entry.etag);
    if (ctx.get('if-none-match') === entry.etag) {
      ctx.status = 304;
      return;
    }
    ctx.body = entry.bytes;
  });
  return router;
}
