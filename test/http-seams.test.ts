// The shared HTTP seams (src/http/) over real HTTP, through a small dialect built the way the coming dialects
// will be: parameters from every source with typed errors, the image reader (multipart, base64, data: URLs,
// URLs with and without redirects, raw image bodies), error tables, CORS only where a dialect asks for it,
// trailing slashes without redirects, and 404/405.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Router from '@koa/router';
import pino from 'pino';
import { ConfigError, loadConfig } from '../src/config';
import { DomainError, type DomainErrorCode } from '../src/domain/errors';
import { COMPREFACE_ERRORS, renderCompreFaceError } from '../src/dialects/compreface/errors';
import { createHttpApp, type Dialect } from '../src/http/app';
import {
  ERROR_CODES,
  HTTP_ERROR_CODES,
  HTTP_STATUS,
  HttpError,
  defaultRenderError,
  tableRenderer,
  type ErrorCode,
  type ErrorInfo,
  type ErrorTable,
  type HttpErrorCode,
} from '../src/http/errors';
import { fetchImage, readImage, type ImageInputOptions } from '../src/http/image-input';
import { params } from '../src/http/params';

const MAX_IMAGE = 64 * 1024;
const isHttpCode = (code: ErrorCode): code is HttpErrorCode => (HTTP_ERROR_CODES as readonly string[]).includes(code);

/** The toy dialect's errors: {code, message, details} with the neutral status. */
const ECHO_ERRORS = Object.fromEntries(
  ERROR_CODES.map((code) => [code, (e: ErrorInfo) => ({ status: HTTP_STATUS[code], body: { code, message: e.message, details: e.details } })]),
) as ErrorTable;

function echoDialect(image: ImageInputOptions): Dialect {
  const router = new Router({ prefix: '/echo' });
  router.all('/params', (ctx) => {
    const p = params(ctx);
    ctx.body = {
      int: p.int('int', { min: -5, max: 500 }),
      number: p.number('number'),
      bool: p.boolean('bool'),
      kind: p.enum('kind', ['fast', 'exact'] as const, { caseInsensitive: true }),
      list: p.list('list'),
      json: p.json('bbox'),
      string: p.string('name'),
      source: p.find('int')?.source ?? null,
    };
  });
  router.post('/required', (ctx) => {
    ctx.body = { n: params(ctx).int('n', { required: true }) };
  });
  router.post('/image', async (ctx) => {
    const bytes = await readImage(ctx, ['photo', 'image'], image);
    if (!bytes) throw new DomainError('MISSING_IMAGE', 'no image', { param: 'photo' });
    ctx.body = { bytes: bytes.length, first: bytes[0] };
  });
  router.get('/busy', () => {
    throw new DomainError('BUSY', 'queue full');
  });
  return {
    name: 'echo',
    prefixes: ['/echo'],
    renderError: tableRenderer(ECHO_ERRORS),
    router,
    cors: { allowHeaders: ['Authorization', 'TOKEN'] },
    // /<gateway>/echo/...: one segment in front of its prefix.
    pathAlias: (path) => /^\/[^/]+(\/echo(?:\/.*)?)$/.exec(path)?.[1],
  };
}

/** A dialect that does not ask for CORS (as a cookie-authenticated console must not). */
function consoleDialect(): Dialect {
  const router = new Router({ prefix: '/console' });
  router.get('/me', (ctx) => {
    ctx.body = { me: 'admin' };
  });
  return { name: 'console', prefixes: ['/console'], renderError: defaultRenderError, router };
}

interface Started {
  url: string;
  close(): Promise<void>;
}

async function listen(handler: http.RequestListener): Promise<Started> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function startApp(corsOrigins?: string[]): Promise<Started> {
  const image: ImageInputOptions = {
    maxBytes: MAX_IMAGE,
    url: { allowPrivate: true, allowHosts: [], timeoutMs: 5000, maxRedirects: 0 },
    valueSources: ['query', 'json', 'form', 'multipart'],
    rawBodyField: 'photo',
  };
  const app = createHttpApp({
    log: pino({ level: 'silent' }),
    maxBodyBytes: 256 * 1024,
    maxFileBytes: MAX_IMAGE,
    readiness: async () => ({ ready: true, checks: {} }),
    dialects: [echoDialect(image), consoleDialect()],
    cors: corsOrigins ? { origins: corsOrigins } : undefined,
  });
  return listen(app.callback());
}

