// NtechLab FindFace v0 / v1 (issue 12), black-box over HTTP on real photos from ../shared/facedata, on the
// embedded store and on real PostgreSQL: auth, detect (v1 attributes), verify, identify (keys parsed as JSON,
// galleries, n, thresholds, boxes, mf_selector), faces (create / get / update / delete, by meta, paging),
// meta, galleries, dynamic persons and camera history with 'friend or foe', the docs; photos as uploads and as
// URLs served by this test on loopback; every bad input in FindFace's error shape with nothing stored; a face
// enrolled through CompreFace found through FindFace within the token's galleries and the other way round; and
// the OpenAPI document equal to the routes.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import { documentedRoutes, servedRoutes } from '../src/http/openapi';
import type { RunningServer } from '../src/server';
import { FINDFACE_OPENAPI } from '../src/dialects/findface/openapi';
import { confidenceScale, PRESETS } from '../src/dialects/findface/confidence';
import { Api, countRows, identificationSet, photo, requireFacedata, type Person } from './support/compreface';
import { createTempDatabase, requirePostgres, type TempDatabase } from './support/postgres';
import { startTestServer } from './support/server';

const GROUP = 'groups/insightface_ssh_t2.jpg';
const GROUP_OF_TWO = 'groups/face_recognition_kit_with_rose.jpg';
const FACE_KEYS = ['friend', 'galleries', 'id', 'meta', 'normalized', 'person_id', 'photo', 'photo_hash', 'thumbnail', 'timestamp', 'x1', 'x2', 'y1', 'y2'];
const TIMESTAMP_RE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
interface Reply {
  status: number;
  headers: Headers;
  text: string;
  body: Json;
}

/** A FindFace client over fetch: `Authorization: Token`, JSON, urlencoded, multipart or query parameters. */
class FindFace {
  constructor(
    readonly base: string,
    readonly token?: string,
    readonly version = 'v0',
  ) {}

  as(token: string | undefined): FindFace {
    return new FindFace(this.base, token, this.version);
  }

  v(version: string): FindFace {
    return new FindFace(this.base, this.token, version);
  }

  async request(method: string, path: string, o: { json?: unknown; form?: Record<string, string | Buffer>; urlencoded?: Record<string, string>; raw?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
    const headers: Record<string, string> = { ...(this.token !== undefined ? { authorization: `Token ${this.token}` } : {}), ...o.headers };
    let body: BodyInit | undefined;
    if (o.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(o.json);
    } else if (o.raw !== undefined) {
      headers['content-type'] ??= 'application/json';
      body = o.raw;
    } else if (o.urlencoded) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(o.urlencoded).toString();
    } else if (o.form) {
      const form = new FormData();
      for (const [k, v] of Object.entries(o.form)) {
        if (Buffer.isBuffer(v)) form.append(k, new Blob([new Uint8Array(v)]), `${k}.jpg`);
        else form.append(k, v);
      }
      body = form;
    }
    const url = /^\/v\d\//.test(path) || this.version === '' ? `${this.base}${path}` : `${this.base}/${this.version}${path}`;
    const res = await fetch(url, { method, headers, body, redirect: 'manual' });
    const buf = Buffer.from(await res.arrayBuffer());
    const type = res.headers.get('content-type') ?? '';
    const text = type.includes('json') || type.includes('text') ? buf.toString('utf8') : '';
    return { status: res.status, headers: res.headers, text, body: type.includes('json') ? JSON.parse(text) : buf };
  }

  post(path: string, o?: Parameters<FindFace['request']>[2]) {
    return this.request('POST', path, o);
  }
  get(path: string) {
    return this.request('GET', path);
  }
  put(path: string, json: unknown) {
    return this.request('PUT', path, { json });
  }
  delete(path: string) {
    return this.request('DELETE', path);
  }

