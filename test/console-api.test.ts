// The console's own endpoints over HTTP, on both stores: the page under a proxy prefix, no CORS, sign-in
// (admin secret, operator accounts, throttling), sessions (stored hashed, idle and absolute expiry, sign-out),
// CSRF, every API call authorized; collections, persons, enrolment outcomes, search, merge; event thumbnails
// (written with the event, gone with it); face crops when photos are not kept; `faceserver operators`.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import sharp from 'sharp';
import type { RunningServer } from '../src/server';
import { OperatorAccounts } from '../src/console/accounts';
import { operatorsCommand } from '../src/console/cli';
import { ThumbnailingEventSink } from '../src/console/event-thumbnails';
import { FaceCropper, squareAround } from '../src/console/thumbnails';
import { deleteEventsOlderThan, type NewRecognitionEvent } from '../src/store/events';
import { openDb } from '../src/store/db';
import { identificationSet, photo, requireFacedata } from './support/compreface';
import { createTempDatabase, requirePostgres, type TempDatabase } from './support/postgres';
import { migratedDataDir, startTestServer, tempDir } from './support/server';
import { ADMIN_SECRET, ConsoleClient, ensureConsoleBuilt, outcomePhotos } from './console-helpers';

const sha256 = (s: string) => crypto.createHash('sha256').update(s).digest();

