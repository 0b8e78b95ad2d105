// The face-compare scan API (issue 15), black-box over HTTP on real photos from ../shared/facedata, on the
// embedded store and on real PostgreSQL: scans of the same person, different people, a photo without a face and
// one that cannot be decoded; each face's measurements; reading, updating and paging; two companies that never
// see each other's scans; bearer tokens of an OpenID provider served by this test on loopback (discovery, JWKS,
// expiry, issuer, audience, signature, roles) and faceserver's own client-credentials tokens; every bad input
// answered in Spring's error shape with nothing stored; photos kept only when configured; retention; the
// OpenAPI document equal to the routes.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, jwtVerify, createLocalJWKSet, SignJWT, type JWTPayload } from 'jose';
import sharp from 'sharp';
import { documentedRoutes, servedRoutes } from '../src/http/openapi';
import type { RunningServer } from '../src/server';
import { ScanRetention } from '../src/dialects/scans/retention';
import { SCANS_OPENAPI } from '../src/dialects/scans/openapi';
import { identificationSet, photo, requireFacedata } from './support/compreface';
import { createTempDatabase, requirePostgres, type TempDatabase } from './support/postgres';
import { migratedDataDir, startTestServer, tempDir } from './support/server';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const AUDIENCE = 'faceserver-scans';
const COMPANY_A = '0b0c1a9e-6f3e-4d5a-9a51-5a4f8f1d0a01';
const COMPANY_B = '7d2e4c10-2b8a-4f7e-8d11-0c9e3a6b7f02';
const FACE_KEYS = [
  'eye_dist', 'face_luminance', 'face_occlusion', 'face_quality', 'landmark_68', 'left_eye_closed', 'mouth_opened', 'pitch',
  'right_eye_closed', 'roll', 'x1', 'x2', 'y1', 'y2', 'yaw',
]; // prettier-ignore
const SCAN_KEYS = [
  'channel', 'companyId', 'compareResult', 'compareSimilarity', 'compare_result', 'compare_similarity', 'created', 'createdById',
  'createdDate', 'elapsedTime', 'face1', 'face2', 'id', 'reference', 'salesChannel', 'updatedById', 'updatedDate',
]; // prettier-ignore

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
interface Reply {
  status: number;
  headers: Headers;
  body: Json;
}

/** A real photo without a face: a corner of a wall in a big group photo. */
function noFacePhoto(): Promise<Buffer> {
  return sharp(photo('groups/insightface_ssh_t2.jpg')).extract({ left: 0, top: 0, width: 600, height: 400 }).jpeg().toBuffer();
}

/** The OpenID Connect provider of this test: discovery and JWKS on loopback, its own signing key, and a stranger's. */
class TestProvider {
  private server?: http.Server;
  url = '';
  jwksRequests = 0;
  private key!: CryptoKey;
  private strangerKey!: CryptoKey;

  get issuer(): string {
    return `${this.url}/realms/acme`;
  }
  get jwksUrl(): string {
    return `${this.issuer}/protocol/openid-connect/certs`;
  }

  async start(): Promise<void> {
    const pair = await generateKeyPair('RS256', { extractable: true });
    this.key = pair.privateKey;
    const publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'acme-1', alg: 'RS256', use: 'sig' };
    this.strangerKey = (await generateKeyPair('RS256')).privateKey;
    this.server = http.createServer((req, res) => {
      const send = (body: unknown) => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(body));
      };
      if (req.url === '/realms/acme/.well-known/openid-configuration') return send({ issuer: this.issuer, jwks_uri: this.jwksUrl });
      if (req.url === '/realms/acme/protocol/openid-connect/certs') {
        this.jwksRequests++;
        return send({ keys: [publicJwk] });
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

  /** A token as the provider issues it (company A, no roles) with `claims` over it; `o` bends the rest. */
  async token(claims: JWTPayload = {}, o: { stranger?: boolean; kid?: string; expiresIn?: number; noExp?: boolean; notBefore?: number } = {}): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const jwt = new SignJWT({ sub: crypto.randomUUID(), companyId: COMPANY_A, iss: this.issuer, aud: AUDIENCE, iat: now, ...claims }).setProtectedHeader({
      alg: 'RS256',
      kid: o.kid ?? 'acme-1',
      typ: 'JWT',
    });
    if (!o.noExp) jwt.setExpirationTime(now + (o.expiresIn ?? 300));
    if (o.notBefore !== undefined) jwt.setNotBefore(now + o.notBefore);
    return jwt.sign(o.stranger ? this.strangerKey : this.key);
  }
}

class ScanClient {
  constructor(
    readonly base: string,
    readonly token?: string,
  ) {}

  as(token: string | undefined): ScanClient {
    return new ScanClient(this.base, token);
  }

  async request(method: string, path: string, o: { json?: unknown; form?: FormData; body?: BodyInit; headers?: Record<string, string> } = {}): Promise<Reply> {
    const headers: Record<string, string> = { ...(this.token ? { authorization: `Bearer ${this.token}` } : {}), ...o.headers };
    let body: BodyInit | undefined = o.body ?? o.form;
    if (o.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(o.json);
    }
    const res = await fetch(`${this.base}${path}`, { method, headers, body });
    const type = res.headers.get('content-type') ?? '';
    const payload = type.includes('json') ? await res.json() : Buffer.from(await res.arrayBuffer());
    return { status: res.status, headers: res.headers, body: payload };
  }