  /** Adds the face of a photo (multipart upload) with these fields; asserts success; returns the face. */
  async addFace(bytes: Buffer, fields: Record<string, string> = {}): Promise<Json> {
    const r = await this.post('/face', { form: { photo: bytes, ...fields } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.results.length, 1, r.text);
    return r.body.results[0];
  }
}

/** FindFace's error body: code, reason (and param/value for BAD_PARAM). */
function assertError(r: Reply, status: number, code: string, param?: string): void {
  assert.equal(r.status, status, r.text);
  assert.equal(r.body.code, code, r.text);
  assert.equal(typeof r.body.reason, 'string', r.text);
  if (code === 'BAD_PARAM') {
    assert.ok('param' in r.body && 'value' in r.body, r.text);
    if (param) assert.equal(r.body.param, param, r.text);
  }
}

/** What a strict FindFace client does with a face (the vendor's sample clients): integers, hex, ISO times. */
function assertFace(f: Json, what: string): void {
  for (const k of FACE_KEYS) assert.ok(k in f, `${what}: no ${k} in ${JSON.stringify(f)}`);
  for (const k of ['id', 'person_id', 'x1', 'y1', 'x2', 'y2']) assert.ok(Number.isInteger(f[k]), `${what}: ${k} ${f[k]}`);
  assert.ok(f.person_id > 0, `${what}: person_id ${f.person_id}`);
  assert.ok(f.x2 > f.x1 && f.y2 > f.y1, what);
  assert.match(f.photo_hash, /^[0-9a-f]{32}$/, what);
  assert.match(f.timestamp, TIMESTAMP_RE, what);
  assert.ok(!Number.isNaN(new Date(`${f.timestamp}Z`).getTime()), what);
  assert.equal(f.galleries[0], 'default', what);
  assert.equal(typeof f.meta, 'string');
  assert.equal(typeof f.friend, 'boolean');
}

/** Photos for URL tests, served on loopback: /photo/<path>, a redirect, a 404 and a slow answer. */
class PhotoHost {
  private server?: http.Server;
  url = '';
  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      const u = req.url ?? '';
      if (u.startsWith('/photo/')) {
        try {
          const bytes = photo(decodeURIComponent(u.slice('/photo/'.length)));
          res.setHeader('content-type', 'image/jpeg');
          return res.end(bytes);
        } catch {
          res.statusCode = 404;
          return res.end();
        }
      }
      if (u.startsWith('/redirect/')) {
        res.statusCode = 302;
        res.setHeader('location', `/photo/${u.slice('/redirect/'.length)}`);
        return res.end();
      }
      res.statusCode = 404;
      res.end();
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  async stop(): Promise<void> {
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

/** A GET with a JSON body, as NtechLab's docs send person history's filter (fetch refuses GET bodies). */
function getWithJsonBody(url: string, token: string, body: unknown): Promise<{ status: number; body: Json }> {
  const data = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'GET', headers: { authorization: `Token ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(data);
  });
}

/** Rows of every table a failed request must leave alone. */
async function snapshot(server: RunningServer): Promise<string> {
  await server.services.events.flush(); // events of earlier requests are written behind their responses
  const counts = [];
  for (const t of ['faces', 'persons', 'photos', 'recognition_events'] as const) counts.push(await countRows(server, t));
  const c = await server.db.query<{ n: number }>('SELECT count(*)::int AS n FROM collections');
  const k = await server.db.query<{ n: number }>('SELECT count(*)::int AS n FROM api_key_collections');
  return JSON.stringify([...counts, c.rows[0].n, k.rows[0].n]);
}

const STORES = ['embedded', 'postgres'] as const;

for (const storeName of STORES) {
  describe(`FindFace v0/v1 on the ${storeName} store`, function () {
    this.timeout(240_000);
    const host = new PhotoHost();
    let server: RunningServer;
    let temp: TempDatabase | undefined;
    let ff: FindFace;
    let token: string;
    let people: Person[];

    before(async function () {
      requireFacedata(this);
      await host.start();
      const env: Record<string, string> = { URL_FETCH_ALLOW_HOSTS: '127.0.0.1', FINDFACE_FRIEND_DAYS: '1' };
      if (storeName === 'postgres') {
        temp = await createTempDatabase(requirePostgres(this));
        server = await startTestServer({ ...env, DATABASE_URL: temp.url });
      } else {
        server = await startTestServer(env);
      }
      token = (await server.services.keys.create('findface')).key;
      ff = new FindFace(server.url, token);
      people = identificationSet(6).people;
    });
    after(async () => {
      await server?.close();
      await temp?.drop();
      await host.stop();
    });

    it('authenticates with Authorization: Token; the docs need none', async () => {
      assertError(await ff.as(undefined).get('/galleries'), 401, 'AUTH_FAILED');
      assertError(await ff.as('not-a-token').get('/galleries'), 401, 'AUTH_FAILED');
      const res = await fetch(`${server.url}/v0/galleries`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.status, 401);
      // A CompreFace key is not a FindFace token.
      const { key: recognition } = await server.services.keys.create('recognition');
      assertError(await ff.as(recognition).get('/galleries'), 401, 'AUTH_FAILED');
      const ok = await ff.get('/galleries/');
      assert.equal(ok.status, 200, ok.text);
      assert.deepEqual(ok.body, { results: ['default'] });

      const docs = await ff.as(undefined).get('/docs');
      assert.equal(docs.status, 200);
      assert.deepEqual(docs.body.results.map((v: Json) => v.version), ['v0', 'v1']);
      const v1 = await ff.as(undefined).get('/docs/v1/');
      assert.equal(v1.status, 200);
      assert.ok(v1.body.methods.some((m: Json) => m.method === 'POST' && m.path === '/v1/identify/'));
      assertError(await ff.as(undefined).get('/docs/v7'), 400, 'BAD_PARAM', 'version');
    });

    it('detects faces; v1 adds gender, age and emotions when asked', async () => {
      const r = await ff.post('/detect', { form: { photo: photo(GROUP) } });
      assert.equal(r.status, 200, r.text);
      assert.ok(r.body.faces.length >= 4, r.text);
      assert.equal(r.body.orientation, 1);
      for (const f of r.body.faces) {
        assert.deepEqual(Object.keys(f).sort(), ['x1', 'x2', 'y1', 'y2']);
        for (const k of ['x1', 'x2', 'y1', 'y2']) assert.ok(Number.isInteger(f[k]) && f[k] >= 0);
      }
      // A box given (the vendor's PHP and C# samples send one): the face in it.
      const [, second] = r.body.faces;
      const inBox = await ff.post('/detect', { json: { photo: `${host.url}/photo/${GROUP}`, bbox: second } });
      assert.deepEqual(inBox.body.faces, [second]);
      // The vendor's own curl sends the URL as a multipart text field; v0 ignores the attribute flags.
      const byUrl = await ff.post('/detect/', { form: { photo: `${host.url}/photo/${people[0].gallery}`, gender: 'true' } });
      assert.equal(byUrl.status, 200, byUrl.text);
      assert.equal(byUrl.body.faces.length, 1);
      assert.deepEqual(Object.keys(byUrl.body.faces[0]).sort(), ['x1', 'x2', 'y1', 'y2']);
      const v1 = await ff.v('v1').post('/detect', { json: { photo: `${host.url}/photo/misc/emotion_happy.png`, gender: true, age: true, emotions: true } });
      assert.equal(v1.status, 200, v1.text);
      const face = v1.body.faces[0];
      assert.ok(['male', 'female'].includes(face.gender), v1.text);
      assert.ok(typeof face.age === 'number' && face.age > 0 && face.age < 100, v1.text);
      assert.equal(face.emotions.length, 2);
      assert.equal(face.emotions[0], 'happy', v1.text);
      // No face: an empty list, not an error.
      const grey = await sharp({ create: { width: 320, height: 240, channels: 3, background: { r: 128, g: 128, b: 128 } } }).jpeg().toBuffer();
      const none = await ff.post('/detect', { form: { photo: grey } });
      assert.equal(none.status, 200);
      assert.deepEqual(none.body.faces, []);
    });

    it('verifies: the same person, different people, thresholds, boxes and mf_selector', async () => {
      const [p, q] = people;
      const same = await ff.post('/verify', { form: { photo1: photo(p.gallery), photo2: photo(p.probes[0]) } });
      assert.equal(same.status, 200, same.text);
      assert.equal(same.body.verified, true, same.text);
      assert.equal(same.body.results.length, 1);
      const pair = same.body.results[0];
      assert.deepEqual(Object.keys(pair).sort(), ['bbox1', 'bbox2', 'confidence', 'verified']);
      assert.ok(pair.confidence > 0.75 && pair.confidence <= 1, same.text);
      for (const k of ['x1', 'y1', 'x2', 'y2']) assert.ok(Number.isInteger(pair.bbox1[k]) && Number.isInteger(pair.bbox2[k]));

      const different = await ff.post('/verify', { json: { photo1: `${host.url}/photo/${p.gallery}`, photo2: `${host.url}/photo/${q.gallery}` } });
      assert.equal(different.status, 200, different.text);
      assert.equal(different.body.verified, false);
      assert.equal(different.body.results[0].verified, false);
      assert.ok(different.body.results[0].confidence < pair.confidence);
      // "none" compares without deciding (verified still present, always true); a number or a preset decides.
      const none = await ff.post('/verify', { json: { photo1: `${host.url}/photo/${p.gallery}`, photo2: `${host.url}/photo/${q.gallery}`, threshold: 'none' } });
      assert.equal(none.body.verified, true);
      const strict = await ff.post('/verify', { form: { photo1: photo(p.gallery), photo2: photo(p.probes[0]), threshold: 'strict' } });
      assert.equal(strict.body.results[0].verified, pair.confidence >= PRESETS.strict);
      const number = await ff.post('/verify?threshold=0.99', { form: { photo1: photo(p.gallery), photo2: photo(p.probes[0]) } });
      assert.equal(number.body.verified, pair.confidence >= 0.99);
      // An empty threshold is the default; bbox as a list or a dict, mf_selector=all on a group photo.
      const group = await ff.post('/verify', { form: { photo1: photo(GROUP_OF_TWO), photo2: photo(GROUP_OF_TWO), mf_selector: 'all', threshold: '' } });
      assert.equal(group.status, 200, group.text);
      assert.equal(group.body.results.length, 4, group.text);
      assert.equal(group.body.verified, true, 'every face of the first photo has its match in the second');
      const box = group.body.results[1].bbox1;
      const boxed = await ff.post('/verify', { json: { photo1: `${host.url}/photo/${GROUP_OF_TWO}`, photo2: `${host.url}/photo/${GROUP_OF_TWO}`, bbox1: [box.x1, box.y1, box.x2, box.y2], bbox2: [box] } });
      assert.equal(boxed.status, 200, boxed.text);
      assert.equal(boxed.body.results.length, 1);
      assert.deepEqual(boxed.body.results[0].bbox1, box);
      assert.ok(boxed.body.results[0].confidence > 0.99);
      const rejected = await ff.post('/verify', { form: { photo1: photo(GROUP_OF_TWO), photo2: photo(p.gallery), mf_selector: 'reject' } });
      assertError(rejected, 400, 'BAD_PARAM', 'photo1');
      assert.ok(rejected.body.faces.length === 2 && Number.isInteger(rejected.body.faces[0].x1), rejected.text);
      assert.match(rejected.body.reason, /^Too many faces: \d+$/);
      // Each comparison is a recognition event.
      await server.services.events.flush();
      assert.ok((await server.db.query(`SELECT 1 FROM recognition_events WHERE dialect = 'findface' AND endpoint = 'verify'`)).rows.length >= 5);
    });

    it('adds faces with meta and galleries, identifies them, and pages, updates and deletes them', async () => {
      const created = await ff.post('/galleries/ppl');
      assert.equal(created.status, 200, created.text);
      assert.deepEqual(created.body, { name: 'ppl' });
      const byBody = await ff.post('/galleries', { json: { name: 'vip-2' } });
      assert.deepEqual(byBody.body, { name: 'vip-2' });
      assert.deepEqual((await ff.get('/galleries')).body.results, ['default', 'ppl', 'vip-2']);

      const [p, q, r] = people;
      const fp = await ff.addFace(photo(p.gallery), { meta: p.name, galleries: '["ppl"]' });
      assertFace(fp, 'created');
      assert.deepEqual(fp.galleries, ['default', 'ppl']);
      assert.equal(fp.meta, p.name);
      assert.match(fp.photo, new RegExp(`/v0/face/id/${fp.id}/photo\\?sig=[\\w-]{22}$`));
      // A URL photo: the face's photo is that URL; meta shared by two faces is one person.
      const fp2 = (await ff.post('/face', { json: { photo: `${host.url}/photo/${p.probes[0]}`, meta: p.name } })).body.results[0];
      assertFace(fp2, 'by url');
      assert.equal(fp2.photo, `${host.url}/photo/${p.probes[0]}`);
      assert.equal(fp2.person_id, fp.person_id);
      assert.deepEqual(fp2.galleries, ['default']);
      const fq = await ff.addFace(photo(q.gallery), { meta: q.name, galleries: 'vip-2' });
      assert.deepEqual(fq.galleries, ['default', 'vip-2']);
      assert.notEqual(fq.person_id, fp.person_id);
      const fr = await ff.v('v1').addFace(photo(r.gallery), { gender: 'true', age: 'true' });
      assert.equal(fr.meta, '');
      assert.ok(fr.person_id > 0);
      assert.ok(['male', 'female'].includes(fr.gender) && fr.age > 0, JSON.stringify(fr));

      // The stored photo and a thumbnail, behind the token.
      const stored = await ff.get(`/face/id/${fp.id}/photo`);
      assert.equal(stored.status, 200);
      assert.ok(Buffer.compare(stored.body, photo(p.gallery)) === 0, 'the upload comes back unchanged');
      const thumb = await ff.get(new URL(fp.thumbnail).pathname);
      assert.equal(thumb.status, 200);
      assert.equal(thumb.headers.get('content-type'), 'image/jpeg');
      assert.equal((await ff.as(undefined).get(`/face/id/${fp.id}/photo`)).status, 401);
      // The URLs a face object gives open without a token (like FindFace's static photo URLs), and only for it.
      const open = await fetch(fp.photo);
      assert.equal(open.status, 200);
      assert.ok(Buffer.compare(Buffer.from(await open.arrayBuffer()), photo(p.gallery)) === 0);
      const openThumb = await fetch(fp.thumbnail);
      assert.equal(openThumb.headers.get('content-type'), 'image/jpeg');
      const sig = new URL(fp.photo).searchParams.get('sig')!;
      const forged = `${sig.slice(0, -1)}${sig.endsWith('A') ? 'B' : 'A'}`;
      assertError(await ff.as(undefined).get(`/face/id/${fp.id}/photo?sig=${forged}`), 404, 'NOT_FOUND');
      assertError(await ff.as(undefined).get(`/face/id/${fp.id + 1}/photo?sig=${sig}`), 404, 'NOT_FOUND');

      // Identify: keys parse as [x1, y1, x2, y2]; the best match is the same person.
      const id = await ff.post('/identify', { form: { photo: photo(p.probes[1] ?? p.probes[0]), n: '3' } });
      assert.equal(id.status, 200, id.text);
      assert.equal(id.headers.get('x-live-servers'), '1/1');
      const keys = Object.keys(id.body.results);
      assert.equal(keys.length, 1);
      const coords = JSON.parse(keys[0]);
      assert.equal(coords.length, 4);
      assert.ok(coords.every(Number.isInteger) && coords[2] > coords[0] && coords[3] > coords[1], keys[0]);
      assert.match(keys[0], /^\[\d+, \d+, \d+, \d+\]$/);
      const matches = id.body.results[keys[0]];
      assert.ok(matches.length >= 1 && matches.length <= 3);
      assert.equal(matches[0].face.meta, p.name);
      assert.ok(matches[0].confidence >= 0.75 && matches[0].confidence <= 1);
      assertFace(matches[0].face, 'identified');
      // Only what reaches the threshold (0.75 by default) comes back; "none" returns the n nearest.
      for (const m of matches) assert.ok(m.confidence >= 0.75);
      const all = await ff.post('/identify', { json: { photo: `${host.url}/photo/${p.probes[0]}`, n: 10, threshold: 'none' } });
      assert.equal(Object.values(all.body.results as Record<string, Json[]>)[0].length, 4);
      // Community clients send null boxes and empty-string thresholds for "not given".
      const nulls = await ff.post('/identify/', { json: { photo: `${host.url}/photo/${p.probes[0]}`, bbox: null, x1: null, y1: null, x2: null, y2: null, threshold: '', mf_selector: null } });
      assert.equal(nulls.status, 200, nulls.text);
      assert.equal(Object.values(nulls.body.results as Record<string, Json[]>)[0][0].face.meta, p.name);
      // In a gallery: only its faces.
      const inVip = await ff.post('/faces/gallery/vip-2/identify', { form: { photo: photo(p.probes[0]), threshold: 'none', n: '10' } });
      assert.equal(inVip.status, 200, inVip.text);
      assert.deepEqual(Object.values(inVip.body.results as Record<string, Json[]>)[0].map((m) => m.face.id), [fq.id]);
      assertError(await ff.post('/faces/gallery/nope/identify', { form: { photo: photo(p.probes[0]) } }), 404, 'NOT_FOUND');
      // A box given as x1..y2 or bbox picks the face; mf_selector=all identifies each face of a group.
      const grp = await ff.post('/identify', { form: { photo: photo(GROUP_OF_TWO), mf_selector: 'all', threshold: 'none' } });
      assert.equal(Object.keys(grp.body.results).length, 2, grp.text);
      const [gx1, gy1, gx2, gy2] = JSON.parse(Object.keys(grp.body.results)[1]);
      const one = await ff.post(`/identify?x1=${gx1}&y1=${gy1}&x2=${gx2}&y2=${gy2}`, { form: { photo: photo(GROUP_OF_TWO), threshold: 'none' } });
      assert.deepEqual(Object.keys(one.body.results), [`[${gx1}, ${gy1}, ${gx2}, ${gy2}]`]);

      // Get, by meta, in a gallery, meta list.
      const got = await ff.get(`/face/id/${fp.id}/`);
      assert.deepEqual(got.body, { ...fp, friend: got.body.friend });
      const byMeta = await ff.get(`/face/meta/${encodeURIComponent(p.name)}`);
      assert.deepEqual(byMeta.body.results.map((f: Json) => f.id).sort(), [fp.id, fp2.id].sort());
      const inPpl = await ff.get(`/face/gallery/ppl/meta/${encodeURIComponent(p.name)}`);
      assert.deepEqual(inPpl.body.results.map((f: Json) => f.id), [fp.id]);
      const meta = await ff.get('/meta');
      const pm = meta.body.results.find((m: Json) => m.meta === p.name);
      assert.equal(pm.count, 2);
      assert.equal(pm.face.id, fp.id);
      assert.ok(!meta.body.results.some((m: Json) => m.meta === ''), 'faces without meta are not a meta');
      // GET /face/meta without a meta (a community client lists metas there) answers as /meta.
      assert.deepEqual((await ff.get('/face/meta')).body.results, meta.body.results);
      assert.deepEqual((await ff.get('/meta/gallery/vip-2')).body.results.map((m: Json) => m.meta), [q.name]);
      const metaPage = await ff.get('/meta?limit=1');
      assert.equal(metaPage.body.results.length, 1);
      assert.equal(metaPage.body.next_page, '/v0/meta?page=1&limit=1');
      const metaPage2 = await ff.get(metaPage.body.next_page);
      assert.notEqual(metaPage2.body.results[0].meta, metaPage.body.results[0].meta);

      // All faces, newest first, paged by max_id / min_id.
      const page1 = await ff.get('/faces?limit=2');
      assert.deepEqual(page1.body.results.map((f: Json) => f.id), [fr.id, fq.id]);
      assert.equal(page1.body.prev_page, null);
      assert.equal(page1.body.next_page, `/v0/faces?max_id=${fq.id}&limit=2`);
      const page2 = await ff.get(page1.body.next_page);
      assert.deepEqual(page2.body.results.map((f: Json) => f.id), [fp2.id, fp.id]);
      assert.equal(page2.body.next_page, null);
      const back = await ff.get(page2.body.prev_page);
      assert.deepEqual(back.body.results.map((f: Json) => f.id), [fr.id, fq.id]);
      const galleryPage = await ff.get('/faces/gallery/ppl/');
      assert.deepEqual(galleryPage.body.results.map((f: Json) => f.id), [fp.id]);

      // Update: meta moves the face to that meta's person; person_id; galleries add / del / set.
      const renamed = await ff.put(`/face/id/${fp2.id}`, { meta: 'Someone Else' });
      assert.equal(renamed.status, 200, renamed.text);
      assert.equal(renamed.body.meta, 'Someone Else');
      assert.notEqual(renamed.body.person_id, fp.person_id);
      assert.equal((await ff.get(`/face/id/${fp.id}`)).body.meta, p.name, 'the other face keeps its meta');
      const moved = await ff.put(`/face/id/${fp2.id}`, { person_id: String(fp.person_id) });
      assert.equal(moved.body.person_id, fp.person_id);
      assert.equal(moved.body.meta, p.name);
      assert.deepEqual((await ff.put(`/face/id/${fp2.id}`, { galleries: { add: ['ppl', 'vip-2'] } })).body.galleries, ['default', 'ppl', 'vip-2']);
      assert.deepEqual((await ff.put(`/face/id/${fp2.id}`, { galleries: { del: ['ppl'] } })).body.galleries, ['default', 'vip-2']);
      assert.deepEqual((await ff.put(`/face/id/${fp2.id}`, { galleries: { set: ['ppl'] } })).body.galleries, ['default', 'ppl']);
      assert.deepEqual((await ff.put(`/face/id/${fp2.id}`, { galleries: { set: [] } })).body.galleries, ['default']);
      const before = await snapshot(server);
      assertError(await ff.put(`/face/id/${fp2.id}`, { galleries: { del: ['default'] } }), 400, 'BAD_PARAM', 'galleries');
      assertError(await ff.put(`/face/id/${fp2.id}`, { galleries: ['ppl'] }), 400, 'BAD_PARAM', 'galleries');
      assertError(await ff.put(`/face/id/${fp2.id}`, { galleries: { add: ['nope'] } }), 404, 'NOT_FOUND');
      assertError(await ff.put(`/face/id/${fp2.id}`, { person_id: 99999999 }), 404, 'NOT_FOUND');
      assertError(await ff.put(`/face/id/${fp2.id}`, { person_id: 'x' }), 400, 'BAD_PARAM', 'person_id');
      assertError(await ff.put('/face/id/99999999', { meta: 'x' }), 404, 'NOT_FOUND');
      assert.equal(await snapshot(server), before);

      // Galleries: delete one, with its faces (NtechLab's rule); default and unknown ones cannot be.
      const doomed = await ff.addFace(photo(r.probes[0]), { galleries: 'ppl' });
      assert.deepEqual((await ff.put(`/face/id/${fp.id}`, { galleries: { del: ['ppl'] } })).body.galleries, ['default']);
      const del = await ff.delete('/galleries/ppl');
      assert.equal(del.status, 200);
      assert.equal(del.text, '');
      assert.deepEqual((await ff.get('/galleries')).body.results, ['default', 'vip-2']);
      assertError(await ff.get(`/face/id/${doomed.id}`), 404, 'NOT_FOUND');
      assert.deepEqual((await ff.get(`/face/id/${fp.id}`)).body.galleries, ['default'], 'a face no longer in the gallery stays');
      assertError(await ff.delete('/galleries/default'), 400, 'BAD_PARAM', 'gallery');
      assertError(await ff.delete('/galleries/ppl'), 404, 'NOT_FOUND');
      assertError(await ff.post('/galleries/vip-2'), 400, 'BAD_PARAM', 'name');
      assertError(await ff.post('/galleries/bad%20name'), 400, 'BAD_PARAM', 'name');
      assertError(await ff.post(`/galleries/${'x'.repeat(49)}`), 400, 'BAD_PARAM', 'name');
      assertError(await ff.post('/galleries', { json: {} }), 400, 'BAD_PARAM', 'name');

      // Deletes: by id (200, empty body), by meta; unknown ids are NOT_FOUND.
      const gone = await ff.delete(`/face/id/${fq.id}/`);
      assert.equal(gone.status, 200);
      assert.equal(gone.text, '');
      assertError(await ff.get(`/face/id/${fq.id}`), 404, 'NOT_FOUND');
      assertError(await ff.delete(`/face/id/${fq.id}`), 404, 'NOT_FOUND');
      assertError(await ff.get('/face/id/abc'), 404, 'NOT_FOUND');
      const byMetaGone = await ff.delete(`/face/meta/${encodeURIComponent(p.name)}`);
      assert.equal(byMetaGone.status, 200);
      assert.deepEqual((await ff.get(`/face/meta/${encodeURIComponent(p.name)}`)).body.results, []);
      assert.deepEqual((await ff.get('/faces')).body.results.map((f: Json) => f.id), [fr.id]);
    });

    it('gives faces from cameras persons, keeps camera history and tells friends', async () => {
      const [, , , s, t] = people;
      const cam = '12345678123456781234567812345678';
      const first = await ff.addFace(photo(s.gallery), { cam_id: cam });
      const again = await ff.addFace(photo(s.probes[0]), { cam_id: cam });
      const other = await ff.addFace(photo(t.gallery), { cam_id: 'cam-2' });
      assert.equal(again.person_id, first.person_id, 'the same person seen again keeps its person_id');
      assert.notEqual(other.person_id, first.person_id);
      // FINDFACE_FRIEND_DAYS=1 here: seen by one camera on one day is a friend.
      assert.equal(again.friend, true);

      const person = await ff.get(`/person/id/${first.person_id}`);
      assert.equal(person.status, 200, person.text);
      assert.deepEqual(person.body.faces.map((f: Json) => f.id).sort(), [first.id, again.id].sort());
      assert.ok((await ff.get('/persons')).body.results.some((p: Json) => p.id === first.person_id && p.meta === ''));
      const personsPage = await ff.get('/persons?limit=1');
      assert.deepEqual(personsPage.body.results.map((p: Json) => p.id), [other.person_id], 'newest first');
      assert.equal(personsPage.body.next_page, '/v0/persons?page=1&limit=1');
      assert.deepEqual((await ff.get(personsPage.body.next_page)).body.results.map((p: Json) => p.id), [first.person_id]);
      assertError(await ff.get('/person/id/99999999'), 404, 'NOT_FOUND');

      const all = await ff.post('/history/search', { json: {} });
      assert.equal(all.status, 200, all.text);
      assert.deepEqual(all.body.results.map((e: Json) => e.face_id), [other.id, again.id, first.id]);
      const e = all.body.results[1];
      assert.equal(e.person_id, first.person_id);
      assert.equal(e.cam_id, cam);
      assert.match(e.timestamp, TIMESTAMP_RE);
      assert.match(e.photo_hash, /^[0-9a-f]{32}$/);
      for (const k of ['x1', 'y1', 'x2', 'y2', 'id']) assert.ok(Number.isInteger(e[k]));
      assert.equal('next_page' in all.body, false);
      const screenshot = await fetch(e.screenshot);
      assert.equal(screenshot.status, 200);
      assert.equal(screenshot.headers.get('content-type'), 'image/jpeg');

      const byPerson = await ff.post('/history/search', { json: { person_id: first.person_id, limit: 1 } });
      assert.deepEqual(byPerson.body.results.map((x: Json) => x.face_id), [again.id]);
      assert.ok(byPerson.body.next_page, byPerson.text);
      const next = await ff.post(byPerson.body.next_page, { json: {} });
      assert.deepEqual(next.body.results.map((x: Json) => x.face_id), [first.id]);
      assert.equal('next_page' in next.body, false);
      const viaGet = await ff.get(byPerson.body.next_page);
      assert.deepEqual(viaGet.body.results.map((x: Json) => x.face_id), [first.id]);
      const byCam = await ff.post('/history/search', { urlencoded: { cam_ids: '["cam-2"]' } });
      assert.deepEqual(byCam.body.results.map((x: Json) => x.face_id), [other.id]);
      const future = await ff.post('/history/search', { json: { start: '2999-01-01T00:00:00.000000' } });
      assert.deepEqual(future.body.results, []);
      const friends = await ff.post('/history/search', { json: { friend: false } });
      assert.deepEqual(friends.body.results, [], 'everyone seen today is a friend here');
      // Person history, with the filter as a JSON body on GET (as the docs send it) or in the query string.
      const withBody = await getWithJsonBody(`${server.url}/v0/person/history/id/${first.person_id}`, token, { cam_ids: [cam], start: '2016-06-13T11:00:00.000000' });
      assert.equal(withBody.status, 200, JSON.stringify(withBody.body));
      assert.equal(withBody.body.results.length, 2);
      const q = await ff.get(`/person/history/id/${first.person_id}?cam_ids=cam-2`);
      assert.deepEqual(q.body.results, []);
      const before = await snapshot(server);
      assertError(await ff.post('/history/search', { json: { start: 'yesterday' } }), 400, 'BAD_PARAM', 'start');
      assertError(await ff.post('/history/search', { json: { limit: -1 } }), 400, 'BAD_PARAM', 'limit');
      assertError(await ff.post('/history/search', { json: { person_id: 'x' } }), 400, 'BAD_PARAM', 'person_id');
      assertError(await ff.post('/history/search', { json: { person_id: 99999999 } }), 404, 'NOT_FOUND');
      assertError(await ff.post('/face', { form: { photo: photo(s.gallery), cam_id: 'x'.repeat(200) } }), 400, 'BAD_PARAM', 'cam_id');
      assert.equal(await snapshot(server), before);
      // Naming a camera's face: its person without a name merges into the named one, history and all.
      const named = await ff.put(`/face/id/${other.id}`, { meta: 'Visitor' });
      assert.equal(named.status, 200, named.text);
      assert.notEqual(named.body.person_id, other.person_id);
      assertError(await ff.get(`/person/id/${other.person_id}`), 404, 'NOT_FOUND');
      const visitor = await ff.post('/history/search', { json: { person_id: named.body.person_id } });
      assert.deepEqual(visitor.body.results.map((x: Json) => [x.face_id, x.meta]), [[other.id, 'Visitor']]);
      // History is the recognition-events table: the rows SQL reports read.
      const rows = await server.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM recognition_events e JOIN cameras c ON c.id = e.camera_id WHERE c.name = $1`, [cam]);
      assert.equal(rows.rows[0].n, 2);
      const captured = await server.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM faces f JOIN cameras c ON c.id = f.camera_id WHERE c.name = $1`, [cam]);
      assert.equal(captured.rows[0].n, 2, 'the faces know their camera');
    });

    it('answers every bad input in its error shape and stores nothing', async () => {
      const [p] = people;
      const jpeg = photo(p.gallery);
      const grey = await sharp({ create: { width: 320, height: 240, channels: 3, background: { r: 128, g: 128, b: 128 } } }).jpeg().toBuffer();
      const before = await snapshot(server);
      const cases: [string, Promise<Reply>, number, string, string?][] = [
        ['no photo', ff.post('/face', { json: { meta: 'x' } }), 400, 'BAD_PARAM', 'photo'],
        ['broken image', ff.post('/face', { form: { photo: jpeg.subarray(0, 600) } }), 400, 'BAD_PARAM', 'photo'],
        ['not an image', ff.post('/identify', { form: { photo: Buffer.from('just some text, not a picture at all') } }), 400, 'BAD_PARAM', 'photo'],
        ['huge image', ff.post('/face', { form: { photo: Buffer.alloc(6 * 1024 * 1024, 0xff) } }), 413, 'BAD_PARAM', 'photo'],
        ['private url', ff.post('/face', { json: { photo: 'http://10.1.2.3/a.jpg' } }), 400, 'BAD_PARAM', 'photo'],
        ['redirecting url', ff.post('/face', { json: { photo: `${host.url}/redirect/${p.gallery}` } }), 400, 'BAD_PARAM', 'photo'],
        ['missing url', ff.post('/verify', { json: { photo1: `${host.url}/nothing.jpg`, photo2: `${host.url}/photo/${p.gallery}` } }), 400, 'BAD_PARAM', 'photo1'],
        ['unreachable url', ff.post('/identify', { json: { photo: 'http://127.0.0.1:1/a.jpg' } }), 400, 'BAD_PARAM', 'photo'],
        ['ftp url', ff.post('/detect', { json: { photo: 'ftp://example.com/a.jpg' } }), 400, 'BAD_PARAM', 'photo'],
        ['no face', ff.post('/face', { form: { photo: grey } }), 400, 'BAD_PARAM', 'photo'],
        ['bad json', ff.post('/face', { raw: '{"photo": ' }), 400, 'MALFORMED_JSON'],
        ['bad bbox', ff.post('/face', { form: { photo: jpeg, bbox: '[1, 2, 3]' } }), 400, 'BAD_PARAM', 'bbox'],
        ['inverted bbox', ff.post('/face', { form: { photo: jpeg, bbox: '{"x1": 50, "y1": 50, "x2": 10, "y2": 90}' } }), 400, 'BAD_PARAM', 'bbox'],
        ['empty bbox', ff.post('/face', { form: { photo: jpeg, bbox: '[0, 0, 5, 5]' } }), 400, 'BAD_PARAM', 'photo'],
        ['bad mf_selector', ff.post('/face', { form: { photo: jpeg, mf_selector: 'first' } }), 400, 'BAD_PARAM', 'mf_selector'],
        ['reject', ff.post('/face', { form: { photo: photo(GROUP_OF_TWO), mf_selector: 'reject' } }), 400, 'BAD_PARAM', 'photo'],
        ['bad threshold', ff.post('/identify', { form: { photo: jpeg, threshold: 'loose' } }), 400, 'BAD_PARAM', 'threshold'],
        ['threshold above 1', ff.post('/verify', { json: { photo1: 'x', photo2: 'y', threshold: 1.5 } }), 400, 'BAD_PARAM', 'threshold'],
        ['bad n', ff.post('/identify', { form: { photo: jpeg, n: 'ten' } }), 400, 'BAD_PARAM', 'n'],
        ['unknown gallery', ff.post('/face', { form: { photo: jpeg, galleries: 'nope' } }), 404, 'NOT_FOUND'],
        ['bad gallery name', ff.post('/face', { form: { photo: jpeg, galleries: '["a b"]' } }), 400, 'BAD_PARAM', 'galleries'],
        ['wrong token', ff.as('wrong').post('/face', { form: { photo: jpeg } }), 401, 'AUTH_FAILED'],
        ['unknown path', ff.get('/nothing/here'), 404, 'NOT_FOUND'],
        ['wrong method', ff.delete('/identify'), 405, 'METHOD_NOT_ALLOWED'],
      ];
      for (const [what, reply, status, code, param] of cases) {
        const r = await reply;
        try {
          assertError(r, status, code, param);
        } catch (err) {
          (err as Error).message = `${what}: ${(err as Error).message}`;
          throw err;
        }
      }
      const rejected = await ff.post('/face', { form: { photo: photo(GROUP_OF_TWO), mf_selector: 'reject' } });
      assert.equal(rejected.body.faces.length, 2);
      assert.equal(await snapshot(server), before);
    });

    it('finds faces across dialects within the token\'s collections', async () => {
      const [, , , , , u] = people;
      // A CompreFace key and a FindFace token sharing a collection; another FindFace token that does not see it.
      const shared = `shared-${storeName}`;
      const cf = new Api(server.url, (await server.services.keys.create('recognition', { collections: [shared] })).key);
      const both = ff.as((await server.services.keys.create('findface', { collections: [`own-${storeName}`, shared] })).key);
      const stranger = ff.as((await server.services.keys.create('findface')).key);
      await cf.enrol('anne', photo(u.gallery));
      assert.deepEqual((await both.get('/galleries')).body.results, ['default', shared]);
      const found = await both.post('/identify', { form: { photo: photo(u.probes[0]) } });
      const [match] = Object.values(found.body.results as Record<string, Json[]>)[0];
      assert.equal(match.face.meta, 'anne');
      assert.deepEqual(match.face.galleries, ['default', shared]);
      assertFace(match.face, 'enrolled through CompreFace');
      const none = await stranger.post('/identify', { form: { photo: photo(u.probes[0]), threshold: 'none', n: '100' } });
      assert.ok(!Object.values(none.body.results as Record<string, Json[]>)[0].some((m) => m.face.meta === 'anne'), 'outside its collections');
      assertError(await stranger.get(`/face/id/${match.face.id}`), 404, 'NOT_FOUND');

      // A face added through FindFace (into the shared collection, its default) is recognized through CompreFace.
      const sharedFirst = ff.as((await server.services.keys.create('findface', { collections: [shared] })).key);
      const [, q] = people;
      await sharedFirst.addFace(photo(q.gallery), { meta: 'bob' });
      const rec = await cf.post('/recognition/recognize', { files: { file: photo(q.probes[0]) } });
      assert.equal(rec.status, 200, JSON.stringify(rec.body));
      assert.equal(rec.body.result[0].subjects[0].subject, 'bob');
      // meta is the CompreFace subject: the same person.
      const subjects = await cf.get('/recognition/subjects');
      assert.deepEqual(subjects.body.subjects.sort(), ['anne', 'bob']);
    });

    it('serves the pre-v0 paths without a version, as their clients read them', async () => {
      const old = ff.v('');
      const [, , , , p, q] = people;
      assertError(await old.as(undefined).post('/face/', { form: { photo: photo(p.gallery) } }), 401, 'AUTH_FAILED');
      // POST /face/ (a Bitrix module, Android clients): the face at the top level, and v0's results beside it.
      const added = await old.post('/face/', { form: { photo: photo(p.gallery), meta: `old-${p.name}` } });
      assert.equal(added.status, 200, added.text);
      assertFace(added.body, 'pre-v0 face');
      assert.equal(added.body.meta, `old-${p.name}`);
      assert.equal(added.body.results.length, 1);
      assert.equal(added.body.results[0].id, added.body.id);
      assert.equal((await ff.get(`/face/id/${added.body.id}`)).body.meta, `old-${p.name}`);
      const bq = await old.post('/face', { form: { photo: photo(q.gallery), meta: `old-${q.name}` } });
      assert.equal(bq.status, 200, bq.text);
      // POST /identify/ with the box as x1..y2 and the threshold named confidence: one list of matches.
      const box = (await old.post('/detect/', { form: { photo: photo(p.probes[0]) } })).body.faces[0];
      assert.ok(Number.isInteger(box.x1), 'detect answers as v0');
      const found = await old.post('/identify/', { form: { photo: photo(p.probes[0]), confidence: 'Strict', n: '10', x1: `${box.x1}`, y1: `${box.y1}`, x2: `${box.x2}`, y2: `${box.y2}` } });
      assert.equal(found.status, 200, found.text);
      assert.ok(Array.isArray(found.body.results), found.text);
      assert.ok(found.body.results.some((m: Json) => m.face.id === added.body.id), found.text);
      assert.ok(found.body.results.every((m: Json) => m.confidence >= PRESETS.strict), 'confidence=Strict is the threshold');
      assertFace(found.body.results[0].face, 'pre-v0 match');
      assert.ok(!found.body.results.some((m: Json) => m.face.id === bq.body.id));
      const gallery = await old.post('/faces/gallery/default/identify', { json: { photo: `${host.url}/photo/${q.probes[0]}`, n: 10 } });
      assert.ok(gallery.body.results.some((m: Json) => m.face.id === bq.body.id), gallery.text);
      const verified = await old.post('/verify', { form: { photo1: photo(p.gallery), photo2: photo(p.probes[0]) } });
      assert.equal(verified.body.verified, true, verified.text);
      // The rest as v0: faces, meta, galleries, camera history; their pages stay on the bare paths.
      const page = await old.get('/faces?limit=1');
      assert.equal(page.status, 200, page.text);
      assert.match(page.body.next_page, /^\/faces\?max_id=\d+&limit=1$/);
      assert.equal((await old.get(`/face/meta/${encodeURIComponent(`old-${p.name}`)}`)).body.results[0].id, added.body.id);
      assert.deepEqual((await old.get('/galleries/')).body.results, (await ff.get('/galleries')).body.results);
      assert.equal((await old.get(`/person/id/${added.body.person_id}`)).body.id, added.body.person_id);
      assert.equal((await old.post('/history/search', { json: { person_id: added.body.person_id } })).status, 200);
      // Bad input in FindFace's shape; unknown paths under its prefixes are its NOT_FOUND; /docs stays the server's.
      assertError(await old.post('/identify', { form: { photo: photo(p.probes[0]), confidence: 'sure' } }), 400, 'BAD_PARAM', 'confidence');
      assertError(await old.get('/face/id/999999999'), 404, 'NOT_FOUND');
      assertError(await old.get('/faces/nothing/here'), 404, 'NOT_FOUND');
      const docs = await fetch(`${server.url}/docs`);
      assert.ok(!(docs.headers.get('content-type') ?? '').includes('json') || !('code' in ((await docs.json()) as Json)), '/docs is not FindFace\'s');
      for (const f of [added.body, bq.body]) assert.equal((await old.delete(`/face/id/${f.id}/`)).status, 200);
      assertError(await ff.get(`/face/id/${added.body.id}`), 404, 'NOT_FOUND');
    });

    it('holds its presets at their false-accept rates and serves its OpenAPI document', async () => {
      const scale = confidenceScale(server.services.calibration);
      for (const [preset, far] of [['low', 1e-1], ['medium', 1e-3], ['strict', 1e-5]] as const) {
        const c = scale.cosine(PRESETS[preset]);
        assert.ok(Math.abs(server.services.calibration.far(c) - far) / far < 0.05, `${preset}: FAR ${server.services.calibration.far(c)}`);
        assert.ok(Math.abs(scale.confidence(c) - PRESETS[preset]) < 1e-9);
      }
      const dialect = server.dialects.find((d) => d.name === 'findface')!;
      const key = (r: { method: string; path: string }) => `${r.method} ${r.path}`;
      assert.deepEqual(servedRoutes(dialect.router).map(key).sort(), documentedRoutes(FINDFACE_OPENAPI).map(key).sort());
      const res = await fetch(`${server.url}/openapi/findface.json`);
      assert.equal(res.status, 200);
      assert.equal(((await res.json()) as Json).info.title, FINDFACE_OPENAPI.info.title);
    });
  });
}

for (const storeName of STORES) {
  describe(`FindFace persons per camera (FINDFACE_PERSON_GLOBAL=false) on the ${storeName} store`, function () {
    this.timeout(240_000);
    let server: RunningServer;
    let temp: TempDatabase | undefined;
    let ff: FindFace;

    before(async function () {
      requireFacedata(this);
      const env = { FINDFACE_PERSON_GLOBAL: 'false' };
      if (storeName === 'postgres') {
        temp = await createTempDatabase(requirePostgres(this));
        server = await startTestServer({ ...env, DATABASE_URL: temp.url });
      } else {
        server = await startTestServer(env);
      }
      ff = new FindFace(server.url, (await server.services.keys.create('findface')).key);
    });
    after(async () => {
      await server?.close();
      await temp?.drop();
    });

    it('joins a camera\'s face only to persons that camera saw', async () => {
      const p = identificationSet(40).people.find((x) => x.probes.length >= 2)!;
      const enrolled = await ff.addFace(photo(p.gallery), { meta: p.name });
      const a1 = await ff.addFace(photo(p.probes[0]), { cam_id: 'cam-a' });
      assert.notEqual(a1.person_id, enrolled.person_id, 'the enrolled face was seen by no camera');
      const b1 = await ff.addFace(photo(p.probes[1]), { cam_id: 'cam-b' });
      assert.notEqual(b1.person_id, a1.person_id, 'another camera starts its own person');
      const a2 = await ff.addFace(photo(p.probes[1]), { cam_id: 'cam-a' });
      assert.equal(a2.person_id, a1.person_id, 'the same camera joins its person');
    });
  });
}