for (const store of [{ name: 'embedded' }, { name: 'postgres' }]) {
  describe(`console API (${store.name})`, function () {
    this.timeout(180_000);
    let server: RunningServer | undefined;
    let temp: TempDatabase | undefined;
    let dataDir = '';
    let base = '';
    const { people } = identificationSet(2);

    before(async function () {
      requireFacedata(this);
      ensureConsoleBuilt();
      if (store.name === 'postgres') temp = await createTempDatabase(requirePostgres(this));
      dataDir = temp ? tempDir() : await migratedDataDir();
      server = await startTestServer({ ADMIN_SECRET, DATA_DIR: dataDir, ...(temp ? { DATABASE_URL: temp.url } : {}) });
      base = server.url;
    });
    after(async () => {
      await server?.close();
      await temp?.drop();
      if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    });

    it('serves the page with a <base> for the proxy prefix, strict headers and no CORS', async () => {
      let res = await fetch(`${base}/console`);
      assert.equal(res.status, 200);
      assert.match(await res.text(), /<base href="\/console\/"/);
      assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'self'.*frame-ancestors 'none'/);
      assert.equal(res.headers.get('x-frame-options'), 'DENY');
      res = await fetch(`${base}/console/`, { headers: { 'x-forwarded-prefix': '/faces/' } });
      assert.match(await res.text(), /<base href="\/faces\/console\/"/);
      res = await fetch(`${base}/console`, { headers: { 'x-forwarded-prefix': '/x"><script>alert(1)</script>' } });
      assert.match(await res.text(), /<base href="\/console\/"/, 'a malformed prefix is ignored');
      res = await fetch(`${base}/console/app.js`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /javascript/);
      // No CORS: neither a preflight nor an answer lets another origin's script read the console.
      res = await fetch(`${base}/console/api/session`, {
        method: 'OPTIONS',
        headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
      });
      assert.equal(res.headers.get('access-control-allow-origin'), null);
      res = await fetch(`${base}/console/api/session`, { headers: { origin: 'https://evil.example' } });
      assert.equal(res.headers.get('access-control-allow-origin'), null);
      assert.equal(res.headers.get('access-control-allow-credentials'), null);
    });

    it('answers every API call without a session with 401', async () => {
      const calls: [string, string][] = [
        ['GET', 'session'],
        ['DELETE', 'session'],
        ['GET', 'collections'],
        ['POST', 'collections'],
        ['PATCH', 'collections/1'],
        ['DELETE', 'collections/1'],
        ['GET', 'persons'],
        ['POST', 'persons'],
        ['GET', 'persons/1'],
        ['PATCH', 'persons/1'],
        ['POST', 'persons/1/merge'],
        ['DELETE', 'persons/1'],
        ['POST', 'enrol'],
        ['DELETE', 'faces/1'],
        ['GET', 'faces/1/thumbnail'],
        ['POST', 'search'],
        ['POST', 'verify'],
        ['GET', 'events'],
        ['GET', 'events/stats'],
        ['GET', 'events/facets'],
        ['GET', 'events/1/thumbnail'],
        ['GET', 'keys'],
        ['POST', 'keys'],
        ['POST', 'keys/1/revoke'],
        ['GET', 'status'],
      ];
      const forged = new ConsoleClient(base);
      forged.cookie = `faceserver_console=${crypto.randomBytes(32).toString('base64url')}`;
      for (const client of [new ConsoleClient(base), forged]) {
        for (const [method, p] of calls) {
          const r = await client.call(method, p, { json: method === 'GET' ? undefined : {} });
          assert.equal(r.status, 401, `${method} ${p}`);
          assert.equal(r.body.error.code, 'SIGN_IN_REQUIRED', `${method} ${p}`);
        }
      }
    });

    it('signs in with the admin secret: an HttpOnly, SameSite=Strict cookie whose token is stored only as its hash', async () => {
      const c = new ConsoleClient(base);
      assert.equal((await c.signIn({ secret: 'not-the-secret-at-all' })).status, 401);
      const r = await c.call('POST', 'session', { json: { secret: ADMIN_SECRET }, headers: { 'x-forwarded-prefix': '/faces', 'x-forwarded-proto': 'https' } });
      assert.equal(r.status, 200);
      assert.equal(r.body.user, 'admin');
      const cookie = r.headers.get('set-cookie')!;
      assert.match(cookie, /^faceserver_console=[A-Za-z0-9_-]{43}; Path=\/faces\/console; HttpOnly; SameSite=Strict; Secure$/);
      const token = cookie.split(';')[0].split('=')[1];
      const rows = await server!.db.query<{ token_hash: Buffer }>('SELECT token_hash FROM console_sessions');
      assert.ok(rows.rows.some((row) => row.token_hash.equals(sha256(token))));
      assert.ok(!rows.rows.some((row) => row.token_hash.toString('latin1').includes(token)));
      const again = await c.signIn();
      assert.equal(again.headers.get('set-cookie')!.includes('Secure'), false, 'plain HTTP: no Secure flag');
      assert.equal((await c.get('session')).body.user, 'admin');
    });

    it('refuses changes without the CSRF token, requests from other sites, and form sign-ins', async () => {
      const c = new ConsoleClient(base);
      await c.signIn();
      assert.equal((await c.call('POST', 'collections', { json: { name: 'csrf-a' }, csrf: false })).body.error.code, 'CSRF');
      assert.equal((await c.call('POST', 'collections', { json: { name: 'csrf-a' }, headers: { 'x-csrf-token': 'x'.repeat(43) }, csrf: false })).status, 403);
      assert.equal((await c.call('POST', 'collections', { json: { name: 'csrf-a' }, headers: { 'sec-fetch-site': 'cross-site' } })).status, 403);
      assert.equal((await c.call('GET', 'collections', { headers: { 'sec-fetch-site': 'same-site' } })).status, 403);
      assert.equal((await c.call('POST', 'collections', { json: { name: 'csrf-a' }, headers: { 'sec-fetch-site': 'same-origin' } })).status, 201);
      const form = await fetch(`${base}/console/api/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `secret=${encodeURIComponent(ADMIN_SECRET)}`,
      });
      assert.equal(form.status, 403);
      assert.equal(form.headers.get('set-cookie'), null);
    });

    it('ends sessions after the idle time, at their end, and at sign-out', async () => {
      const c = new ConsoleClient(base);
      await c.signIn();
      const hash = sha256(c.cookie.split('=')[1]);
      await server!.db.query(`UPDATE console_sessions SET last_seen_at = now() - interval '31 minutes' WHERE token_hash = $1`, [hash]);
      assert.equal((await c.get('collections')).status, 401);
      assert.equal((await server!.db.query('SELECT 1 FROM console_sessions WHERE token_hash = $1', [hash])).rows.length, 0, 'the expired session is deleted');
      await c.signIn();
      await server!.db.query(`UPDATE console_sessions SET expires_at = now() - interval '1 second' WHERE token_hash = $1`, [sha256(c.cookie.split('=')[1])]);
      assert.equal((await c.get('collections')).status, 401);
      await c.signIn();
      assert.equal((await c.get('collections')).status, 200);
      const out = await c.call('DELETE', 'session');
      assert.equal(out.status, 204);
      assert.match(out.headers.get('set-cookie') ?? '', /Max-Age=0/);
      assert.equal((await c.get('collections')).status, 401);
    });

    it('signs operators in with scrypt-hashed passwords, and throttles guessing', async () => {
      const accounts = new OperatorAccounts(server!.db);
      await accounts.create('olga', 'a long passphrase');
      const stored = (await server!.db.query<{ password_hash: string }>(`SELECT password_hash FROM console_operators WHERE username = 'olga'`)).rows[0].password_hash;
      assert.match(stored, /^scrypt\$14\$8\$1\$/);
      assert.ok(!stored.includes('a long passphrase'));
      const c = new ConsoleClient(base);
      assert.equal((await c.signIn({ username: 'olga', password: 'a long passphrase' })).body.user, 'olga');
      assert.equal((await c.signIn({ username: 'olga', password: 'wrong passphrase' })).body.error.code, 'SIGN_IN_FAILED');
      assert.equal((await c.signIn({ username: 'nobody', password: 'whatever it is' })).body.error.code, 'SIGN_IN_FAILED');
      await accounts.create('guessed', 'the real passphrase');
      for (let i = 0; i < 5; i++) assert.equal((await c.signIn({ username: 'guessed', password: `guess ${i}` })).status, 401);
      const locked = await c.signIn({ username: 'guessed', password: 'the real passphrase' });
      assert.equal(locked.status, 429);
      assert.ok(Number(locked.headers.get('retry-after')) > 0);
      // A new password ends the operator's sessions; removing the operator too.
      await c.signIn({ username: 'olga', password: 'a long passphrase' });
      await accounts.setPassword('olga', 'another long passphrase');
      assert.equal((await c.get('collections')).status, 401);
      await c.signIn({ username: 'olga', password: 'another long passphrase' });
      await accounts.remove('olga');
      assert.equal((await c.get('collections')).status, 401);
    });

    it('manages collections and persons, tells each enrolment outcome, searches, merges', async () => {
      const c = new ConsoleClient(base);
      await c.signIn();
      const col = (await c.call('POST', 'collections', { json: { name: `lobby-${store.name}` } })).body.collection;
      assert.equal((await c.call('POST', 'collections', { json: { name: `lobby-${store.name}` } })).status, 409);
      const [a, b] = people;
      const enrol = (bytes: Buffer, name: string) => c.upload('enrol', { file: bytes }, { collection: String(col.id), name });
      const first = await enrol(photo(a.gallery), 'Person A');
      assert.equal(first.status, 201);
      assert.equal(first.body.outcome, 'enrolled');
      const odd = await outcomePhotos();
      for (const [bytes, outcome] of [
        [odd.noFace, 'no_face'],
        [odd.severalFaces, 'several_faces'],
        [odd.lowQuality, 'low_quality'],
        [odd.unreadable, 'unreadable'],
      ] as const) {
        const r = await enrol(bytes, 'Nobody');
        assert.equal(r.status, 422, outcome);
        assert.equal(r.body.outcome, outcome);
      }
      const personA = first.body.person.id;
      const personB = (await enrol(photo(b.gallery), 'Person B')).body.person.id;
      assert.equal((await c.upload('enrol', { file: photo(a.probes[0]) }, { collection: String(col.id), person: String(personA) })).status, 201);

      let list = await c.get(`persons?collection=${col.id}`);
      assert.deepEqual(list.body.persons.map((p: { name: string; faces: number }) => [p.name, p.faces]), [['Person A', 2], ['Person B', 1]]);
      assert.equal((await c.get(`collections`)).body.collections.find((x: { id: number }) => x.id === col.id).faces, 3);
      list = await c.get(`persons?q=${encodeURIComponent('son b')}`);
      assert.deepEqual(list.body.persons.map((p: { name: string }) => p.name), ['Person B']);
      const thumb = await c.get(`faces/${list.body.persons[0].thumbnailFaceId}/thumbnail`);
      assert.equal(thumb.headers.get('content-type'), 'image/jpeg');
      assert.equal((await sharp(thumb.body).metadata()).width, 112);

      const found = await c.upload('search', { file: photo(b.probes[0]) });
      assert.equal(found.status, 200);
      const best = found.body.faces[0].matches[0];
      assert.equal(best.personName, 'Person B');
      assert.equal(best.match, true);
      assert.ok(best.far < 1e-3);

      assert.equal((await c.call('PATCH', `persons/${personB}`, { json: { name: 'Person Bee', department: 'Lab' } })).body.person.department, 'Lab');
      assert.equal((await c.call('POST', `persons/${personB}/merge`, { json: { into: personA } })).status, 200);
      const merged = await c.get(`persons/${personA}`);
      assert.equal(merged.body.faces.length, 3);
      assert.equal((await c.get(`persons/${personB}`)).status, 404);

      assert.equal((await c.call('DELETE', `collections/${col.id}?confirm=wrong`)).status, 400);
      assert.equal((await c.call('DELETE', `collections/${col.id}?confirm=${encodeURIComponent(col.name)}`)).status, 204);
      assert.equal((await c.get(`persons/${personA}`)).status, 404, "the collection's persons went with it");
    });

    it('keeps a thumbnail with each recognition event, and deletes it with the event', async () => {
      const c = new ConsoleClient(base);
      await c.signIn();
      const r = await c.call('POST', 'search', {
        form: (() => {
          const f = new FormData();
          f.append('file', new Blob([new Uint8Array(photo(people[0].probes[0]))]), 'probe.jpg');
          return f;
        })(),
        headers: { 'x-request-id': `thumb-${store.name}` },
      });
      assert.equal(r.status, 200);
      await server!.services.events.flush();
      const events = await c.get('events?dialect=console&limit=5');
      const event = events.body.events.find((e: { requestId: string }) => e.requestId === `thumb-${store.name}`);
      assert.ok(event?.hasThumbnail, JSON.stringify(events.body));
      const jpeg = await c.get(`events/${event.id}/thumbnail`);
      assert.equal(jpeg.status, 200);
      const meta = await sharp(jpeg.body).metadata();
      assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', 112, 112]);
      const stats = await c.get(`events/stats?bucket=hour&tz=Europe/Berlin`);
      assert.ok(stats.body.buckets.length >= 1);
      assert.equal((await c.get('events/stats?tz=Not/AZone')).status, 400);
      // A dialect's recognitions get theirs too (CompreFace's recognize, through identifyImage), cut by the engine
      // from the image it decoded: no second decode by the console's cropper.
      const cropsBefore = (await c.get('status')).body.events.crops.count;
      const { key } = await server!.services.keys.create('recognition', { collections: [`thumbs-${store.name}`] });
      const form = new FormData();
      form.append('file', new Blob([new Uint8Array(photo(people[1].probes[0]))]), 'probe.jpg');
      const cf = await fetch(`${base}/api/v1/recognition/recognize`, { method: 'POST', headers: { 'x-api-key': key, 'x-request-id': `cf-${store.name}` }, body: form });
      assert.equal(cf.status, 200);
      await server!.services.events.flush();
      const cfEvent = (await c.get('events?dialect=compreface&limit=20')).body.events.find((e: { requestId: string }) => e.requestId === `cf-${store.name}`);
      assert.equal(cfEvent?.hasThumbnail, true);
      assert.equal((await c.get('status')).body.events.crops.count, cropsBefore);
      // Retention deletes events with their thumbnails (one row).
      await server!.db.query(`UPDATE recognition_events SET occurred_at = now() - interval '40 days' WHERE id = $1`, [event.id]);
      assert.ok((await deleteEventsOlderThan(server!.db, 30)) >= 1);
      assert.equal((await c.get(`events/${event.id}/thumbnail`)).status, 404);
    });

    it('pages the history by time', async () => {
      const c = new ConsoleClient(base);
      await c.signIn();
      const t0 = Date.now() - 3_600_000;
      await server!.services.events.record(
        { dialect: 'paging-test', endpoint: 'x' },
        Array.from({ length: 5 }, () => ({ verdict: 'no_match' as const })),
      );
      await server!.services.events.flush();
      const seen: number[] = [];
      let before: string | null = null;
      do {
        const page: { body: { events: { id: number }[]; next: string | null } } = await c.get(`events?dialect=paging-test&limit=2&from=${new Date(t0).toISOString()}${before ? `&before=${before}` : ''}`);
        seen.push(...page.body.events.map((e) => e.id));
        before = page.body.next;
      } while (before);
      assert.equal(seen.length, 5);
      assert.equal(new Set(seen).size, 5);
      assert.equal((await c.get('events?before=nonsense')).status, 400);
    });

    it('creates, lists and revokes keys of every kind', async () => {
      const c = new ConsoleClient(base);
      await c.signIn();
      const kinds = Object.keys((await c.get('keys')).body.kinds);
      assert.ok(kinds.length >= 7, kinds.join());
      for (const kind of kinds) {
        const made = await c.call('POST', 'keys', { json: { kind, name: `console ${kind}` } });
        assert.equal(made.status, 201, `${kind}: ${JSON.stringify(made.body)}`);
        assert.equal(typeof made.body.key, 'string');
        const listed = (await c.get('keys')).body.keys.find((k: { id: number }) => k.id === made.body.info.id);
        assert.ok(listed && !('key' in listed), 'listed without the secret');
        assert.equal((await c.call('POST', `keys/${made.body.info.id}/revoke`)).status, 200);
        assert.equal((await c.get('keys')).body.keys.some((k: { id: number }) => k.id === made.body.info.id), false);
      }
    });

    it('reports status', async () => {
      const c = new ConsoleClient(base);
      await c.signIn();
      const s = (await c.get('status')).body;
      assert.equal(s.database.ok, true);
      assert.equal(s.database.kind, store.name === 'postgres' ? 'postgres' : 'embedded');
      assert.ok(s.database.schemaVersion >= 12);
      assert.ok(s.models.length >= 3);
      assert.equal(typeof s.engine.queued, 'number');
      assert.equal(typeof s.events.writerQueue, 'number');
      assert.match(s.version, /^\d+\.\d+\.\d+/);
    });
  });
}

describe('console thumbnails and accounts without a server', function () {
  this.timeout(120_000);

  it('cuts a square crop around a face, clipped to the image', async () => {
    assert.deepEqual(squareAround({ x: 10, y: 10, width: 20, height: 20 }, 1.5, 100, 100), { left: 5, top: 5, width: 30, height: 30 });
    assert.deepEqual(squareAround({ x: 0, y: 80, width: 20, height: 20 }, 1.5, 100, 100), { left: 0, top: 75, width: 25, height: 25 });
    assert.throws(() => squareAround({ x: 200, y: 200, width: 20, height: 20 }, 1.5, 100, 100), RangeError);
    const jpeg = await new FaceCropper(64).crop(await sharp({ create: { width: 200, height: 100, channels: 3, background: '#345' } }).png().toBuffer(), { x: 150, y: 20, width: 60, height: 60 });
    const meta = await sharp(jpeg).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', 64, 64]);
  });

  it('hands events to the writer with their crop and without the image; drops images when off or behind', async () => {
    const written: NewRecognitionEvent[] = [];
    const writer = { write: async (e: NewRecognitionEvent[]) => void written.push(...e), flush: async () => {} };
    const image = await sharp({ create: { width: 120, height: 120, channels: 3, background: '#999' } }).jpeg().toBuffer();
    const event = (id: string): NewRecognitionEvent => ({ requestId: id, verdict: 'no_match', box: { x: 30, y: 30, width: 60, height: 60 }, probeImage: image });
    const log = { warn: () => {} };
    const on = new ThumbnailingEventSink(writer, new FaceCropper(48), log);
    await on.write([event('a'), { requestId: 'plain', verdict: 'no_match' }]);
    assert.deepEqual(written.map((e) => e.requestId), ['plain'], 'events without an image go at once');
    await on.flush();
    const a = written.find((e) => e.requestId === 'a')!;
    assert.equal(a.probeImage, undefined);
    assert.equal((await sharp(a.thumbnail!).metadata()).width, 48);
    const off = new ThumbnailingEventSink(writer, null, log);
    await off.write([event('off')]);
    const o = written.find((e) => e.requestId === 'off')!;
    assert.equal(o.probeImage, undefined);
    assert.equal(o.thumbnail, undefined);
    const behind = new ThumbnailingEventSink(writer, new FaceCropper(48), log, 1);
    await behind.write([event('b1'), event('b2')]);
    assert.ok(written.some((e) => e.requestId === 'b1' && !e.thumbnail && !e.probeImage));
    assert.equal(behind.stats().skipped, 2);
  });

  it('faceserver operators: add, list, passwd, remove on a stopped server', async () => {
    const dataDir = await migratedDataDir();
    try {
      const run = async (password: string | undefined, ...args: string[]) => {
        const lines: string[] = [];
        const code = await operatorsCommand(args, { out: (l) => lines.push(l), err: (l) => lines.push(l), readPassword: async () => password ?? '' }, { DATA_DIR: dataDir, LOG_LEVEL: 'warn' });
        return { code, text: lines.join('\n') };
      };
      assert.equal((await run('a good passphrase', 'add', 'alice')).code, 0);
      assert.equal((await run('short', 'add', 'bob')).code, 1);
      assert.equal((await run('a good passphrase', 'add', 'bad name!')).code, 1);
      assert.equal((await run(undefined, 'frobnicate')).code, 2);
      assert.equal((await run(undefined, 'add')).code, 2);
      const listed = await run(undefined, 'list');
      assert.equal(listed.code, 0);
      assert.match(listed.text, /^alice\t/m);
      assert.equal((await run('a newer passphrase', 'passwd', 'alice')).code, 0);
      const db = await openDb({ dataDir });
      try {
        assert.ok(await new OperatorAccounts(db).verify('alice', 'a newer passphrase'));
        assert.equal(await new OperatorAccounts(db).verify('alice', 'a good passphrase'), undefined);
      } finally {
        await db.close();
      }
      assert.equal((await run(undefined, 'remove', 'alice')).code, 0);
      assert.equal((await run(undefined, 'remove', 'alice')).code, 1);
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('console with photos not kept (SAVE_IMAGES=false)', function () {
  this.timeout(180_000);
  it('keeps a crop of each enrolled face, served as its thumbnail and deleted with it', async function () {
    requireFacedata(this);
    const dataDir = await migratedDataDir();
    const server = await startTestServer({ ADMIN_SECRET, SAVE_IMAGES: 'false', DATA_DIR: dataDir });
    try {
      const c = new ConsoleClient(server.url);
      await c.signIn();
      const col = (await c.call('POST', 'collections', { json: { name: 'no-photos' } })).body.collection;
      const [p] = identificationSet(1).people;
      const r = await c.upload('enrol', { file: photo(p.gallery) }, { collection: String(col.id), name: 'Kept as a crop' });
      assert.equal(r.status, 201);
      assert.equal(r.body.face.photoKept, false);
      const faceId = r.body.face.id;
      let thumb = await c.get(`faces/${faceId}/thumbnail`);
      for (let i = 0; i < 50 && thumb.status !== 200; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100)); // cut behind the enrolment response
        thumb = await c.get(`faces/${faceId}/thumbnail`);
      }
      assert.equal(thumb.status, 200);
      assert.equal((await server!.db.query('SELECT 1 FROM photos')).rows.length, 0, 'no photo is kept');
      assert.equal((await c.call('DELETE', `faces/${faceId}`)).status, 204);
      assert.equal((await server!.db.query('SELECT 1 FROM face_thumbnails WHERE face_id = $1', [faceId])).rows.length, 0);
    } finally {
      await server.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
