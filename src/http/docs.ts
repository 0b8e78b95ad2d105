// The browsable API documentation at /docs: Swagger UI (the swagger-ui-dist package) served from this server,
// with every dialect's OpenAPI document (/openapi/<name>.json) in its "Select a definition" list. Nothing comes
// from a CDN, so it works offline; like the documents, it needs no credentials.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import zlib from 'node:zlib';
import Router from '@koa/router';
import type Koa from 'koa';

const require = createRequire(import.meta.url);

/** The package's files we serve, by the name they have under /docs/. */
const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'swagger-ui-standalone-preset.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
  'favicon-16x16.png': 'image/png',
};

/** Folder of the installed swagger-ui-dist. */
export function swaggerUiDir(): string {
  return path.dirname(require.resolve('swagger-ui-dist/package.json'));
}

interface Asset {
  type: string;
  bytes: Buffer;
  gzip?: Buffer;
  etag: string;
}

// Scripts only from this server (the page's set-up is a file too, not inline); Swagger UI sets inline styles
// and shows data: images.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; frame-ancestors 'none'";

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>faceserver API documentation</title>
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <link rel="stylesheet" href="docs/swagger-ui.css">
  <link rel="icon" type="image/png" href="docs/favicon-32x32.png" sizes="32x32">
  <style>body { margin: 0 } .topbar-wrapper .link { visibility: hidden }</style>
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="docs/swagger-ui-bundle.js"></script>
  <script src="docs/swagger-ui-standalone-preset.js"></script>
  <script src="docs/init.js"></script>
</body>
</html>
`;

/** The set-up script: the list of documents, no outside validator (offline), deep links. */
function initScript(names: string[], titles: Map<string, string>): string {
  const urls = names.map((n) => ({ url: `openapi/${n}.json`, name: titles.get(n) ?? n }));
  return `window.ui = SwaggerUIBundle({
  urls: ${JSON.stringify(urls)},
  dom_id: '#swagger-ui',
  deepLinking: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  plugins: [SwaggerUIBundle.plugins.DownloadUrl],
  layout: 'StandaloneLayout',
});
`;
}

function asset(type: string, bytes: Buffer): Asset {
  const etag = `"${crypto.createHash('sha256').update(bytes).digest('base64url').slice(0, 27)}"`;
  return { type, bytes, etag, ...(type.startsWith('image/') ? {} : { gzip: zlib.gzipSync(bytes) }) };
}

function send(ctx: Koa.Context, a: Asset, cacheControl: string): void {
  ctx.set('Cache-Control', cacheControl);
  ctx.set('ETag', a.etag);
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.vary('Accept-Encoding');
  if (ctx.get('if-none-match') === a.etag) {
    ctx.status = 304;
    return;
  }
  ctx.type = a.type;
  if (a.gzip && ctx.acceptsEncodings('gzip', 'identity') === 'gzip') {
    ctx.set('Content-Encoding', 'gzip');
    ctx.body = a.gzip;
  } else ctx.body = a.bytes;
}

/**
 * /docs (the page), /docs/<asset> (Swagger UI's files, read once on first use) and /docs/init.js (the list of
 * documents: `names`, titled by `titles`).
 */
export function docsRouter(names: string[], titles: Map<string, string>): Router {
  const router = new Router();
  const cache = new Map<string, Asset>();
  const get = (file: string): Asset => {
    let a = cache.get(file);
    if (!a) {
      if (file === 'index.html') a = asset('text/html; charset=utf-8', Buffer.from(PAGE));
      else if (file === 'init.js') a = asset('text/javascript; charset=utf-8', Buffer.from(initScript(names, titles)));
      else a = asset(ASSETS[file], fs.readFileSync(path.join(swaggerUiDir(), file)));
      cache.set(file, a);
    }
    return a;
  };
  router.get('/docs', (ctx) => {
    // Relative links (docs/...) so the page works under a reverse proxy's path prefix: /docs, never /docs/.
    // (A relative Location, so that a proxy's path prefix is kept: /prefix/docs/ -> /prefix/docs.)
    if (ctx.originalUrl.split('?')[0].endsWith('/')) {
      ctx.redirect(`../docs${ctx.search}`);
      return;
    }
    ctx.set('Content-Security-Policy', CSP);
    send(ctx, get('index.html'), 'no-cache');
  });
  router.get('/docs/:file', (ctx, next) => {
    const file = ctx.params.file;
    if (file !== 'init.js' && !Object.hasOwn(ASSETS, file)) return next();
    send(ctx, get(file), file === 'init.js' ? 'no-cache' : 'public, max-age=86400');
  });
  return router;
}
