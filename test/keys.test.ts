// Keys while the server runs, on both stores: the CLI (in its own process and in this one) creates, lists and
// revokes keys through the running server's admin API, and each takes effect at once; with the server stopped
// it works on the database itself. Every credential kind authenticates through its scheme (a small app mounts
// src/http/auth.ts on the server's own KeyService, as a dialect would), scopes and collections are enforced,
// and the admin API refuses a missing or wrong secret.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import Router from '@koa/router';
import Koa from 'koa';
import { isDomainError } from '../src/domain/errors';
import type { KeyKind, KeyService } from '../src/domain/keys';
import { grantOf, keyAuth, requireCollection, requireScope, type AuthScheme } from '../src/http/auth';
import type { RunningServer } from '../src/server';
import { cliEnv, runCli, spawnCli } from './support/cli';
import { startTestServer } from './support/server';
import { forEachStore } from './support/stores';

interface Reply {
  status: number;
  body: Record<string, unknown>;
}

function adminSecret(dataDir: string): string {
  return fs.readFileSync(path.join(dataDir, 'admin-secret'), 'utf8').trim();
}

async function admin(base: string, secret: string | null, method: string, route: string, body?: unknown): Promise<Reply> {
  const res = await fetch(`${base}/admin/v1${route}`, {
    method,
    headers: { ...(secret !== null ? { authorization: `Bearer ${secret}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** GET with headers; the JSON body. */
async function get(url: string, headers: Record<string, string> = {}): Promise<Reply> {
  const res = await fetch(url, { headers });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const compreFaceSubjects = (server: RunningServer, key: string) => get(`${server.url}/api/v1/recognition/subjects`, { 'x-api-key': key });

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

const STATUS: Record<string, number> = { KEY_MISSING: 401, KEY_MALFORMED: 401, KEY_INVALID: 401, FORBIDDEN: 403, COLLECTION_NOT_FOUND: 404 };

/**
 * What a dialect would mount: one route per credential kind with its scheme(s), a route needing the write
 * scope, and one reading a collection by id. Errors come back as {code}.
 */
async function startSchemeApp(keys: KeyService): Promise<{ url: string; close(): Promise<void> }> {
  const app = new Koa();
  app.use(async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      if (!isDomainError(err)) throw err;
      ctx.status = STATUS[err.code] ?? 400;
      ctx.body = { code: err.code };
    }
  });
  const router = new Router();
  const routes: [string, AuthScheme[], KeyKind[]][] = [
    ['/findface', ['token'], ['findface']],
    ['/imageapi', ['bearer', 'token-header'], ['imageapi']],
    ['/faceintellect', ['basic'], ['faceintellect']],
    ['/scans/token', ['basic'], ['scans']],
  ];
  for (const [route, schemes, kinds] of routes) {
    const auth = keyAuth({ keys, schemes, kinds });
    router.get(route, auth, (ctx) => {
      ctx.body = grantOf(ctx);
    });
    router.post(`${route}/write`, auth, requireScope('write'), (ctx) => {
      ctx.body = { written: true };
    });
    router.get(`${route}/collections/:id`, auth, (ctx) => {
      requireCollection(ctx, Number(ctx.params.id));
      ctx.body = { collection: Number(ctx.params.id) };
    });
  }
  app.use(router.routes());
  const server = http.createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('keys while the server runs', function () {
  this.timeout(180_000);

  forEachStore((name, store) => {
    let server: RunningServer;
    let env: Record<string, string>;
    let secret: string;

    before(async function () {
      this.timeout(120_000);
      const { dataDir, databaseUrl } = store.location;
      server = await startTestServer({ DATA_DIR: dataDir, ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}) });
      env = cliEnv(store.location);
      secret = adminSecret(dataDir);
    });
    after(async () => server?.close());

    it('the CLI in another process creates a key the server accepts at once, lists it, revokes it at once', async () => {
      const created = await spawnCli(env, 'keys', 'create', '--service', 'recognition', '--collection', `front-door-${name}`);
      assert.equal(created.code, 0, created.err.join('\n'));
      const key = created.out[0];
      assert.match(key, /^[0-9a-f-]{36}$/);
      assert.match(created.err.join('\n'), new RegExp(`owns collection "front-door-${name}".*through the server at http://127\\.0\\.0\\.1:${server.port}`));
      assert.deepEqual(await compreFaceSubjects(server, key), { status: 200, body: { subjects: [] } });

      const listed = await spawnCli(env, 'keys', 'list');
      assert.equal(listed.code, 0);
      const line = listed.out.find((l) => l.startsWith(key.slice(0, 8)));
      assert.match(line ?? '', new RegExp(`kind=recognition collections=front-door-${name} scopes=detect,verify,identify,read,write`));
      assert.ok(!listed.out.join('\n').includes(key), 'a listing never shows a whole key');

      const revoked = await spawnCli(env, 'keys', 'revoke', key.slice(0, 8));
      assert.equal(revoked.code, 0, revoked.err.join('\n'));
      assert.match(revoked.out[0], /^revoked /);
      const refused = await compreFaceSubjects(server, key);
      assert.equal(refused.status, 404);
      assert.equal(refused.body.code, 10);
    });

    it('the admin API refuses a missing or wrong secret, and manages keys and collections with the right one', async () => {
      const missing = await admin(server.url, null, 'GET', '/keys');
      assert.equal(missing.status, 401);
      assert.equal((missing.body.error as { code: string }).code, 'KEY_MISSING');
      const wrong = await admin(server.url, secret.replace(/.$/, (c) => (c === 'a' ? 'b' : 'a')), 'GET', '/keys');
      assert.equal(wrong.status, 401);
      assert.equal((wrong.body.error as { code: string }).code, 'KEY_INVALID');
      assert.equal((await admin(server.url, secret, 'POST', '/keys', { kind: 'findface', user: 'x' })).status, 400);
      assert.equal((await admin(server.url, secret, 'POST', '/keys', { kind: 'nonsense' })).status, 400);
      assert.equal((await admin(server.url, secret, 'POST', '/keys', {})).status, 400);

      const made = await admin(server.url, secret, 'POST', '/collections', { name: 'lobby' });
      assert.equal(made.status, 201);
      assert.equal((await admin(server.url, secret, 'POST', '/collections', { name: 'lobby' })).status, 409);
      const collections = await admin(server.url, secret, 'GET', '/collections');
      assert.ok((collections.body.collections as { name: string; faces: number }[]).some((c) => c.name === 'lobby' && c.faces === 0));

      const created = await admin(server.url, secret, 'POST', '/keys', { kind: 'detection' });
      assert.equal(created.status, 201);
      const key = created.body.key as string;
      assert.deepEqual((created.body.info as { scopes: string[] }).scopes, ['detect']);
      const listed = await admin(server.url, secret, 'GET', '/keys');
      assert.ok((listed.body.keys as { prefix: string }[]).some((k) => k.prefix === key.slice(0, 8)));
      assert.ok(!JSON.stringify(listed.body).includes(key));
      const revoked = await admin(server.url, secret, 'POST', '/keys/revoke', { key });
      assert.equal((revoked.body.revoked as unknown[]).length, 1);
      assert.deepEqual((await admin(server.url, secret, 'POST', '/keys/revoke', { key })).body, { revoked: [] });
      const all = await admin(server.url, secret, 'GET', '/keys?all=true');
      assert.ok((all.body.keys as { prefix: string; revokedAt: string | null }[]).some((k) => k.prefix === key.slice(0, 8) && k.revokedAt));
    });

    it('each credential kind authenticates through its own scheme, and a revocation holds at once', async () => {
      const app = await startSchemeApp(server.services.keys);
      try {
        const create = async (body: Record<string, unknown>) => {
          const r = await admin(server.url, secret, 'POST', '/keys', body);
          assert.equal(r.status, 201, JSON.stringify(r.body));
          return { key: r.body.key as string, info: r.body.info as { user: string | null; collections: string[]; scopes: string[] } };
        };
        const findface = await create({ kind: 'findface', collections: ['gallery-a', 'gallery-b'] });
        const imageapi = await create({ kind: 'imageapi' });
        const faceintellect = await create({ kind: 'faceintellect', user: `operator-${name}` });
        const scans = await create({ kind: 'scans' });
        assert.equal(findface.key.length, 32);
        assert.deepEqual(findface.info.collections, ['gallery-a', 'gallery-b']);
        assert.equal(faceintellect.info.user, `operator-${name}`);
        assert.match(scans.info.user ?? '', /^scans-[0-9a-f]{8}$/);
        assert.deepEqual(imageapi.info.collections, []);

        // FindFace: Authorization: Token.
        const ff = await get(`${app.url}/findface`, { authorization: `Token ${findface.key}` });
        assert.equal(ff.status, 200);
        assert.equal(ff.body.kind, 'findface');
        assert.equal((ff.body.collectionIds as number[]).length, 2);
        assert.equal((await get(`${app.url}/findface`)).body.code, 'KEY_MISSING');
        assert.equal((await get(`${app.url}/findface`, { authorization: `Bearer ${findface.key}` })).body.code, 'KEY_MALFORMED');
        assert.equal((await get(`${app.url}/findface`, { authorization: `Token ${imageapi.key}` })).body.code, 'KEY_INVALID');
        assert.equal((await get(`${app.url}/findface`, { authorization: `Token ${findface.key}x` })).body.code, 'KEY_INVALID');
        assert.equal((await get(`${app.url}/findface`, { authorization: 'Token' })).body.code, 'KEY_MALFORMED');

        // Image API: Authorization: Bearer, or a TOKEN header.
        assert.equal((await get(`${app.url}/imageapi`, { authorization: `Bearer ${imageapi.key}` })).body.kind, 'imageapi');
        assert.equal((await get(`${app.url}/imageapi`, { TOKEN: imageapi.key })).body.kind, 'imageapi');
        assert.equal((await get(`${app.url}/imageapi`, { TOKEN: findface.key })).body.code, 'KEY_INVALID');

        // Face Intellect: HTTP Basic, the password being the secret, with its own user only.
        assert.equal((await get(`${app.url}/faceintellect`, { authorization: basic(`operator-${name}`, faceintellect.key) })).body.kind, 'faceintellect');
        assert.equal((await get(`${app.url}/faceintellect`, { authorization: basic('someone-else', faceintellect.key) })).body.code, 'KEY_INVALID');
        assert.equal((await get(`${app.url}/faceintellect`, { authorization: 'Basic not*base64' })).body.code, 'KEY_MALFORMED');
        assert.equal((await get(`${app.url}/faceintellect`, { authorization: `Basic ${Buffer.from('nocolon').toString('base64')}` })).body.code, 'KEY_MALFORMED');

        // Scan API: the OAuth2 client's id and secret (client_secret_basic), and the check its token endpoint will call.
        assert.equal((await get(`${app.url}/scans/token`, { authorization: basic(scans.info.user!, scans.key) })).body.kind, 'scans');
        assert.equal((await server.services.keys.verifyClientSecret(scans.info.user!, scans.key, ['scans'])).kind, 'scans');
        await assert.rejects(server.services.keys.verifyClientSecret('scans-00000000', scans.key, ['scans']), (e) => isDomainError(e, 'KEY_INVALID'));
        await assert.rejects(server.services.keys.verifyClientSecret(scans.info.user!, findface.key, ['scans']), (e) => isDomainError(e, 'KEY_INVALID'));

        // Revoked through the admin API: refused at once, though the lookup was just cached.
        assert.equal((await get(`${app.url}/findface`, { authorization: `Token ${findface.key}` })).status, 200);
        const revoked = await runCli(env, 'keys', 'revoke', findface.key);
        assert.equal(revoked.code, 0, revoked.err.join('\n'));
        assert.equal((await get(`${app.url}/findface`, { authorization: `Token ${findface.key}` })).body.code, 'KEY_INVALID');
        // By its user, too.
        assert.equal((await runCli(env, 'keys', 'revoke', `operator-${name}`)).code, 0);
        assert.equal((await get(`${app.url}/faceintellect`, { authorization: basic(`operator-${name}`, faceintellect.key) })).body.code, 'KEY_INVALID');
      } finally {
        await app.close();
      }
    });

    it('scopes and collections are enforced', async () => {
      const app = await startSchemeApp(server.services.keys);
      try {
        const created = await runCli(env, 'keys', 'create', '--kind', 'findface', '--scope', 'read,identify', '--collection', 'mine', '--collection', 'shared');
        assert.equal(created.code, 0, created.err.join('\n'));
        const token = { authorization: `Token ${created.out[0]}` };
        const grant = (await get(`${app.url}/findface`, token)).body as { scopes: string[]; collectionIds: number[] };
        assert.deepEqual(grant.scopes, ['read', 'identify']);
        const [mine, shared] = grant.collectionIds;
        const res = await fetch(`${app.url}/findface/write`, { method: 'POST', headers: token });
        assert.equal(res.status, 403);
        assert.equal(((await res.json()) as { code: string }).code, 'FORBIDDEN');
        assert.equal((await get(`${app.url}/findface/collections/${shared}`, token)).status, 200);
        assert.equal((await get(`${app.url}/findface/collections/${mine}`, token)).status, 200);

        // A collection another key sees, and one that does not exist, look alike.
        const other = await runCli(env, 'keys', 'create', '--kind', 'findface', '--collection', 'theirs');
        const theirs = ((await get(`${app.url}/findface`, { authorization: `Token ${other.out[0]}` })).body.collectionIds as number[])[0];
        assert.deepEqual(await get(`${app.url}/findface/collections/${theirs}`, token), { status: 404, body: { code: 'COLLECTION_NOT_FOUND' } });
        assert.deepEqual(await get(`${app.url}/findface/collections/99999999`, token), { status: 404, body: { code: 'COLLECTION_NOT_FOUND' } });
        const full = await server.services.keys.authenticate(created.out[0], ['findface']);
        assert.equal(await server.services.keys.collectionByName(full, 'shared'), shared);
        await assert.rejects(server.services.keys.collectionByName(full, 'theirs'), (e) => isDomainError(e, 'COLLECTION_NOT_FOUND'));

        // CompreFace: a read-only recognition key lists subjects but may not add one; the default scopes may.
        const readOnly = (await runCli(env, 'keys', 'create', '--service', 'recognition', '--scope', 'read')).out[0];
        assert.equal((await compreFaceSubjects(server, readOnly)).status, 200);
        const post = (key: string) =>
          fetch(`${server.url}/api/v1/recognition/subjects`, {
            method: 'POST',
            headers: { 'x-api-key': key, 'content-type': 'application/json' },
            body: JSON.stringify({ subject: 'Ann' }),
          });
        assert.equal((await post(readOnly)).status, 403);
        const full2 = (await runCli(env, 'keys', 'create', '--service', 'recognition')).out[0];
        assert.equal((await post(full2)).status, 201);
      } finally {
        await app.close();
      }
    });

    it('with the server stopped the CLI works on the database itself, and the restarted server honours it', async function () {
      this.timeout(180_000);
      const before = await runCli(env, 'keys', 'create', '--service', 'recognition');
      assert.equal(before.code, 0);
      await server.close();
      assert.ok(!fs.existsSync(path.join(store.location.dataDir, 'server.json')), 'a stopped server leaves no server file');

      const created = await runCli(env, 'keys', 'create', '--service', 'recognition', '--collection', 'while-stopped');
      assert.equal(created.code, 0, created.err.join('\n'));
      assert.match(created.err.join('\n'), name === 'embedded' ? /through the data folder / : /through the database postgres:\/\//);
      const revoked = await runCli(env, 'keys', 'revoke', before.out[0]);
      assert.equal(revoked.code, 0, revoked.err.join('\n'));
      const listed = await runCli(env, 'keys', 'list');
      assert.ok(listed.out.some((l) => l.includes('collections=while-stopped')));

      const { dataDir, databaseUrl } = store.location;
      server = await startTestServer({ DATA_DIR: dataDir, ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}) });
      assert.equal(adminSecret(dataDir), secret, 'the admin secret survives a restart');
      assert.equal((await compreFaceSubjects(server, created.out[0])).status, 200);
      assert.equal((await compreFaceSubjects(server, before.out[0])).status, 404);
    });
  });
});