  /** A scan made the way the product's clients do: multipart file1, file2, channel and reference. */
  create(files: { file1?: Buffer; file2?: Buffer }, fields: Record<string, string> = { channel: 'WEB', reference: 'contract-1' }, path = '/v1/face-recognition'): Promise<Reply> {
    const form = new FormData();
    for (const [k, v] of Object.entries(files)) if (v) form.append(k, new Blob([new Uint8Array(v)]), `${k}.jpg`);
    for (const [k, v] of Object.entries(fields)) form.append(k, v);
    return this.request('POST', path, { form });
  }

  get(path: string) {
    return this.request('GET', path);
  }
  put(path: string, json: unknown) {
    return this.request('PUT', path, { json });
  }
}

/** Spring Boot's error body. */
function assertSpringError(r: Reply, status: number, message?: RegExp): void {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.deepEqual(Object.keys(r.body).sort(), ['error', 'message', 'status', 'timestamp'], JSON.stringify(r.body));
  assert.equal(r.body.status, status);
  assert.equal(typeof r.body.error, 'string');
  if (message) assert.match(r.body.message, message);
}

function assertUnauthorized(r: Reply, message?: RegExp): void {
  assertSpringError(r, 401, message);
  assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer/);
}

function assertFace(face: Json, what: string): void {
  assert.ok(face, `${what}: no face`);
  assert.deepEqual(Object.keys(face).sort(), FACE_KEYS, what);
  for (const k of ['x1', 'y1', 'x2', 'y2']) assert.ok(Number.isInteger(face[k]), `${what}: ${k} ${face[k]} is not an integer`);
  assert.ok(face.x2 > face.x1 && face.y2 > face.y1, what);
  for (const k of ['yaw', 'pitch', 'roll']) assert.ok(Math.abs(face[k]) <= 90, `${what}: ${k} ${face[k]}`);
  assert.ok(face.eye_dist > 5 && face.eye_dist < face.x2 - face.x1, `${what}: eye_dist ${face.eye_dist}`);
  assert.ok(face.face_luminance > 0 && face.face_luminance < 255, `${what}: face_luminance ${face.face_luminance}`);
  for (const k of ['face_occlusion', 'face_quality', 'left_eye_closed', 'right_eye_closed', 'mouth_opened']) {
    assert.ok(face[k] >= 0 && face[k] <= 1, `${what}: ${k} ${face[k]}`);
  }
  assert.equal(face.landmark_68.length, 68, what);
  for (const p of face.landmark_68) assert.deepEqual(Object.keys(p).sort(), ['x', 'y']);
  // The landmarks lie on the face: their centre inside the box.
  const cx = face.landmark_68.reduce((s: number, p: Json) => s + p.x, 0) / 68;
  const cy = face.landmark_68.reduce((s: number, p: Json) => s + p.y, 0) / 68;
  assert.ok(cx > face.x1 && cx < face.x2 && cy > face.y1 && cy < face.y2, `${what}: landmarks centred at ${cx},${cy}`);
}

async function count(server: RunningServer, sql: string, args: unknown[] = []): Promise<number> {
  const r = await server.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, args);
  return r.rows[0].n;
}