async function call(url: string, init: RequestInit = {}): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const res = await fetch(url, { redirect: 'manual', ...init });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : {} };
}

const JPEG_LIKE = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4, 5, 6, 7, 8]);

describe('HTTP seams', () => {
  let app: Started;
  before(async () => {
    app = await startApp();
  });
  after(async () => app?.close());

  describe('parameters', () => {
    it('finds a parameter in the query string, a JSON body, a urlencoded form or a multipart field alike', async () => {
      const q = await call(`${app.url}/echo/params?int=7&bool=True&kind=FAST&list=a,%20b&bbox=%5B1,2,3,4%5D&name=%20Anne%20`);
      assert.equal(q.status, 200, JSON.stringify(q.body));
      assert.deepEqual(q.body, { int: 7, bool: true, kind: 'fast', list: ['a', 'b'], json: [1, 2, 3, 4], string: 'Anne', source: 'query' });

      const json = await call(`${app.url}/echo/params`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ int: 8, number: 0.25, bool: false, list: ['x', 'y'], bbox: { left: 1, top: 2, right: 3, bottom: 4 } }),
      });
      assert.deepEqual(json.body, { int: 8, number: 0.25, bool: false, list: ['x', 'y'], json: { left: 1, top: 2, right: 3, bottom: 4 }, source: 'json' });

      const form = await call(`${app.url}/echo/params`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'int=9&bool=yes&list=%5B%22g1%22%2C%22g2%22%5D&bbox=%7B%22left%22%3A5%7D',
      });
      assert.deepEqual(form.body, { int: 9, bool: true, list: ['g1', 'g2'], json: { left: 5 }, source: 'form' });

      const fd = new FormData();
      fd.append('int', '10');
      fd.append('bool', '0');
      fd.append('number', '-1.5e2');
      fd.append('bbox', '[0, 0, 10, 10]');
      const multipart = await call(`${app.url}/echo/params`, { method: 'POST', body: fd });
      assert.deepEqual(multipart.body, { int: 10, number: -150, bool: false, json: [0, 0, 10, 10], source: 'multipart' });

      // The query string comes first; a repeated query parameter is a list.
      const both = await call(`${app.url}/echo/params?int=1&list=a&list=b`, { method: 'POST', body: fd });
      assert.equal(both.body.int, 1);
      assert.deepEqual(both.body.list, ['a', 'b']);
    });

    it('reads booleans as true/false, 1/0, yes/no and Python True/False; blank values count as absent', async () => {
      for (const [text, value] of [
        ['true', true],
        ['False', false],
        ['TRUE', true],
        ['1', true],
        ['0', false],
        ['yes', true],
        ['No', false],
      ] as const) {
        assert.equal((await call(`${app.url}/echo/params?bool=${text}`)).body.bool, value, text);
      }
      assert.deepEqual((await call(`${app.url}/echo/params?&int=&bool=&kind=`)).body, { source: 'query' }, 'the Python SDK sends "?&"; blanks are unset');
    });

    it('fails with INVALID_ARGUMENT / MISSING_ARGUMENT naming the parameter, what was expected and what came', async () => {
      const cases: [string, string, string, unknown][] = [
        ['int=abc', 'int', 'an integer', 'abc'],
        ['int=2.5', 'int', 'an integer', '2.5'],
        ['int=501', 'int', 'an integer between -5 and 500', 501],
        ['number=1e', 'number', 'a number', '1e'],
        ['bool=maybe', 'bool', 'true or false', 'maybe'],
        ['kind=slow', 'kind', 'one of fast, exact', 'slow'],
        ['bbox=%7Bnot%20json', 'bbox', 'a JSON value', '{not json'],
      ];
      for (const [query, param, expected, value] of cases) {
        const r = await call(`${app.url}/echo/params?${query}`);
        assert.equal(r.status, 400, query);
        assert.equal(r.body.code, 'INVALID_ARGUMENT', query);
        assert.deepEqual(r.body.details, { param, expected, value }, query);
      }
      const bad = await call(`${app.url}/echo/params`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"int": "7x", "list": [{"a": 1}]}' });
      assert.equal(bad.status, 400);
      assert.deepEqual(bad.body.details, { param: 'int', expected: 'an integer', value: '7x' });
      const missing = await call(`${app.url}/echo/required`, { method: 'POST' });
      assert.equal(missing.status, 400);
      assert.equal(missing.body.code, 'MISSING_ARGUMENT');
      assert.deepEqual(missing.body.details, { param: 'n', expected: 'an integer', sources: ['query', 'json', 'form', 'multipart'] });
      assert.deepEqual((await call(`${app.url}/echo/required?n=3`, { method: 'POST' })).body, { n: 3 });
    });

    it('answers malformed JSON as MALFORMED_JSON, a bad form as MALFORMED_BODY, too big a body as BODY_TOO_LARGE', async () => {
      const json = await call(`${app.url}/echo/params`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"int": ' });
      assert.equal(json.body.code, 'MALFORMED_JSON');
      const big = await call(`${app.url}/echo/params`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ x: 'a'.repeat(300 * 1024) }) });
      assert.equal(big.status, 413);
      assert.equal(big.body.code, 'BODY_TOO_LARGE');
      const multipart = await call(`${app.url}/echo/params`, { method: 'POST', headers: { 'content-type': 'multipart/form-data; boundary=zzz' }, body: '--zzz\r\nbroken' });
      assert.equal(multipart.body.code, 'MALFORMED_BODY');
    });
  });

  describe('images', () => {
    let images: Started;
    before(async () => {
      images = await listen((req, res) => {
        if (req.url === '/face.jpg') return res.writeHead(200, { 'content-type': 'image/jpeg' }).end(JPEG_LIKE);
        if (req.url === '/moved') return res.writeHead(302, { location: '/face.jpg' }).end();
        res.writeHead(404).end();
      });
    });
    after(async () => images?.close());

    it('reads a multipart file, base64 (plain and data: URL) in JSON, form or query, and a raw image body', async () => {
      const fd = new FormData();
      fd.append('image', new Blob([new Uint8Array(JPEG_LIKE)]), 'face.jpg');
      const expect = { bytes: JPEG_LIKE.length, first: 0xff };
      assert.deepEqual((await call(`${app.url}/echo/image`, { method: 'POST', body: fd })).body, expect, 'multipart file, second field name');
      const b64 = JPEG_LIKE.toString('base64');
      const json = { method: 'POST', headers: { 'content-type': 'application/json' } };
      assert.deepEqual((await call(`${app.url}/echo/image`, { ...json, body: JSON.stringify({ photo: b64 }) })).body, expect, 'JSON base64');
      assert.deepEqual((await call(`${app.url}/echo/image`, { ...json, body: JSON.stringify({ photo: `data:image/jpeg;base64,${b64}` }) })).body, expect, 'data: URL');
      const form = new URLSearchParams({ photo: b64 });
      assert.deepEqual((await call(`${app.url}/echo/image`, { method: 'POST', body: form })).body, expect, 'urlencoded base64');
      const fd2 = new FormData();
      fd2.append('photo', b64);
      assert.deepEqual((await call(`${app.url}/echo/image`, { method: 'POST', body: fd2 })).body, expect, 'multipart text field base64');
      assert.deepEqual((await call(`${app.url}/echo/image?photo=${encodeURIComponent(b64)}`, { method: 'POST' })).body, expect, 'query base64');
      for (const type of ['image/jpeg', 'image/png', 'application/octet-stream']) {
        const raw = await call(`${app.url}/echo/image`, { method: 'POST', headers: { 'content-type': type }, body: new Uint8Array(JPEG_LIKE) });
        assert.deepEqual(raw.body, expect, `raw ${type}`);
      }
    });

    it('refuses a raw image over the image limit as IMAGE_TOO_LARGE, and a request without an image as MISSING_IMAGE', async () => {
      const big = await call(`${app.url}/echo/image`, { method: 'POST', headers: { 'content-type': 'image/jpeg' }, body: new Uint8Array(MAX_IMAGE + 1) });
      assert.equal(big.body.code, 'IMAGE_TOO_LARGE');
      assert.deepEqual(big.body.details, { limit: MAX_IMAGE });
      assert.equal((await call(`${app.url}/echo/image`, { method: 'POST', headers: { 'content-type': 'image/jpeg' }, body: new Uint8Array(MAX_IMAGE) })).status, 200);
      assert.equal((await call(`${app.url}/echo/image`, { method: 'POST' })).body.code, 'MISSING_IMAGE');
    });

    it('fetches a direct image URL; refuses a redirect where the dialect wants direct URLs, follows it otherwise', async () => {
      const direct = await call(`${app.url}/echo/image`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ photo: `${images.url}/face.jpg` }) });
      assert.deepEqual(direct.body, { bytes: JPEG_LIKE.length, first: 0xff });
      const moved = await call(`${app.url}/echo/image`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ photo: `${images.url}/moved` }) });
      assert.equal(moved.body.code, 'IMAGE_URL_REFUSED');
      const followed = await fetchImage(`${images.url}/moved`, MAX_IMAGE, { allowPrivate: true, allowHosts: [], timeoutMs: 5000 });
      assert.ok(followed.equals(JPEG_LIKE));
      await assert.rejects(fetchImage(`${images.url}/moved`, MAX_IMAGE, { allowPrivate: false, allowHosts: [], timeoutMs: 5000 }), (e: unknown) => (e as DomainError).code === 'IMAGE_URL_REFUSED');
    });
  });

  describe('paths', () => {
    it('answers with and without a trailing slash, and never redirects a POST', async () => {
      for (const path of ['/echo/params?int=3', '/echo/params/?int=3', '/echo/params//?int=3']) {
        const get = await call(`${app.url}${path}`);
        assert.equal(get.status, 200, path);
        assert.equal(get.body.int, 3);
        const post = await call(`${app.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"bool": true}' });
        assert.equal(post.status, 200, `POST ${path}`);
        assert.equal(post.body.bool, true);
      }
      assert.equal((await call(`${app.url}/healthz/`)).status, 200);
    });

    it('answers a dialect\'s path alias, but never one under another dialect\'s prefix', async () => {
      const aliased = await call(`${app.url}/gw/echo/params/?int=4`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"bool": true}' });
      assert.equal(aliased.status, 200);
      assert.deepEqual([aliased.body.int, aliased.body.bool], [4, true]);
      assert.equal((await call(`${app.url}/gw/echo/nothing`)).body.code, 'NOT_FOUND', 'in the dialect\'s format');
      // /console is the console's: its own 404, not the echo route.
      const owned = await call(`${app.url}/console/echo/params?int=4`);
      assert.equal(owned.status, 404);
      assert.equal(owned.body.int, undefined);
      assert.equal((await call(`${app.url}/gw/echoes/params`)).status, 404);
    });

    it('answers an unknown path 404 and a known path with another method 405, in the dialect format', async () => {
      const missing = await call(`${app.url}/echo/nothing-here`);
      assert.equal(missing.status, 404);
      assert.equal(missing.body.code, 'NOT_FOUND');
      const wrongMethod = await call(`${app.url}/echo/required`);
      assert.equal(wrongMethod.status, 405);
      assert.equal(wrongMethod.body.code, 'METHOD_NOT_ALLOWED');
      const outside = await call(`${app.url}/elsewhere`);
      assert.deepEqual(outside.body, { error: { code: 'NOT_FOUND', message: 'no such endpoint: GET /elsewhere' } });
    });
  });

  describe('CORS', () => {
    const preflight = (url: string, origin = 'http://localhost:5500') =>
      fetch(url, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
      });

    it('answers a browser preflight on a dialect path with its auth headers, any origin by default', async () => {
      const res = await preflight(`${app.url}/echo/image`);
      assert.equal(res.status, 204);
      assert.equal(res.headers.get('access-control-allow-origin'), '*');
      const allowed = (res.headers.get('access-control-allow-headers') ?? '').toLowerCase().split(',');
      for (const h of ['authorization', 'token', 'content-type']) assert.ok(allowed.includes(h), `${h} in ${allowed}`);
      assert.match(res.headers.get('access-control-allow-methods') ?? '', /POST/);
      assert.equal(res.headers.get('access-control-allow-credentials'), null, 'never with cookies');
      // The actual request, and an error answer too, carry the header so the page can read them.
      const ok = await fetch(`${app.url}/echo/params?int=1`, { headers: { origin: 'http://localhost:5500' } });
      assert.equal(ok.headers.get('access-control-allow-origin'), '*');
      assert.match(ok.headers.get('access-control-expose-headers') ?? '', /X-Request-Id/i);
      const failed = await fetch(`${app.url}/echo/busy`, { headers: { origin: 'http://localhost:5500' } });
      assert.equal(failed.status, 503);
      assert.equal(failed.headers.get('access-control-allow-origin'), '*');
      assert.equal(failed.headers.get('retry-after'), '1');
    });

    it('gives no CORS to paths outside the dialects that ask for it', async () => {
      for (const path of ['/console/me', '/healthz', '/elsewhere']) {
        const res = await preflight(`${app.url}${path}`);
        assert.equal(res.headers.get('access-control-allow-origin'), null, path);
        const get = await fetch(`${app.url}${path}`, { headers: { origin: 'http://evil.example' } });
        assert.equal(get.headers.get('access-control-allow-origin'), null, path);
      }
    });

    it('allows only the configured origins, or none', async () => {
      const listed = await startApp(['https://app.example.com']);
      const none = await startApp([]);
      try {
        const yes = await preflight(`${listed.url}/echo/image`, 'https://app.example.com');
        assert.equal(yes.status, 204);
        assert.equal(yes.headers.get('access-control-allow-origin'), 'https://app.example.com');
        assert.match(yes.headers.get('vary') ?? '', /Origin/);
        const other = await fetch(`${listed.url}/echo/params`, { headers: { origin: 'https://other.example.com' } });
        assert.equal(other.headers.get('access-control-allow-origin'), null);
        const off = await fetch(`${none.url}/echo/params`, { headers: { origin: 'https://app.example.com' } });
        assert.equal(off.headers.get('access-control-allow-origin'), null);
      } finally {
        await listed.close();
        await none.close();
      }
    });
  });

  it('CORS_ORIGINS takes "*", exact origins or nothing, and names itself on a bad value', () => {
    assert.deepEqual(loadConfig({}).corsOrigins, ['*']);
    assert.deepEqual(loadConfig({ CORS_ORIGINS: 'https://app.example.com, http://localhost:3000' }).corsOrigins, ['https://app.example.com', 'http://localhost:3000']);
    assert.deepEqual(loadConfig({ CORS_ORIGINS: '' }).corsOrigins, []);
    for (const bad of ['app.example.com', 'https://app.example.com/page', 'ftp://files.example.com']) {
      assert.throws(() => loadConfig({ CORS_ORIGINS: bad }), (e: unknown) => e instanceof ConfigError && e.variable === 'CORS_ORIGINS', bad);
    }
  });

  describe('error tables', () => {
    const tables: [string, ErrorTable][] = [
      ['compreface', COMPREFACE_ERRORS],
      ['echo', ECHO_ERRORS],
    ];

    it('every dialect renders every code (domain and HTTP) with an error status, BUSY, UNAVAILABLE and AUTH_THROTTLED with Retry-After', () => {
      for (const [name, table] of tables) {
        const render = tableRenderer(table);
        for (const code of ERROR_CODES) {
          const err = isHttpCode(code) ? new HttpError(code, `a ${code}`) : new DomainError(code as DomainErrorCode, `a ${code}`);
          const r = render(err);
          assert.ok(r.status >= 400 && r.status < 600, `${name} ${code}: ${r.status}`);
          assert.ok(r.body !== undefined, `${name} ${code}`);
          if (code === 'BUSY' || code === 'UNAVAILABLE') assert.equal(r.headers?.['Retry-After'], '1', `${name} ${code}`);
        }
        // A blocked address: 429 and the rest of its block.
        const throttled = render(new DomainError('AUTH_THROTTLED', 'blocked', { retryAfterSeconds: 42 }));
        assert.equal(throttled.status, 429, name);
        assert.equal(throttled.headers?.['Retry-After'], '42', name);
      }
    });

    it('an unmapped code cannot slip through: a table missing one is refused at start, an unknown code renders as internal', () => {
      const partial = { ...COMPREFACE_ERRORS } as Partial<ErrorTable>;
      delete partial.FORBIDDEN;
      assert.throws(() => tableRenderer(partial as ErrorTable), /does not map FORBIDDEN/);
      const bogus = new DomainError('NO_SUCH_CODE' as ErrorCode as never, 'made up');
      assert.deepEqual(renderCompreFaceError(bogus), { status: 500, body: { message: 'Something went wrong, please try again', code: 0 } });
      assert.equal(defaultRenderError(bogus).status, 500);
      assert.equal(defaultRenderError(new Error('secret internals')).status, 500);
      assert.deepEqual(defaultRenderError(new Error('secret internals')).body, { error: { code: 'INTERNAL', message: 'internal error' } });
    });
  });
});
