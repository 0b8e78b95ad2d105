// API documentation (issue 16, item 3): every product dialect the server speaks has an OpenAPI 3 document equal
// to its router (a route missing from the document, or a documented route not served, fails), served without
// credentials at /openapi/<dialect>.json; /docs renders all of them with Swagger UI from this server alone,
// checked in a real browser (Debian's chromium driven by playwright-core) that is refused every other host.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import SwaggerParser from '@apidevtools/swagger-parser';
import { chromium, type Browser } from 'playwright-core';
import type { RunningServer } from '../src/server';
import { documentedRoutes, servedRoutes, type OpenApiDocument } from '../src/http/openapi';
import { startTestServer } from './support/server';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];
/** Dialects that are faceserver's own plumbing, not a product API: the admin API (the CLI's) and the console's. */
const INTERNAL = new Set(['admin', 'console']);

const key = (r: { method: string; path: string }) => `${r.method.toUpperCase()} ${r.path}`;

describe('OpenAPI documents and /docs', function () {
  this.timeout(180_000);
  let server: RunningServer;

  before(async function () {
    this.timeout(120_000);
    server = await startTestServer({ WORKERS: '1' });
  });
  after(async () => {
    await server?.close();
  });

  const products = () => server.dialects.filter((d) => !INTERNAL.has(d.name));

  it('every product dialect has a document, and it lists exactly the routes its router serves', () => {
    assert.ok(products().length >= 2, products().map((d) => d.name).join(', '));
    for (const d of products()) {
      assert.ok(d.openapi, `the ${d.name} dialect has no OpenAPI document (Dialect.openapi)`);
      const served = servedRoutes(d.router).map(key).sort();
      const documented = documentedRoutes(d.openapi).map(key).sort();
      const missing = served.filter((r) => !documented.includes(r));
      const extra = documented.filter((r) => !served.includes(r));
      assert.deepEqual({ missing, extra }, { missing: [], extra: [] }, `${d.name}: routes missing from its document, or documented and not served`);
      assert.ok(served.length > 0);
    }
  });

  it('the documents are well-formed: OpenAPI 3, unique operation ids, every $ref resolves, path parameters declared', () => {
    for (const d of products()) {
      const doc = d.openapi!;
      assert.match(doc.openapi, /^3\./);
      const ids = new Set<string>();
      for (const [p, item] of Object.entries(doc.paths)) {
        for (const [method, operation] of Object.entries(item ?? {})) {
          if (typeof operation !== 'object' || !('responses' in operation)) continue;
          const o = operation as { operationId?: string; parameters?: { name: string; in: string }[]; responses: object };
          if (o.operationId) {
            assert.ok(!ids.has(o.operationId), `${d.name}: operationId ${o.operationId} twice`);
            ids.add(o.operationId);
          }
          assert.ok(Object.keys(o.responses).length > 0, `${d.name} ${method} ${p}: no responses`);
          for (const name of [...p.matchAll(/\{(\w+)\}/g)].map((m) => m[1])) {
            assert.ok(o.parameters?.some((q) => q.in === 'path' && q.name === name), `${d.name} ${method.toUpperCase()} ${p}: path parameter ${name} not declared`);
          }
        }
      }
      const text = JSON.stringify(doc);
      for (const [, target] of text.matchAll(/"\$ref":"#\/([^"]+)"/g)) {
        let node: unknown = doc;
        for (const part of target.split('/')) node = (node as Record<string, unknown> | undefined)?.[part];
        assert.ok(node, `${d.name}: $ref #/${target} resolves to nothing`);
      }
    }
  });

  it('each document is valid OpenAPI 3 by the specification\'s own schema (swagger-parser)', async () => {
    for (const d of products()) {
      // validate() dereferences in place: a copy, so the served document stays as it is.
      const copy = JSON.parse(JSON.stringify(d.openapi)) as Parameters<typeof SwaggerParser.validate>[0];
      await assert.doesNotReject(SwaggerParser.validate(copy), `${d.name}'s document`);
    }
  });

  it('serves each document at /openapi/<dialect>.json and /docs without credentials', async () => {
    for (const d of products()) {
      const res = await fetch(`${server.url}/openapi/${d.name}.json`);
      assert.equal(res.status, 200, d.name);
      assert.deepEqual(await res.json(), JSON.parse(JSON.stringify(d.openapi)));
    }
    const page = await fetch(`${server.url}/docs`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    const html = await page.text();
    for (const src of [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1])) {
      assert.doesNotMatch(src, /^(https?:)?\/\//, `${src}: /docs loads nothing from elsewhere`);
      const asset = await fetch(`${server.url}/${src}`, { headers: { 'accept-encoding': 'gzip' } });
      assert.equal(asset.status, 200, src);
      assert.ok((await asset.arrayBuffer()).byteLength > 0, src);
    }
    const init = await (await fetch(`${server.url}/docs/init.js`)).text();
    for (const d of products()) assert.ok(init.includes(`openapi/${d.name}.json`), `/docs lists ${d.name}`);
    assert.equal((await fetch(`${server.url}/docs/package.json`)).status, 404, 'only the UI\'s own assets are served');
    // /docs/ would break the page's relative links (docs/...): it is sent to /docs.
    const slash = await fetch(`${server.url}/docs/`, { redirect: 'manual' });
    assert.equal(slash.status, 302);
    assert.equal(new URL(slash.headers.get('location')!, `${server.url}/docs/`).href, `${server.url}/docs`);
    assert.equal((await fetch(`${server.url}/openapi/nope.json`)).status, 404);
  });

  describe('in a real browser', () => {
    let browser: Browser | undefined;

    before(async function () {
      if (!fs.existsSync(CHROMIUM)) {
        if (process.env.CI) throw new Error(`${CHROMIUM} is missing: bin/setup installs Debian's chromium for this test`);
        console.log(`    (skipped: ${CHROMIUM} is not installed; bin/setup installs it)`);
        this.skip();
      }
      browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
    });
    after(async () => {
      await browser?.close();
    });

    it('/docs renders every dialect\'s operations, offline: no request leaves this server', async () => {
      const context = await browser!.newContext({ viewport: { width: 1280, height: 900 } });
      const page = await context.newPage();
      page.setDefaultTimeout(30_000);
      const elsewhere: string[] = [];
      const errors: string[] = [];
      // Offline: anything not addressed to this server is refused (and recorded).
      await context.route('**/*', (route) => {
        const url = route.request().url();
        if (url.startsWith(server.url) || url.startsWith('data:')) return route.continue();
        elsewhere.push(url);
        return route.abort();
      });
      page.on('pageerror', (err) => errors.push(err.message));
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });

      await page.goto(`${server.url}/docs`);
      for (const d of products()) {
        const doc = d.openapi as OpenApiDocument;
        // The definition picker (Swagger UI's top bar) lists every document by its title.
        await page.selectOption('.topbar select', { label: doc.info.title });
        await page.locator('.information-container .title', { hasText: doc.info.title }).waitFor();
        await page.locator('.opblock').first().waitFor();
        const shown = await page.locator('.opblock').evaluateAll((blocks) =>
          blocks.map((b) => `${b.querySelector('.opblock-summary-method')?.textContent?.trim()} ${b.querySelector('.opblock-summary-path')?.getAttribute('data-path')}`),
        );
        assert.deepEqual(shown.sort(), documentedRoutes(doc).map(key).sort(), `${d.name}: the operations /docs shows`);
      }
      assert.deepEqual(elsewhere, [], 'requests that left the server');
      assert.deepEqual(errors, [], 'errors in the page');
      await context.close();
    });
  });
});