/** A company's client of faceserver's own tokens: a 'scans' key (its collection is the company) and a token. */
async function clientToken(server: RunningServer, company: string, o: { scopes?: string[]; scope?: string } = {}): Promise<{ token: string; clientId: string; secret: string }> {
  const clientId = `client-${crypto.randomBytes(4).toString('hex')}`;
  const { key } = await server.services.keys.create('scans', { user: clientId, collections: [company], scopes: o.scopes });
  const form = new URLSearchParams({ grant_type: 'client_credentials', ...(o.scope ? { scope: o.scope } : {}) });
  const res = await fetch(`${server.url}/oauth2/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${clientId}:${key}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: form,
  });
  const body = (await res.json()) as Json;
  assert.equal(res.status, 200, JSON.stringify(body));
  return { token: body.access_token, clientId, secret: key };
}

const STORES = [
  // Embedded: the provider's keys found through its discovery document; photos kept.
  { name: 'embedded', savePhotos: true, jwksUrl: false },
  // PostgreSQL: the provider's JWKS URL configured; photos not kept (the default).
  { name: 'postgres', savePhotos: false, jwksUrl: true },
] as const;

for (const store of STORES) {
  describe(`scan API on the ${store.name} store`, function () {
    this.timeout(240_000);
    const idp = new TestProvider();
    let server: RunningServer;
    let temp: TempDatabase | undefined;
    let dataDir = '';
    let api: ScanClient; // company A, a user without roles
    let admin: ScanClient; // company A, with the update role
    let apiB: ScanClient; // company B
    let people: ReturnType<typeof identificationSet>['people'];
    let noFace: Buffer;
    const created: Json[] = [];

    before(async function () {
      requireFacedata(this);
      await idp.start();
      const env: Record<string, string> = {
        SCANS_OIDC_ISSUER: idp.issuer,
        SCANS_OIDC_AUDIENCE: `other-app,${AUDIENCE}`,
        ...(store.jwksUrl ? { SCANS_OIDC_JWKS_URL: idp.jwksUrl } : {}),
        ...(store.savePhotos ? { SCANS_SAVE_PHOTOS: 'true' } : {}),
      };
      if (store.name === 'postgres') {
        temp = await createTempDatabase(requirePostgres(this));
        dataDir = tempDir();
        server = await startTestServer({ ...env, DATABASE_URL: temp.url, DATA_DIR: dataDir });
      } else {
        dataDir = await migratedDataDir();
        server = await startTestServer({ ...env, DATA_DIR: dataDir });
      }
      api = new ScanClient(server.url, await idp.token());
      admin = api.as(await idp.token({ realm_access: { roles: ['offline_access', 'scans-update'] } }));
      apiB = api.as(await idp.token({ companyId: COMPANY_B }));
      people = identificationSet(4).people;
      noFace = await noFacePhoto();
    });
    after(async () => {
      await server?.close();
      await temp?.drop();
      await idp.stop();
      if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    });

    it('compares the same person, different people, a photo without a face, and one that cannot be decoded', async () => {
      const [p, q] = people;
      const same = await api.create({ file1: photo(p.gallery), file2: photo(p.probes[0]) }, { channel: 'WEB', reference: '0002' });
      assert.equal(same.status, 200, JSON.stringify(same.body));
      assert.deepEqual(Object.keys(same.body).sort(), SCAN_KEYS);
      assert.match(same.body.id, UUID_RE);
      assert.match(same.body.created, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
      assert.equal(same.body.channel, 'WEB');
      assert.equal(same.body.reference, '0002');
      assert.equal(same.body.compare_result, 'Same person');
      assert.ok(same.body.compare_similarity > 0.7 && same.body.compare_similarity <= 1, `same person: ${same.body.compare_similarity}`);
      assertFace(same.body.face1, 'same/face1');
      assertFace(same.body.face2, 'same/face2');
      assert.equal(same.body.companyId, COMPANY_A);
      assert.equal(same.body.compareResult, same.body.compare_result);
      assert.equal(same.body.compareSimilarity, same.body.compare_similarity);
      assert.equal(same.body.salesChannel, 'WEB');
      assert.ok(same.body.elapsedTime > 0 && same.body.elapsedTime < 60);
      assert.equal(same.body.updatedDate, null);

      const different = await api.create({ file1: photo(p.gallery), file2: photo(q.gallery) }, { channel: 'mobile', reference: '0003' });
      assert.equal(different.status, 200, JSON.stringify(different.body));
      assert.equal(different.body.compare_result, 'Different person');
      assert.equal(different.body.channel, 'MOBILE');
      assert.ok(different.body.compare_similarity >= 0 && different.body.compare_similarity <= 0.7, `different: ${different.body.compare_similarity}`);
      assert.ok(different.body.compare_similarity < same.body.compare_similarity);

      const noFace2 = await api.create({ file1: photo(p.gallery), file2: noFace }, { channel: 'OTHER', reference: '0004' });
      assert.equal(noFace2.status, 200, JSON.stringify(noFace2.body));
      assert.equal(noFace2.body.compare_result, 'No face2');
      assert.equal(noFace2.body.compare_similarity, -1);
      assertFace(noFace2.body.face1, 'no face2/face1');
      assert.equal(noFace2.body.face2, null);

      const noFace1 = await api.create({ file1: noFace, file2: photo(p.probes[0]) }, { channel: 'WEB', reference: '0005' });
      assert.equal(noFace1.body.compare_result, 'No face1');
      assert.equal(noFace1.body.face1, null);
      assertFace(noFace1.body.face2, 'no face1/face2');

      // A JPEG cut short (an upload that broke off): KBY-AI's "Failed to open", still a stored scan.
      const jpeg = photo(q.probes[0]);
      const broken = await api.create({ file1: jpeg.subarray(0, jpeg.length >> 1), file2: photo(q.gallery) }, { channel: 'WEB', reference: '0006' });
      assert.equal(broken.status, 200, JSON.stringify(broken.body));
      assert.equal(broken.body.compare_result, 'Failed to open file1');
      assert.equal(broken.body.compare_similarity, -1);
      assert.equal(broken.body.face1, null);
      const broken2 = await api.create({ file1: photo(q.gallery), file2: jpeg.subarray(0, 800) }, { channel: 'WEB', reference: '0007' });
      assert.equal(broken2.body.compare_result, 'Failed to open file2');
      assert.equal(broken2.body.face2, null);

      // The SDK gateway's path, with a JSON body of base64 photos (KBY-AI's base64 names too).
      const viaSdk = await api.request('POST', '/face-recognition-sdk/v1/compare_face', {
        json: { base64_1: photo(p.gallery).toString('base64'), file2: `data:image/jpeg;base64,${photo(p.probes[0]).toString('base64')}`, channel: 'WEB', reference: '0008' },
      });
      assert.equal(viaSdk.status, 200, JSON.stringify(viaSdk.body));
      assert.equal(viaSdk.body.compare_result, 'Same person');
      assert.ok(Math.abs(viaSdk.body.compare_similarity - same.body.compare_similarity) < 1e-6, 'the same photos score the same');

      created.push(same.body, different.body, noFace2.body, noFace1.body, broken.body, broken2.body, viaSdk.body);
      // Each scan reads back as it was answered.
      for (const s of created) {
        const r = await api.get(`/v1/face-recognition/${s.id}`);
        assert.equal(r.status, 200);
        assert.deepEqual(r.body, s);
      }
      // Each scan is one recognition event: the compared ones with their cosine, the others without a score.
      await server.services.events.flush();
      const events = await server.db.query<{ scan: string; similarity: number | null; verdict: string; result: string }>(
        `SELECT attributes->>'scan' AS scan, similarity, verdict, attributes->>'result' AS result FROM recognition_events WHERE dialect = 'scans'`,
      );
      for (const s of created) {
        const mine = events.rows.filter((e) => e.scan === s.id);
        assert.equal(mine.length, 1, `events of scan ${s.compare_result}`);
        assert.equal(mine[0].result, s.compare_result);
        const compared = s.compare_similarity >= 0;
        assert.equal(mine[0].similarity !== null, compared);
        assert.equal(mine[0].verdict, s.compare_result === 'Same person' ? 'match' : 'no_match');
      }
    });

    it('measures each face: closed eyes, pose, luminance, a mask, the mouth', async () => {
      const closed = photo('misc/eyes_close_eyes.jpeg');
      const open = photo('misc/eyes_open_eyes.png');
      const eyes = await api.create({ file1: closed, file2: open });
      assert.equal(eyes.status, 200, JSON.stringify(eyes.body));
      assert.ok(eyes.body.face1.left_eye_closed > 0.5 && eyes.body.face1.right_eye_closed > 0.5, JSON.stringify(eyes.body.face1));
      assert.ok(eyes.body.face2.left_eye_closed < 0.5 && eyes.body.face2.right_eye_closed < 0.5, JSON.stringify(eyes.body.face2));

      const left = photo('misc/pose_left_face.jpeg');
      const right = photo('misc/pose_right_face.png');
      const pose = await api.create({ file1: left, file2: right });
      assert.ok(Math.sign(pose.body.face1.yaw) === -Math.sign(pose.body.face2.yaw), `yaw ${pose.body.face1.yaw} vs ${pose.body.face2.yaw}`);
      assert.ok(Math.abs(pose.body.face1.yaw) > 10 && Math.abs(pose.body.face2.yaw) > 10);

      // The same photo at half brightness: the same box and person, a darker face.
      const bright = photo(people[2].gallery);
      const dark = await sharp(bright).modulate({ brightness: 0.5 }).jpeg({ quality: 95 }).toBuffer();
      const light = await api.create({ file1: bright, file2: dark });
      assert.equal(light.body.compare_result, 'Same person');
      assert.ok(light.body.face2.face_luminance < 0.7 * light.body.face1.face_luminance, `${light.body.face1.face_luminance} -> ${light.body.face2.face_luminance}`);
      assert.ok(Math.abs(light.body.face1.eye_dist - light.body.face2.eye_dist) < 3);

      const mask = await api.create({ file1: photo('mask/with_mask/0932.jpg'), file2: bright });
      assert.ok(mask.body.face1.face_occlusion > 0.5 && mask.body.face2.face_occlusion < 0.5, `${mask.body.face1.face_occlusion} vs ${mask.body.face2.face_occlusion}`);

      // A surprised face with its mouth wide open, and a neutral one.
      const mouth = await api.create({ file1: photo('lfw/Gregg_Popovich/Gregg_Popovich_0005.jpg'), file2: photo('lfw/Abdul_Rahman/Abdul_Rahman_0001.jpg') });
      assert.ok(mouth.body.face1.mouth_opened > 0.3 && mouth.body.face2.mouth_opened < 0.15, `${mouth.body.face1.mouth_opened} vs ${mouth.body.face2.mouth_opened}`);

      // A face filling the whole photo (its background ring lies outside the image): every field measured.
      const filling = photo('mask/with_mask/0_0_52.jpg');
      const full = await api.create({ file1: filling, file2: filling });
      assert.equal(full.status, 200, JSON.stringify(full.body));
      assert.equal(full.body.compare_result, 'Same person');
      for (const f of [full.body.face1, full.body.face2]) assertFace(f, 'face filling the photo');
      for (const r of [eyes, pose, light, mask, mouth, full]) created.push(r.body);
    });

    it('keeps the photos only when configured, and deletes them with the scan', async () => {
      const scan = created[0];
      const r = await api.get(`/v1/face-recognition/${scan.id}/file1`);
      const stored = await count(server, 'scan_photos WHERE scan_id = $1', [scan.id]);
      if (store.savePhotos) {
        assert.equal(r.status, 200);
        assert.equal(r.headers.get('content-type'), 'image/jpeg');
        assert.ok(Buffer.compare(r.body, photo(people[0].gallery)) === 0, 'the bytes as uploaded');
        assert.equal(stored, 2);
      } else {
        assertSpringError(r, 404, /SCANS_SAVE_PHOTOS/);
        assert.equal(await count(server, 'scan_photos'), 0);
      }
      assertSpringError(await apiB.get(`/v1/face-recognition/${scan.id}/file1`), 404);
      // Retention: a scan older than the retention goes, with its photos; newer ones stay.
      const old = await api.create({ file1: photo(people[3].gallery), file2: photo(people[3].probes[0]) }, { channel: 'WEB', reference: 'old' });
      await server.db.query(`UPDATE scans SET created_at = now() - interval '40 days' WHERE id = $1`, [old.body.id]);
      const total = await count(server, 'scans');
      assert.equal(await new ScanRetention(server.db, 30).runOnce(), 1);
      assert.equal(await count(server, 'scans'), total - 1);
      assert.equal(await count(server, 'scan_photos WHERE scan_id = $1', [old.body.id]), 0);
      assertSpringError(await api.get(`/v1/face-recognition/${old.body.id}`), 404);
      assert.equal(await new ScanRetention(server.db, 0).runOnce(), 0, 'retention 0 keeps everything');
    });

    it('keeps each company to its own scans', async () => {
      const mine = await apiB.create({ file1: photo(people[1].gallery), file2: photo(people[1].probes[0]) }, { channel: 'WEB', reference: 'b-1' });
      assert.equal(mine.status, 200);
      assert.equal(mine.body.companyId, COMPANY_B);
      const theirs = created[0];
      assertSpringError(await apiB.get(`/v1/face-recognition/${theirs.id}`), 404, /not found/);
      const adminB = apiB.as(await idp.token({ companyId: COMPANY_B, roles: ['scans-update'] }));
      assertSpringError(await adminB.put(`/v1/face-recognition/${theirs.id}`, { compareResult: 'Different person' }), 404);
      assert.equal((await api.get(`/v1/face-recognition/${theirs.id}`)).body.compare_result, theirs.compare_result, 'unchanged');
      const listB = await apiB.get('/v1/face-recognition?size=100');
      assert.deepEqual(
        listB.body.content.map((s: Json) => s.id),
        [mine.body.id],
      );
      const listA = await api.get('/v1/face-recognition?size=100');
      assert.ok(!listA.body.content.some((s: Json) => s.id === mine.body.id));
      assertSpringError(await api.get(`/v1/face-recognition/${mine.body.id}`), 404);

      // faceserver's own tokens: a client whose key's collection is company A's id sees company A's scans.
      const client = await clientToken(server, COMPANY_A);
      const viaClient = api.as(client.token);
      assert.equal((await viaClient.get(`/v1/face-recognition/${theirs.id}`)).body.id, theirs.id);
      assertSpringError(await viaClient.get(`/v1/face-recognition/${mine.body.id}`), 404);
      const byClient = await viaClient.create({ file1: photo(people[0].gallery), file2: photo(people[1].gallery) });
      assert.equal(byClient.body.companyId, COMPANY_A);
      assert.equal(byClient.body.createdById, client.clientId);
      created.push(byClient.body);
      // A client of another company does not.
      const other = api.as((await clientToken(server, 'company-c')).token);
      assertSpringError(await other.get(`/v1/face-recognition/${theirs.id}`), 404);
      assert.equal((await other.get('/v1/face-recognition')).body.totalElements, 0);
    });

    it('pages, sorts and filters in the Spring Data way', async () => {
      const all = await api.get('/v1/face-recognition?size=2000');
      assert.equal(all.status, 200);
      const total = all.body.totalElements;
      assert.equal(total, await count(server, 'scans WHERE company = $1', [COMPANY_A]));
      assert.ok(total >= 10, `${total} scans`);
      // Newest first by default.
      const dates = all.body.content.map((s: Json) => s.createdDate);
      assert.deepEqual(dates, [...dates].sort().reverse());

      const first = await api.get('/v1/face-recognition?page=0&size=3');
      assert.equal(first.body.content.length, 3);
      assert.equal(first.body.totalElements, total);
      assert.equal(first.body.totalPages, Math.ceil(total / 3));
      assert.equal(first.body.number, 0);
      assert.equal(first.body.size, 3);
      assert.equal(first.body.first, true);
      assert.equal(first.body.last, false);
      assert.equal(first.body.numberOfElements, 3);
      assert.deepEqual(first.body.pageable, { pageNumber: 0, pageSize: 3, sort: { empty: true, sorted: false, unsorted: true }, offset: 0, paged: true, unpaged: false });
      const ids: string[] = [];
      for (let page = 0; page < first.body.totalPages; page++) {
        const r = await api.get(`/v1/face-recognition?page=${page}&size=3`);
        ids.push(...r.body.content.map((s: Json) => s.id));
        assert.equal(r.body.last, page === first.body.totalPages - 1);
      }
      assert.equal(new Set(ids).size, total, 'every scan once across the pages');
      const beyond = await api.get(`/v1/face-recognition?page=${first.body.totalPages}&size=3`);
      assert.equal(beyond.status, 200);
      assert.deepEqual(beyond.body.content, []);
      assert.equal(beyond.body.empty, true);

      const bySimilarity = await api.get('/v1/face-recognition?size=2000&sort=compareSimilarity,asc');
      const sims = bySimilarity.body.content.map((s: Json) => s.compare_similarity);
      assert.deepEqual(sims, [...sims].sort((a: number, b: number) => a - b));
      assert.equal(bySimilarity.body.sort.sorted, true);
      const twoKeys = await api.get('/v1/face-recognition?size=2000&sort=compareResult&sort=createdDate,desc');
      const results = twoKeys.body.content.map((s: Json) => s.compareResult);
      assert.deepEqual(results, [...results].sort());
      const byRef = await api.get('/v1/face-recognition?reference=0002');
      assert.deepEqual(
        byRef.body.content.map((s: Json) => s.reference),
        ['0002'],
      );

      for (const bad of ['page=-1', 'page=x', 'size=0', 'size=2001', 'sort=password', 'sort=,desc']) {
        assertSpringError(await api.get(`/v1/face-recognition?${bad}`), 400);
      }
    });

    it('updates the verdict fields with the update role, and keeps the rest', async () => {
      const scan = created[1];
      assertSpringError(await api.put(`/v1/face-recognition/${scan.id}`, { compareResult: 'Same person' }), 403, /scans-update/);
      const before = (await api.get(`/v1/face-recognition/${scan.id}`)).body;
      const r = await admin.put(`/v1/face-recognition/${scan.id}`, {
        ...before,
        compareResult: 'same PERSON',
        compareSimilarity: 0.95,
        salesChannel: 'other',
        createdDate: '2001-01-01T00:00:00Z',
        elapsedTime: 99,
        createdById: 'someone-else',
        updatedById: 'someone-else',
      });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.compareResult, 'Same person');
      assert.equal(r.body.compare_result, 'Same person');
      assert.equal(r.body.compareSimilarity, 0.95);
      assert.equal(r.body.salesChannel, 'OTHER');
      assert.equal(r.body.channel, 'OTHER');
      for (const kept of ['createdDate', 'created', 'elapsedTime', 'createdById', 'face1', 'face2', 'reference', 'companyId']) {
        assert.deepEqual(r.body[kept], before[kept], kept);
      }
      assert.ok(r.body.updatedDate && Date.parse(r.body.updatedDate) >= Date.parse(before.createdDate));
      assert.notEqual(r.body.updatedById, 'someone-else');
      assert.match(r.body.updatedById, UUID_RE, 'the token\'s subject');
      assert.deepEqual((await api.get(`/v1/face-recognition/${scan.id}`)).body, r.body);
      // Absent and null fields stay.
      const again = await admin.put(`/v1/face-recognition/${scan.id}`, { compareSimilarity: null, salesChannel: 'WEB' });
      assert.equal(again.body.compareSimilarity, 0.95);
      assert.equal(again.body.compareResult, 'Same person');
      assert.equal(again.body.salesChannel, 'WEB');

      // The engine's own verdict stays in the recognition event.
      await server.services.events.flush();
      const ev = await server.db.query<{ verdict: string }>(`SELECT verdict FROM recognition_events WHERE attributes->>'scan' = $1`, [scan.id]);
      assert.equal(ev.rows[0].verdict, 'no_match');

      const path = `/v1/face-recognition/${scan.id}`;
      assertSpringError(await admin.put(path, { compareResult: 'Maybe' }), 400, /compareResult/);
      assertSpringError(await admin.put(path, { compareSimilarity: 2 }), 400, /compareSimilarity/);
      assertSpringError(await admin.put(path, { compareSimilarity: 'high' }), 400, /compareSimilarity/);
      assertSpringError(await admin.put(path, { salesChannel: 'FAX' }), 400, /salesChannel/);
      assertSpringError(await admin.put(path, { id: crypto.randomUUID() }), 400, /does not match/);
      assertSpringError(await admin.put(path, { companyId: COMPANY_B }), 400, /companyId/);
      assertSpringError(await admin.put(path, [1, 2]), 400);
      assertSpringError(await admin.request('PUT', path, { body: 'compareResult=Same', headers: { 'content-type': 'text/plain' } }), 415);
      assertSpringError(await admin.request('PUT', path), 400, /body is missing/);
      assertSpringError(await admin.put(`/v1/face-recognition/${crypto.randomUUID()}`, { compareResult: 'Same person' }), 404);
      assertSpringError(await admin.put('/v1/face-recognition/not-a-uuid', { compareResult: 'Same person' }), 400, /UUID/);
      assert.deepEqual((await api.get(path)).body, again.body, 'none of the bad updates changed it');

      // faceserver's own tokens: the write scope updates; a client without it may not.
      const writer = api.as((await clientToken(server, COMPANY_A)).token);
      assert.equal((await writer.put(path, { compareResult: 'Different person' })).body.compareResult, 'Different person');
      const reader = api.as((await clientToken(server, COMPANY_A, { scopes: ['verify', 'read'] })).token);
      assertSpringError(await reader.put(path, { compareResult: 'Same person' }), 403, /write/);
    });

    it('refuses bad input in Spring\'s error shape and stores nothing', async () => {
      await server.services.events.flush();
      const scansBefore = await count(server, 'scans');
      const photosBefore = await count(server, 'scan_photos');
      const eventsBefore = await count(server, 'recognition_events');
      const [p] = people;
      const good = { file1: photo(p.gallery), file2: photo(p.probes[0]) };
      assertSpringError(await api.create({ file1: good.file1 }), 400, /file2/);
      assertSpringError(await api.create({ file2: good.file2 }), 400, /file1/);
      assertSpringError(await api.create({ file1: Buffer.from('%PDF-1.4 an identity document as a PDF'), file2: good.file2 }), 400, /file1/);
      assertSpringError(await api.create({ file1: good.file1, file2: Buffer.from('plain text') }), 400, /file2/);
      const huge = await sharp(photo(p.gallery)).resize(3000, 3000).jpeg({ quality: 100 }).toBuffer();
      assert.ok(huge.length < 5 * 1024 * 1024);
      const tooBig = Buffer.concat([huge, Buffer.alloc(5 * 1024 * 1024 - huge.length + 100, 0)]); // a JPEG padded past MAX_IMAGE_BYTES
      assertSpringError(await api.create({ file1: tooBig, file2: good.file2 }), 413);
      const tooManyPixels = await sharp({ create: { width: 8000, height: 7000, channels: 3, background: '#808080' } }).jpeg({ quality: 10 }).toBuffer();
      assertSpringError(await api.create({ file1: good.file1, file2: tooManyPixels }), 413, /file2/);
      assertSpringError(await api.create(good, { channel: 'FAX', reference: 'x' }), 400, /channel/);
      assertSpringError(await api.create(good, { reference: 'x' }), 400, /channel/);
      assertSpringError(await api.create(good, { channel: 'WEB' }), 400, /reference/);
      assertSpringError(await api.create(good, { channel: 'WEB', reference: 'r'.repeat(256) }), 400, /reference/);
      assertSpringError(await api.request('POST', '/v1/face-recognition', { json: { file1: '@@not base64@@', file2: good.file2.toString('base64'), channel: 'WEB', reference: 'x' } }), 400, /file1/);
      assertSpringError(await api.request('POST', '/v1/face-recognition', { body: '{"file1": ', headers: { 'content-type': 'application/json' } }), 400);
      assertSpringError(await api.get('/v1/face-recognition/not-a-uuid'), 400, /UUID/);
      assertSpringError(await api.get(`/v1/face-recognition/${crypto.randomUUID()}`), 404, /not found/);
      assertSpringError(await api.request('DELETE', `/v1/face-recognition/${created[0].id}`), 405);
      assertSpringError(await api.get('/face-recognition-sdk/v1/nothing'), 404);
      // Expired and foreign tokens, on a request that would otherwise store a scan.
      assertUnauthorized(await api.as(await idp.token({}, { expiresIn: -120 })).create(good), /expired/);
      assertUnauthorized(await api.as(await idp.token({}, { stranger: true })).create(good), /signature/);
      assertUnauthorized(await api.as(undefined).create(good));
      await server.services.events.flush();
      assert.equal(await count(server, 'scans'), scansBefore);
      assert.equal(await count(server, 'scan_photos'), photosBefore);
      assert.equal(await count(server, 'recognition_events'), eventsBefore);
    });

    it('validates provider tokens: expiry with clock skew, issuer, audience, signature, algorithm, company', async () => {
      const list = (token: string | undefined) => api.as(token).get('/v1/face-recognition?size=1');
      assert.equal((await list(await idp.token())).status, 200);
      assert.equal((await list(await idp.token({}, { expiresIn: -30 }))).status, 200, 'expired 30 s ago: within the 60 s of skew');
      assertUnauthorized(await list(await idp.token({}, { expiresIn: -120 })), /expired at/);
      assertUnauthorized(await list(await idp.token({}, { noExp: true })), /"exp"/);
      assertUnauthorized(await list(await idp.token({}, { notBefore: 600 })), /not valid yet/);
      assertUnauthorized(await list(await idp.token({ iss: `${idp.url}/realms/other` })), /issuer/);
      assertUnauthorized(await list(await idp.token({ aud: 'another-service' })), /audience/);
      assert.equal((await list(await idp.token({ aud: ['account', AUDIENCE] }))).status, 200, 'one of several audiences');
      assertUnauthorized(await list(await idp.token({}, { stranger: true })), /signature/);
      assertUnauthorized(await list(await idp.token({}, { kid: 'acme-unknown' })), /key/);
      // A token signed with a shared secret (HS256) or not at all.
      const now = Math.floor(Date.now() / 1000);
      const hs = await new SignJWT({ companyId: COMPANY_A })
        .setProtectedHeader({ alg: 'HS256', kid: 'acme-1' })
        .setIssuer(idp.issuer)
        .setAudience(AUDIENCE)
        .setExpirationTime(now + 60)
        .sign(new TextEncoder().encode('a shared secret of thirty-two bytes!!'));
      assertUnauthorized(await list(hs));
      const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ iss: idp.issuer, aud: AUDIENCE, exp: now + 60, companyId: COMPANY_A })).toString('base64url')}.`;
      assertUnauthorized(await list(unsigned));
      assertUnauthorized(await list('not.a.jwt'), /not a JWT/);
      const r = await list(undefined);
      assertUnauthorized(r);
      assert.equal(r.headers.get('www-authenticate'), 'Bearer', 'no error code when no token was sent (RFC 6750)');
      assertUnauthorized(await api.request('GET', '/v1/face-recognition', { headers: { authorization: 'Basic dXNlcjpwYXNz' } }), /Authorization scheme/);
      assertSpringError(await list(await idp.token({ companyId: undefined })), 403, /company/);
      assert.equal((await list(await idp.token({ companyId: COMPANY_B }))).body.totalElements, 1);
      if (store.jwksUrl) assert.ok(idp.jwksRequests >= 1);
    });

    it('issues client-credentials tokens (RFC 6749) and publishes their keys', async () => {
      const clientId = `kiosk-${store.name}`;
      const { key } = await server.services.keys.create('scans', { user: clientId });
      const token = (body: Record<string, string>, headers: Record<string, string> = {}) =>
        fetch(`${server.url}/oauth2/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(body) }).then(
          async (res) => ({ status: res.status, headers: res.headers, body: (await res.json()) as Json }),
        );
      const basic = (id: string, secret: string) => ({ authorization: `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}` });
      const r = await token({ grant_type: 'client_credentials', client_id: clientId, client_secret: key });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.token_type, 'Bearer');
      assert.equal(r.body.expires_in, 300);
      assert.equal(r.body.scope, 'detect verify identify read write');
      assert.equal(r.headers.get('cache-control'), 'no-store');
      // Verifiable by anyone with the published keys; the client is its own company (its key names no collection).
      const jwks = await (await fetch(`${server.url}/oauth2/jwks`)).json();
      assert.equal(jwks.keys.length, 1);
      assert.equal(jwks.keys[0].d, undefined, 'no private part');
      const { payload, protectedHeader } = await jwtVerify(r.body.access_token, createLocalJWKSet(jwks), { issuer: 'faceserver', audience: 'scans' });
      assert.equal(protectedHeader.typ, 'at+jwt');
      assert.equal(payload.sub, clientId);
      assert.equal(payload.companyId, clientId);
      assert.ok(payload.exp! - payload.iat! === 300);
      const own = api.as(r.body.access_token);
      assert.equal((await own.get('/v1/face-recognition')).body.totalElements, 0);

      const viaBasic = await token({ grant_type: 'client_credentials', scope: 'read' }, basic(clientId, key));
      assert.equal(viaBasic.status, 200, JSON.stringify(viaBasic.body));
      assert.equal(viaBasic.body.scope, 'read');
      assertSpringError(await api.as(viaBasic.body.access_token).create({ file1: photo(people[0].gallery), file2: photo(people[0].probes[0]) }), 403, /verify/);

      const wrong = await token({ grant_type: 'client_credentials' }, basic(clientId, `${key}x`));
      assert.equal(wrong.status, 401);
      assert.equal(wrong.body.error, 'invalid_client');
      assert.match(wrong.headers.get('www-authenticate') ?? '', /^Basic/);
      assert.equal((await token({ grant_type: 'client_credentials', client_id: 'nobody', client_secret: key })).body.error, 'invalid_client');
      assert.equal((await token({ grant_type: 'password', client_id: clientId, client_secret: key })).body.error, 'unsupported_grant_type');
      assert.equal((await token({ client_id: clientId, client_secret: key })).body.error, 'invalid_request');
      assert.equal((await token({ grant_type: 'client_credentials', scope: 'read admin' }, basic(clientId, key))).body.error, 'invalid_scope');
      assert.equal((await token({ grant_type: 'client_credentials' })).status, 401);
      // A key of another kind is no client; a revoked client gets no more tokens.
      const { key: recognitionKey } = await server.services.keys.create('recognition');
      assert.equal((await token({ grant_type: 'client_credentials', client_id: clientId, client_secret: recognitionKey })).body.error, 'invalid_client');
      await server.services.keys.revoke(clientId);
      assert.equal((await token({ grant_type: 'client_credentials', client_id: clientId, client_secret: key })).body.error, 'invalid_client');
      // A token of faceserver's signed by another key does not pass.
      const forged = await new SignJWT({ companyId: COMPANY_A, scope: 'read write', client_id: 'x' })
        .setProtectedHeader({ alg: 'ES256', kid: jwks.keys[0].kid, typ: 'at+jwt' })
        .setIssuer('faceserver')
        .setAudience('scans')
        .setSubject('x')
        .setExpirationTime('5m')
        .sign((await generateKeyPair('ES256')).privateKey);
      assertUnauthorized(await api.as(forged).get('/v1/face-recognition'), /signature/);
    });

    it('serves its OpenAPI document, equal to its routes', async () => {
      const dialect = server.dialects.find((d) => d.name === 'scans')!;
      const key = (r: { method: string; path: string }) => `${r.method} ${r.path}`;
      assert.deepEqual(servedRoutes(dialect.router).map(key).sort(), documentedRoutes(SCANS_OPENAPI).map(key).sort());
      const res = await fetch(`${server.url}/openapi/scans.json`);
      assert.equal(res.status, 200);
      assert.equal(((await res.json()) as Json).info.title, SCANS_OPENAPI.info.title);
    });
  });
}
