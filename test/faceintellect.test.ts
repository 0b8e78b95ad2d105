// The Face Intellect Face Recognition Server API (issue 14), black-box over HTTP on real photos from
// ../shared/facedata, on the embedded store and on real PostgreSQL: persons created with their photos and read
// back newest first in pages; FindFaces on enrolled people, people never enrolled and photos with several faces,
// with Sim from the calibrated scale; the recognition counters in SQL; updates, deletions and images; automatic
// persons across repeated sightings, renamed and merged; a CompreFace subject found here and a person made here
// recognized through CompreFace; HTTP Basic keys that see only their own servers, anonymous servers; every bad
// input answered in the product's Status envelope with nothing stored; the OpenAPI document equal to the routes.
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { documentedRoutes, servedRoutes } from '../src/http/openapi';
import type { RunningServer } from '../src/server';
import { FACE_INTELLECT_OPENAPI } from '../src/dialects/faceintellect/openapi';
import { FAR_ANCHORS, MATCH_SIM, simScale } from '../src/dialects/faceintellect/similarity';
import { loadCalibration } from '../src/domain/calibration';
import { DomainError } from '../src/domain/errors';
import { FaceIntellectError, renderFaceIntellectError } from '../src/dialects/faceintellect/errors';
import { Api, countRows, identificationSet, photo, requireFacedata, type Person } from './support/compreface';
import { createTempDatabase, requirePostgres, type TempDatabase } from './support/postgres';
import { startTestServer } from './support/server';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
interface Reply {
  status: number;
  headers: Headers;
  body: Json;
}

const GUID_RE = /^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/;
const TIME_RE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}$/;
const PERSON_KEYS = [
  'AutoCreated', 'Comment', 'Department', 'Id', 'ImageId', 'LastRecognitionTimestamp', 'Name', 'Patronymic', 'RecognitionCount', 'Surname', 'Timestamp',
]; // prettier-ignore
const FACE_KEYS = [
  'PersonList', 'ProcessedPersons', 'ProcessedPersonsDuration', 'eyeLeftX', 'eyeLeftY', 'eyeRightX', 'eyeRightY', 'faceRectHeight', 'faceRectLeft',
  'faceRectTop', 'faceRectWidth', 'quality',
]; // prettier-ignore
const PRODUCT_CODES = [
  'FAILED_TO_ADD_PERSON', 'FACE_NOT_FOUND', 'MAXIMUM_FIRS', 'SERVER_NOT_READY', 'FAILED_TO_DELETE_PERSON', 'FAILED_TO_ADD_PERSON_MANY_FACES',
  'FAILED_TO_SAVE_DATABASE', 'FAILED_TO_UPDATE_PERSON',
]; // prettier-ignore

/** A Face Intellect client: JSON bodies to /firserver/..., HTTP Basic credentials when it has some. */
class Fi {
  constructor(
    readonly base: string,
    readonly user?: string,
    readonly password?: string,
    /** Path segments in front of /firserver (the documented http://host:port/prefix/firserver/... form). */
    readonly prefix = '',
  ) {}

  as(user?: string, password?: string): Fi {
    return new Fi(this.base, user, password, this.prefix);
  }

  behind(prefix: string): Fi {
    return new Fi(this.base, this.user, this.password, prefix);
  }

  async request(method: string, path: string, o: { json?: unknown; body?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
    const headers: Record<string, string> = {
      ...(this.user !== undefined ? { authorization: `Basic ${Buffer.from(`${this.user}:${this.password}`).toString('base64')}` } : {}),
      ...o.headers,
    };
    let body: string | undefined = o.body;
    if (o.json !== undefined) body = JSON.stringify(o.json);
    if (body !== undefined) headers['content-type'] ??= 'application/json';
    const res = await fetch(`${this.base}${this.prefix}/firserver/${path}`, { method, headers, body });
    const type = res.headers.get('content-type') ?? '';
    const payload = type.includes('json') ? await res.json() : Buffer.from(await res.arrayBuffer());
    return { status: res.status, headers: res.headers, body: payload };
  }

  post(path: string, json: unknown): Promise<Reply> {
    return this.request('POST', path, { json });
  }

  find(server: string, image: Buffer, findPersons = 3): Promise<Reply> {
    return this.post('FindFaces', { server_id: server, findPersons, image: image.toString('base64') });
  }

  async create(server: string, image: Buffer, fields: Record<string, unknown>): Promise<string> {
    const r = await this.post('CreatePerson', { server_id: server, objectType: 'PERSON', image: image.toString('base64'), ...fields });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body, { Status: 'SUCCESS', Result: r.body.Result, Description: '' });
    assert.match(r.body.Result, GUID_RE);
    return r.body.Result;
  }

  async read(server: string, extra: Record<string, unknown> = {}): Promise<Json> {
    const r = await this.post('ReadPersons', { server_id: server, objectType: 'PERSON', id: [], page: 1, pageSize: 100, ...extra });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body.Response, { Status: 'OK' });
    return r.body;
  }
}

/** The product's error envelope: the code in Status and Response.Status, the text in Description. */
function assertError(r: Reply, status: number, code: string, description?: RegExp): void {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.equal(r.body.Status, code, JSON.stringify(r.body));
  assert.equal(r.body.Response?.Status, code);
  assert.equal(r.body.Result, '');
  assert.equal(typeof r.body.Description, 'string');
  if (description) assert.match(r.body.Description, description);
}

function assertPerson(p: Json, what: string): void {
  const keys = Object.keys(p).filter((k) => k !== 'Sim');
  assert.deepEqual(keys.sort(), PERSON_KEYS, what);
  assert.match(p.Id, GUID_RE, what);
  assert.match(p.Timestamp, TIME_RE, what);
  if (p.ImageId !== '') assert.match(p.ImageId, GUID_RE, what);
  if (p.LastRecognitionTimestamp !== '') assert.match(p.LastRecognitionTimestamp, TIME_RE, what);
  assert.equal(typeof p.AutoCreated, 'boolean');
  assert.ok(Number.isInteger(p.RecognitionCount));
}

function assertFace(f: Json, what: string): void {
  assert.deepEqual(Object.keys(f).sort(), FACE_KEYS, what);
  assert.ok(f.quality >= 0 && f.quality <= 1, `${what}: quality ${f.quality}`);
  for (const k of ['faceRectLeft', 'faceRectTop', 'faceRectWidth', 'faceRectHeight', 'ProcessedPersons', 'ProcessedPersonsDuration']) {
    assert.ok(Number.isInteger(f[k]), `${what}: ${k} ${f[k]}`);
  }
  // The eyes lie in the face rectangle, the left one (in the image) left of the right one.
  for (const [x, y] of [
    [f.eyeLeftX, f.eyeLeftY],
    [f.eyeRightX, f.eyeRightY],
  ]) {
    assert.ok(x > f.faceRectLeft && x < f.faceRectLeft + f.faceRectWidth && y > f.faceRectTop && y < f.faceRectTop + f.faceRectHeight, `${what}: eye ${x},${y}`);
  }
  assert.ok(f.eyeLeftX < f.eyeRightX, what);
  for (const p of f.PersonList) {
    assertPerson(p, what);
    assert.equal(typeof p.Sim, 'string');
    assert.ok(Number(p.Sim) >= 0 && Number(p.Sim) <= 1, `${what}: Sim ${p.Sim}`);
  }
}

/** Two photos side by side on a grey background: a real group of two enrolled people. */
async function sideBySide(a: Buffer, b: Buffer): Promise<Buffer> {
  const [ma, mb] = await Promise.all([sharp(a).metadata(), sharp(b).metadata()]);
  const width = ma.width! + mb.width! + 60;
  const height = Math.max(ma.height!, mb.height!) + 40;
  return sharp({ create: { width, height, channels: 3, background: { r: 128, g: 128, b: 128 } } })
    .composite([
      { input: a, left: 20, top: 20 },
      { input: b, left: ma.width! + 40, top: 20 },
    ])
    .jpeg()
    .toBuffer();
}

/** A real photo without a face: a corner of a wall in a big group photo. */
function noFacePhoto(): Promise<Buffer> {
  return sharp(photo('groups/insightface_ssh_t2.jpg')).extract({ left: 0, top: 0, width: 600, height: 400 }).jpeg().toBuffer();
}

async function count(server: RunningServer, sql: string, args: unknown[] = []): Promise<number> {
  const r = await server.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, args);
  return r.rows[0].n;
}

describe('Face Intellect Sim scale', () => {
  it('passes through its anchors at their false-accept rates, strictly increasing from 0 to 1', () => {
    const calibration = loadCalibration();
    const scale = simScale(calibration);
    for (const a of FAR_ANCHORS) assert.ok(Math.abs(scale.sim(calibration.cosineAtFar(a.far)) - a.sim) < 1e-9, `FAR ${a.far}`);
    assert.equal(scale.sim(-1), 0);
    assert.equal(scale.sim(1), 1);
    assert.ok(Math.abs(calibration.far(scale.matchCosine) - 1e-3) < 2e-4, `FAR at the match cut: ${calibration.far(scale.matchCosine)}`);
    let last = -1;
    for (let c = -1; c <= 1; c += 0.01) {
      const sim = scale.sim(c);
      assert.ok(sim > last, `not increasing at cosine ${c}`);
      assert.ok(Math.abs(scale.cosine(sim) - c) < 1e-9);
      last = sim;
    }
  });
});

describe('Face Intellect error rendering', () => {
  it('gives each failure the code of what the request was doing, retry hints and no internals', () => {
    const busy = renderFaceIntellectError(new FaceIntellectError('find', new DomainError('BUSY', 'queue full')));
    assert.equal(busy.status, 503);
    assert.equal((busy.body as Json).Status, 'SERVER_NOT_READY');
    assert.equal(busy.headers?.['Retry-After'], '1');
    const down = renderFaceIntellectError(new DomainError('UNAVAILABLE', 'database down'));
    assert.equal((down.body as Json).Response.Status, 'SERVER_NOT_READY');
    assert.equal(down.headers?.['Retry-After'], '1');
    const crash = renderFaceIntellectError(new FaceIntellectError('add', new Error('connection string postgres://secret@db')));
    assert.equal(crash.status, 500);
    assert.deepEqual(crash.body, {
      Status: 'FAILED_TO_SAVE_DATABASE',
      Result: '',
      Description: 'Failed to save person. Check request parameters or database',
      Response: { Status: 'FAILED_TO_SAVE_DATABASE', Description: 'Failed to save person. Check request parameters or database' },
    });
    for (const [op, code] of [['update', 'FAILED_TO_UPDATE_PERSON'], ['delete', 'FAILED_TO_DELETE_PERSON'], ['read', 'INTERNAL_ERROR']] as const) {
      const r = renderFaceIntellectError(new FaceIntellectError(op, new Error('x')));
      assert.equal((r.body as Json).Status, code, op);
      assert.doesNotMatch(JSON.stringify(r.body), /"x"/);
    }
    const forbidden = renderFaceIntellectError(new FaceIntellectError('add', new DomainError('FORBIDDEN', 'this key may not write')));
    assert.equal(forbidden.status, 403);
    assert.equal((forbidden.body as Json).Status, 'FORBIDDEN');
  });
});

const STORES = [
  // Embedded: photos kept, quality from the engine's quality block (the defaults).
  { name: 'embedded', saveImages: true, qualityBlock: true },
  // PostgreSQL: photos not kept, quality the detector's confidence.
  { name: 'postgres', saveImages: false, qualityBlock: false },
] as const;

for (const store of STORES) {
  describe(`Face Intellect API on the ${store.name} store`, function () {
    this.timeout(300_000);
    let server: RunningServer;
    let temp: TempDatabase | undefined;
    let fi: Fi; // key A: servers "front-door" (its first) and "cams"
    let fiB: Fi; // key B: server "warehouse"
    let people: Person[];
    let unknown: string[];
    const ids = new Map<string, string>(); // person name -> Face Intellect Id

    before(async function () {
      requireFacedata(this);
      const env: Record<string, string> = {
        FACEINTELLECT_AUTO_PERSONS: 'cams',
        FACEINTELLECT_ANONYMOUS_SERVERS: 'lobby',
        ...(store.saveImages ? {} : { SAVE_IMAGES: 'false' }),
        ...(store.qualityBlock ? {} : { FACEINTELLECT_QUALITY: 'false' }),
      };
      if (store.name === 'postgres') {
        temp = await createTempDatabase(requirePostgres(this));
        server = await startTestServer({ ...env, DATABASE_URL: temp.url });
      } else {
        server = await startTestServer(env);
      }
      const a = await server.services.keys.create('faceintellect', { user: 'intellect-a', collections: ['front-door', 'cams'] });
      const b = await server.services.keys.create('faceintellect', { user: 'intellect-b', collections: ['warehouse'] });
      fi = new Fi(server.url, 'intellect-a', a.key);
      fiB = fi.as('intellect-b', b.key);
      ({ people, unknown } = identificationSet(6));
    });
    after(async () => {
      await server?.close();
      await temp?.drop();
    });

    it('creates persons with their photos and reads them back newest first, one page at a time', async () => {
      for (const [i, p] of people.slice(0, 4).entries()) {
        const [surname, ...rest] = p.name.split('_').reverse();
        const id = await fi.create('front-door', photo(p.gallery), {
          name: rest.reverse().join(' '),
          surname,
          patronymic: i === 0 ? 'Ivanovich' : '',
          department: `Department ${i}`,
          comment: i === 0 ? 'first' : '',
          createPersonInIntellect: 1,
        });
        ids.set(p.name, id);
      }
      // An id chosen by the client is kept (upper case), and a person without a name shows Name "".
      const chosen = '7bc06491-c30d-450f-bf45-f9f5d680a501';
      assert.equal(await fi.create('1', photo(people[4].gallery), { id: chosen, surname: 'Kramer', department: '' }), chosen.toUpperCase());
      ids.set(people[4].name, chosen.toUpperCase());

      const all = await fi.read('front-door');
      assert.equal(all.Total, 5);
      assert.deepEqual(
        all.PersonList.map((p: Json) => p.Id),
        [...ids.values()].reverse(),
      );
      for (const p of all.PersonList) assertPerson(p, 'ReadPersons');
      const first = all.PersonList.at(-1);
      assert.equal(first.Name + ' ' + first.Surname, people[0].name.replace(/_/g, ' '));
      assert.equal(first.Patronymic, 'Ivanovich');
      assert.equal(first.Department, 'Department 0');
      assert.equal(first.Comment, 'first');
      assert.equal(first.AutoCreated, false);
      assert.equal(first.RecognitionCount, 0);
      assert.equal(first.LastRecognitionTimestamp, '');
      const kramer = all.PersonList[0];
      assert.equal(kramer.Name, '');
      assert.equal(kramer.Surname, 'Kramer');

      // Pages of two: newest first, the documented default page size of one.
      const page2 = await fi.read('front-door', { page: 2, pageSize: 2 });
      assert.equal(page2.Total, 5);
      assert.deepEqual(
        page2.PersonList.map((p: Json) => p.Id),
        all.PersonList.slice(2, 4).map((p: Json) => p.Id),
      );
      const dflt = await fi.post('ReadPersons', { server_id: 'front-door' });
      assert.equal(dflt.body.PersonList.length, 1);
      assert.equal(dflt.body.PersonList[0].Id, kramer.Id);
      const byId = await fi.read('front-door', { id: [first.Id.toLowerCase(), kramer.Id] });
      assert.equal(byId.Total, 2);
      assert.deepEqual(
        byId.PersonList.map((p: Json) => p.Id),
        [kramer.Id, first.Id],
      );
    });

    it('finds enrolled people by photo with Sim on the calibrated scale, and strangers below the cut', async () => {
      for (const p of people.slice(0, 4)) {
        const r = await fi.find('front-door', photo(p.probes[0]), 2);
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.equal(r.body.FaceList.length >= 1, true);
        const face = r.body.FaceList[0];
        assertFace(face, p.name);
        assert.equal(face.ProcessedPersons, 5);
        // Only persons at or above the match Sim: the man himself (the product's own example lists one of 70).
        assert.equal(face.PersonList.length, 1, JSON.stringify(face.PersonList));
        const best = face.PersonList[0];
        assert.equal(best.Id, ids.get(p.name), `${p.name}: found ${best.Name} ${best.Surname}`);
        assert.ok(Number(best.Sim) >= MATCH_SIM, `${p.name}: Sim ${best.Sim}`);
        assert.match(best.ImageId, GUID_RE);
        // This recognition is counted already in the answer.
        assert.ok(best.RecognitionCount >= 1);
      }
      for (const u of unknown.slice(0, 3)) {
        const r = await fi.find('front-door', photo(u), 1);
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.ok(r.body.FaceList.length >= 1, u);
        for (const face of r.body.FaceList) {
          assertFace(face, u);
          assert.deepEqual(face.PersonList, [], `${u}: a stranger found as ${JSON.stringify(face.PersonList)}`);
        }
      }
      // quality is the engine's measure: a blurred copy of a photo scores lower.
      if (store.qualityBlock) {
        const sharpPhoto = photo(people[0].probes[0]);
        const blurred = await sharp(sharpPhoto).blur(4).jpeg().toBuffer();
        const [q1, q2] = await Promise.all([fi.find('front-door', sharpPhoto, 1), fi.find('front-door', blurred, 1)]);
        assert.ok(q2.body.FaceList[0].quality < q1.body.FaceList[0].quality, `blurred ${q2.body.FaceList[0].quality} vs ${q1.body.FaceList[0].quality}`);
      }
      // findPersons 0: the faces, no persons.
      const none = await fi.find('front-door', photo(people[0].probes[0]), 0);
      assert.deepEqual(none.body.FaceList[0].PersonList, []);
    });

    it('finds every enrolled person in a photo of several people', async () => {
      const group = await sideBySide(photo(people[1].probes[0]), photo(people[2].probes[0]));
      const r = await fi.find('front-door', group, 1);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.FaceList.length, 2, JSON.stringify(r.body.FaceList.map((f: Json) => f.PersonList)));
      const byX = [...r.body.FaceList].sort((a: Json, b: Json) => a.faceRectLeft - b.faceRectLeft);
      for (const f of byX) assertFace(f, 'group');
      assert.equal(byX[0].PersonList[0].Id, ids.get(people[1].name));
      assert.equal(byX[1].PersonList[0].Id, ids.get(people[2].name));
      // A real group photo of strangers: every face answered.
      const crowd = await fi.find('front-door', photo('groups/dlib_2007_007763.jpg'), 1);
      assert.equal(crowd.status, 200);
      assert.ok(crowd.body.FaceList.length >= 5, `crowd: ${crowd.body.FaceList.length} faces`);
    });

    it('counts every FindFaces as a recognition event, in SQL history with the dialect and server', async () => {
      const p = people[3];
      const personId = ids.get(p.name)!.toLowerCase();
      await server.services.events.flush();
      const before = await server.db.query<{ recognition_count: number; last_recognized_at: Date | null }>(
        'SELECT recognition_count, last_recognized_at FROM persons WHERE uuid = $1',
        [personId],
      );
      const events = await count(server, "recognition_events WHERE dialect = 'faceintellect'");
      let last: Json;
      for (const probe of [p.probes[0], p.gallery]) {
        last = await fi.find('front-door', photo(probe), 1);
        assert.equal(last.body.FaceList[0].PersonList[0].Id, ids.get(p.name));
      }
      await server.services.events.flush();
      const after = await server.db.query<{ recognition_count: number; last_recognized_at: Date }>('SELECT recognition_count, last_recognized_at FROM persons WHERE uuid = $1', [personId]);
      assert.equal(Number(after.rows[0].recognition_count), Number(before.rows[0].recognition_count) + 2);
      // The answer counts its own recognition; one of the call before may still have been on its way to the database.
      const shown = last.body.FaceList[0].PersonList[0];
      assert.ok(shown.RecognitionCount >= Number(before.rows[0].recognition_count) + 1 && shown.RecognitionCount <= Number(after.rows[0].recognition_count));
      assert.ok(Math.abs(Date.parse(shown.LastRecognitionTimestamp + 'Z') - after.rows[0].last_recognized_at.getTime()) < 5000);
      assert.equal(await count(server, "recognition_events WHERE dialect = 'faceintellect'"), events + 2);
      const rows = await server.db.query<Json>(
        `SELECT e.endpoint, e.verdict, e.attributes->>'server_id' AS server, (e.attributes->>'sim')::float >= ${MATCH_SIM} AS recognized, c.name AS collection, p.uuid::text AS person
           FROM recognition_events e JOIN collections c ON c.id = e.collection_id LEFT JOIN persons p ON p.id = e.person_id
          WHERE e.dialect = 'faceintellect' ORDER BY e.id DESC LIMIT 2`,
      );
      for (const row of rows.rows) assert.deepEqual(row, { endpoint: 'FindFaces', verdict: 'match', server: 'front-door', recognized: true, collection: 'front-door', person: personId });
      // ReadPersons shows the same counters.
      const read = await fi.read('front-door', { id: [ids.get(p.name)] });
      assert.equal(read.PersonList[0].RecognitionCount, Number(after.rows[0].recognition_count));
    });

    it('updates persons, serves their images, and deletes them', async () => {
      const p = people[0];
      const id = ids.get(p.name)!;
      const upd = await fi.post('UpdatePerson', { server_id: 'front-door', id, department: 'Security', comment: '', additionalParams: { phone: '0123456789' } });
      assert.deepEqual(upd.body, { Status: 'SUCCESS', Result: id, Description: '' });
      const [read] = (await fi.read('front-door', { id: [id] })).PersonList;
      assert.equal(read.Department, 'Security');
      assert.equal(read.Comment, '');
      assert.equal(read.Patronymic, 'Ivanovich');
      const named = await fi.post('UpdatePerson', { server_id: 'front-door', id: ids.get(people[4].name), name: 'John' });
      assert.equal(named.status, 200);
      assert.equal((await fi.read('front-door', { id: [ids.get(people[4].name)] })).PersonList[0].Name, 'John');

      // CreatePerson with the id of a person of this server: one more photo of that person, its fields replaced.
      const faces0 = await countRows(server, 'faces');
      assert.equal(await fi.create('front-door', photo(p.probes[0]), { id, name: read.Name, surname: read.Surname, department: 'Security' }), id);
      assert.equal(await countRows(server, 'faces'), faces0 + 1);
      assert.equal((await fi.read('front-door')).Total, 5);
      // A JSON body sent as text/plain is read as JSON.
      const asText = await fi.request('POST', 'ReadPersons', { body: JSON.stringify({ server_id: 'front-door', id: [id] }), headers: { 'content-type': 'text/plain' } });
      assert.equal(asText.body.PersonList[0].Department, 'Security');

      // The image of a person's reference face, by ImageId (GET and POST) and by the person's Id.
      const image = await fi.request('GET', `GetImage?server_id=front-door&id=${read.ImageId}`);
      const byPerson = await fi.post('GetImage', { server_id: 'front-door', id });
      if (store.saveImages) {
        assert.equal(image.status, 200);
        assert.match(image.headers.get('content-type') ?? '', /^image\/jpeg/);
        assert.deepEqual(image.body, photo(p.gallery));
        assert.deepEqual(byPerson.body, photo(p.gallery));
      } else {
        // Photos not kept: the crop of the face cut at enrolment (the console's thumbnail), marked as such.
        const [kept] = (await server.db.query<{ jpeg: Buffer }>('SELECT t.jpeg FROM face_thumbnails t JOIN faces f ON f.id = t.face_id WHERE f.uuid = $1', [read.ImageId.toLowerCase()])).rows;
        assert.ok(kept, 'a crop is kept for the face');
        assert.equal(image.status, 200, JSON.stringify(image.body));
        assert.match(image.headers.get('content-type') ?? '', /^image\/jpeg/);
        assert.equal(image.headers.get('x-image-kind'), 'face-crop');
        assert.deepEqual(image.body, kept.jpeg);
        const meta = await sharp(image.body as Buffer).metadata();
        assert.equal(meta.format, 'jpeg');
        assert.ok(meta.width! > 0 && meta.width! <= 112 && meta.height! <= 112, `${meta.width}x${meta.height}`);
        assert.deepEqual(byPerson.body, kept.jpeg);
        // Neither the photo nor a crop kept (THUMBNAILS=false): IMAGE_NOT_FOUND.
        await server.db.query('DELETE FROM face_thumbnails t USING faces f WHERE f.id = t.face_id AND f.uuid = $1', [read.ImageId.toLowerCase()]);
        assertError(await fi.request('GET', `GetImage?server_id=front-door&id=${read.ImageId}`), 404, 'IMAGE_NOT_FOUND', /not kept/);
      }

      // Deleting: the person, its faces and nothing else; then it is no longer found.
      const victim = people[2];
      const [persons, faces] = [await countRows(server, 'persons'), await countRows(server, 'faces')];
      const del = await fi.post('DeletePersons', { server_id: 'front-door', id: [ids.get(victim.name)!.toLowerCase()] });
      assert.deepEqual(del.body, { Description: '', Result: ids.get(victim.name)!.toLowerCase(), Status: 'SUCCESS' });
      assert.equal(await countRows(server, 'persons'), persons - 1);
      assert.equal(await countRows(server, 'faces'), faces - 1);
      const again = await fi.find('front-door', photo(victim.probes[0]), 1);
      assert.notEqual(again.body.FaceList[0].PersonList[0]?.Id, ids.get(victim.name));
      assertError(await fi.post('DeletePersons', { server_id: 'front-door', id: [ids.get(victim.name)] }), 404, 'FAILED_TO_DELETE_PERSON', /not found/);
      assertError(await fi.post('UpdatePerson', { server_id: 'front-door', id: ids.get(victim.name), name: 'x' }), 404, 'FAILED_TO_UPDATE_PERSON');
      ids.delete(victim.name);
      assert.equal((await fi.read('front-door')).Total, 4);

      // A person whose face is in another collection too (key B's "warehouse"): deleted from this server, it stays
      // there, with its face; deleted there too, it goes.
      const shared = people[1];
      const sharedId = ids.get(shared.name)!;
      const scope = (await server.services.collections.list()).filter((c) => ['front-door', 'warehouse'].includes(c.name)).map((c) => c.id);
      const [face] = await server.services.faces.list(scope, { personId: (await server.services.persons.getByUuid(sharedId.toLowerCase(), scope)).id });
      await server.services.faces.setCollections(face.id, scope, { set: scope });
      const delShared = await fi.post('DeletePersons', { server_id: 'front-door', id: [sharedId] });
      assert.equal(delShared.status, 200, JSON.stringify(delShared.body));
      ids.delete(shared.name);
      assert.equal((await fi.read('front-door')).Total, 3);
      const inWarehouse = await fiB.read('warehouse');
      assert.deepEqual(
        inWarehouse.PersonList.map((x: Json) => [x.Id, x.ImageId]),
        [[sharedId, face.uuid.toUpperCase()]],
      );
      assert.equal((await fiB.find('1', photo(shared.probes[0]), 1)).body.FaceList[0].PersonList[0].Id, sharedId);
      const personsBefore = await countRows(server, 'persons');
      assert.equal((await fiB.post('DeletePersons', { server_id: '1', id: ['*all*'] })).status, 200);
      assert.equal(await countRows(server, 'persons'), personsBefore - 1);
      assert.equal((await fiB.read('warehouse')).Total, 0);
    });

    it('adds unrecognized faces as automatic persons, recognizes them later, and lets operators rename and merge them', async () => {
      const [p, q] = [people[5], people[3]];
      const persons = await countRows(server, 'persons');
      const first = await fi.find('cams', photo(p.gallery), 2);
      assert.equal(first.status, 200, JSON.stringify(first.body));
      const [auto] = first.body.FaceList[0].PersonList;
      assertFace(first.body.FaceList[0], 'first sighting');
      assert.equal(auto.AutoCreated, true);
      assert.equal(auto.Name, '');
      assert.equal(auto.Sim, '1');
      assert.equal(auto.RecognitionCount, 1);
      assert.equal(await countRows(server, 'persons'), persons + 1);

      // Later sightings (other photos of the same man) are that person, counted.
      for (const [i, probe] of p.probes.slice(0, 2).entries()) {
        const seen = await fi.find('cams', photo(probe), 1);
        const [best] = seen.body.FaceList[0].PersonList;
        assert.equal(best.Id, auto.Id, `sighting ${i + 2}: ${JSON.stringify(best)}`);
        assert.equal(best.AutoCreated, true);
        assert.ok(Number(best.Sim) >= MATCH_SIM && Number(best.Sim) < 1);
      }
      const sightings = 1 + Math.min(2, p.probes.length);
      assert.equal(await countRows(server, 'persons'), persons + 1);
      await server.services.events.flush();
      assert.equal(await count(server, 'persons WHERE uuid = $1 AND recognition_count = $2', [auto.Id.toLowerCase(), sightings]), 1);
      assert.equal(await count(server, "recognition_events WHERE verdict = 'new_person' AND dialect = 'faceintellect'"), 1);

      // Another stranger: another automatic person; the list of automatic persons has both.
      const second = await fi.find('cams', photo(q.gallery), 1);
      const other = second.body.FaceList[0].PersonList[0];
      assert.equal(other.AutoCreated, true);
      assert.notEqual(other.Id, auto.Id);
      const listed = await fi.read('cams', { autoCreated: true });
      assert.deepEqual(
        listed.PersonList.map((x: Json) => x.Id),
        [other.Id, auto.Id],
      );
      // Automatic persons only on the servers configured so.
      const front = await fi.find('front-door', photo(p.gallery), 1);
      assert.notEqual(front.body.FaceList[0].PersonList[0]?.AutoCreated, true);

      // Named by an operator: still automatic, now with a name.
      await fi.post('UpdatePerson', { server_id: 'cams', id: auto.Id, name: p.name.split('_')[0], surname: p.name.split('_').at(-1) });
      const renamed = (await fi.read('cams', { id: [auto.Id] })).PersonList[0];
      assert.equal(renamed.Name, p.name.split('_')[0]);
      assert.equal(renamed.AutoCreated, true);

      // Merged into a known person: faces and counts move, the automatic person goes.
      const known = await fi.create('cams', photo(q.probes[0]), { name: 'Known', surname: 'Person', department: 'Staff' });
      const merged = await fi.post('MergePersons', { server_id: 'cams', id: other.Id, into: known });
      assert.deepEqual(merged.body, { Status: 'SUCCESS', Result: known, Description: '' });
      const after = await fi.read('cams');
      assert.deepEqual(after.PersonList.map((x: Json) => x.Id).sort(), [known, auto.Id].sort());
      const knownNow = after.PersonList.find((x: Json) => x.Id === known);
      assert.equal(knownNow.RecognitionCount, 1);
      assert.equal(knownNow.AutoCreated, false);
      const found = await fi.find('cams', photo(q.gallery), 1);
      assert.equal(found.body.FaceList[0].PersonList[0].Id, known);

      // A frame of several strangers: one automatic person each, recognized as such in the next frame.
      const crowdPhoto = photo('groups/dlib_2007_007763.jpg');
      const byX = (r: Reply) => [...r.body.FaceList].sort((a: Json, b: Json) => a.faceRectLeft - b.faceRectLeft).map((f: Json) => f.PersonList[0]);
      const personsBefore = await countRows(server, 'persons');
      const crowd = byX(await fi.find('cams', crowdPhoto, 1));
      assert.ok(crowd.length >= 5, `${crowd.length} faces`);
      for (const x of crowd) assert.equal(x.AutoCreated, true);
      assert.equal(new Set(crowd.map((x: Json) => x.Id)).size, crowd.length);
      assert.equal(await countRows(server, 'persons'), personsBefore + crowd.length);
      await server.services.events.flush(); // the first frame's recognitions are in (they are written behind the answer)
      const seenAgain = byX(await fi.find('cams', crowdPhoto, 1));
      assert.deepEqual(
        seenAgain.map((x: Json) => x.Id),
        crowd.map((x: Json) => x.Id),
      );
      for (const x of seenAgain) assert.ok(Number(x.Sim) > 0.9 && x.RecognitionCount === 2, JSON.stringify(x));
      assert.equal(await countRows(server, 'persons'), personsBefore + crowd.length);
    });

    it('finds a CompreFace subject of a collection it maps to, and CompreFace recognizes a person made here', async () => {
      const { key: cfKey, info } = await server.services.keys.create('recognition');
      const collection = info.collections[0];
      const shared = await server.services.keys.create('faceintellect', { user: 'intellect-shared', collections: [collection] });
      const fiShared = fi.as('intellect-shared', shared.key);
      const cf = new Api(server.url, cfKey);
      const [p, q] = [people[0], people[1]];
      await cf.enrol('Subject One', photo(p.gallery));
      const r = await fiShared.find('1', photo(p.probes[0]), 1);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const [best] = r.body.FaceList[0].PersonList;
      assert.equal(best.Name, 'Subject One');
      assert.ok(Number(best.Sim) >= MATCH_SIM);
      // Key A's persons are not on this server.
      assert.notEqual(best.Id, ids.get(p.name));

      const id = await fiShared.create(collection, photo(q.gallery), { name: 'Made Here', surname: 'Intellect', department: 'x' });
      const rec = await cf.post('/recognition/recognize', { files: { file: photo(q.probes[0]) } });
      assert.equal(rec.status, 200, JSON.stringify(rec.body));
      assert.equal(rec.body.result[0].subjects[0].subject, 'Made Here');
      assert.ok(rec.body.result[0].subjects[0].similarity >= 0.5);
      // Deleting the CompreFace subject through this API takes it off CompreFace too.
      const read = await fiShared.read('1');
      const subject = read.PersonList.find((x: Json) => x.Name === 'Subject One');
      await fiShared.post('DeletePersons', { server_id: '1', id: [subject.Id] });
      assert.equal((await cf.get('/recognition/subjects')).body.subjects.includes('Subject One'), false);
      await fiShared.post('DeletePersons', { server_id: '1', id: [id] });
    });

    it('finds a face FindFace enrolled in a collection it maps to, by its meta', async () => {
      const { key: token } = await server.services.keys.create('findface', { collections: ['front-door'] });
      const p = people[5];
      const form = new FormData();
      form.append('photo', new Blob([new Uint8Array(photo(p.gallery))]), 'photo.jpg');
      form.append('meta', 'FindFace Person');
      const created = await fetch(`${server.url}/v1/face`, { method: 'POST', headers: { authorization: `Token ${token}` }, body: form });
      assert.equal(created.status, 200, await created.clone().text());
      const r = await fi.find('front-door', photo(p.probes[0]), 1);
      const [best] = r.body.FaceList[0].PersonList;
      assert.equal(best?.Name, 'FindFace Person', JSON.stringify(r.body));
      assert.ok(Number(best.Sim) >= MATCH_SIM);
      const id = ((await created.json()) as Json).results[0].id;
      const gone = await fetch(`${server.url}/v1/face/id/${id}`, { method: 'DELETE', headers: { authorization: `Token ${token}` } });
      assert.ok(gone.status < 300, String(gone.status));
      assert.deepEqual((await fi.find('front-door', photo(p.probes[0]), 1)).body.FaceList[0].PersonList, []);
    });

    it('gives each key only its own servers, and anonymous requests only the anonymous ones', async () => {
      // Key B: its server "1" is "warehouse", empty; key A's servers do not exist for it.
      assert.equal((await fiB.read('1')).Total, 0);
      assertError(await fiB.post('ReadPersons', { server_id: 'front-door' }), 404, 'SERVER_NOT_FOUND', /front-door/);
      assertError(await fiB.find('2', photo(people[0].probes[0])), 404, 'SERVER_NOT_FOUND');
      assertError(await fiB.post('DeletePersons', { server_id: 'front-door', id: ['*all*'] }), 404, 'FAILED_TO_DELETE_PERSON');
      const a0 = ids.get(people[0].name)!;
      assertError(await fiB.post('UpdatePerson', { server_id: '1', id: a0, name: 'x' }), 404, 'FAILED_TO_UPDATE_PERSON');
      // Key A's second server by number.
      assert.equal((await fi.read('2')).Total, (await fi.read('cams')).Total);

      // A key may do what its scopes say.
      const reader = await server.services.keys.create('faceintellect', { user: 'intellect-reader', collections: ['front-door'], scopes: ['read'] });
      const fiReader = fi.as('intellect-reader', reader.key);
      assert.ok((await fiReader.read('1')).Total > 0);
      assertError(await fiReader.find('1', photo(people[0].probes[0])), 403, 'FORBIDDEN', /identify/);
      assertError(await fiReader.post('CreatePerson', { server_id: '1', surname: 'x', department: '', image: photo(people[0].probes[0]).toString('base64') }), 403, 'FORBIDDEN', /write/);

      // No credentials: the anonymous server only.
      const anon = fi.as();
      assert.equal((await anon.read('lobby')).Total, 0);
      assert.equal((await anon.read('1')).Total, 0);
      assertError(await anon.post('ReadPersons', { server_id: 'front-door' }), 404, 'SERVER_NOT_FOUND');
      // Wrong credentials are refused even so.
      const r = await fi.as('intellect-a', 'not-the-password').post('ReadPersons', { server_id: 'front-door' });
      assertError(r, 401, 'UNAUTHORIZED');
      assert.match(r.headers.get('www-authenticate') ?? '', /^Basic realm=/);
      assertError(await fi.as('intellect-b', fi.password).post('ReadPersons', { server_id: '1' }), 401, 'UNAUTHORIZED');
      const bearer = await fi.request('POST', 'ReadPersons', { json: { server_id: '1' }, headers: { authorization: 'Bearer abc' } });
      assertError(bearer, 401, 'UNAUTHORIZED');
    });

    it('answers every bad input in its Status envelope and stores nothing', async () => {
      const rows = async () => {
        await server.services.events.flush();
        return [await countRows(server, 'persons'), await countRows(server, 'faces'), await countRows(server, 'photos'), await countRows(server, 'recognition_events')];
      };
      const before = await rows();
      const face = photo(people[1].gallery).toString('base64');
      const noFace = (await noFacePhoto()).toString('base64');
      const group = photo('groups/dlib_2007_007763.jpg').toString('base64');
      const huge = Buffer.alloc(6 * 1024 * 1024, 0xff).toString('base64');
      const person = { server_id: 'front-door', surname: 'Bad', department: 'x' };

      // FindFaces
      const find = (body: unknown) => fi.post('FindFaces', body);
      assertError(await find({ server_id: 'front-door', findPersons: 1, image: 'not base64!' }), 400, 'INVALID_REQUEST', /Base64/i);
      assertError(await find({ server_id: 'front-door', findPersons: 1 }), 400, 'INVALID_REQUEST', /image/);
      assertError(await find({ server_id: 'front-door', image: face }), 400, 'INVALID_REQUEST', /findPersons/);
      assertError(await find({ server_id: 'front-door', findPersons: 'two', image: face }), 400, 'INVALID_REQUEST', /findPersons/);
      assertError(await find({ server_id: 'front-door', findPersons: -1, image: face }), 400, 'INVALID_REQUEST', /findPersons/);
      assertError(await find({ findPersons: 1, image: face }), 400, 'INVALID_REQUEST', /server_id/);
      assertError(await find({ server_id: 'nowhere', findPersons: 1, image: face }), 404, 'SERVER_NOT_FOUND', /nowhere/);
      assertError(await find({ server_id: '9', findPersons: 1, image: face }), 404, 'SERVER_NOT_FOUND');
      // A frame without a face is an answer: no faces, and the product's FACE_NOT_FOUND beside them.
      const noFaceFind = await find({ server_id: 'front-door', findPersons: 1, image: noFace });
      assertError(noFaceFind, 200, 'FACE_NOT_FOUND');
      assert.deepEqual(noFaceFind.body.FaceList, []);
      assertError(await find({ server_id: 'front-door', findPersons: 1, image: Buffer.from('plain text, no image').toString('base64') }), 400, 'INVALID_REQUEST');
      assertError(await find({ server_id: 'front-door', findPersons: 1, image: huge }), 413, 'REQUEST_TOO_LARGE');
      assertError(await fi.request('POST', 'FindFaces', { body: '{"server_id": "1", "findPersons": 1, "image": ' }), 400, 'INVALID_REQUEST', /JSON|parse/i);
      assertError(await fi.as().find('front-door', photo(people[1].probes[0])), 404, 'SERVER_NOT_FOUND');

      // CreatePerson: the product's codes
      const create = (body: Record<string, unknown>) => fi.post('CreatePerson', { ...person, ...body });
      assertError(await create({ image: noFace }), 400, 'FACE_NOT_FOUND');
      assertError(await create({ image: group }), 400, 'FAILED_TO_ADD_PERSON_MANY_FACES');
      assertError(await create({ image: 'not base64!' }), 400, 'FAILED_TO_ADD_PERSON', /Base64/i);
      assertError(await create({}), 400, 'FAILED_TO_ADD_PERSON', /image/);
      assertError(await create({ image: face, surname: undefined }), 400, 'FAILED_TO_ADD_PERSON', /surname/);
      assertError(await create({ image: face, department: undefined }), 400, 'FAILED_TO_ADD_PERSON', /department/);
      assertError(await create({ image: face, id: 'not-a-guid' }), 400, 'FAILED_TO_ADD_PERSON', /GUID/);
      assertError(await create({ image: face, fir: 'AAAA' }), 400, 'FAILED_TO_ADD_PERSON', /fir/);
      assertError(await create({ image: face, server_id: 'nowhere' }), 404, 'FAILED_TO_ADD_PERSON', /nowhere/);
      assertError(await create({ image: huge }), 413, 'FAILED_TO_ADD_PERSON');
      // An id of another key's person: refused, not taken over.
      const other = await fiB.create('warehouse', photo(people[5].probes[0]), { surname: 'B', department: 'b' });
      const taken = await create({ image: face, id: other });
      assertError(taken, 409, 'FAILED_TO_ADD_PERSON');
      const afterOther = await rows();

      // The rest
      assertError(await fi.post('UpdatePerson', { server_id: 'front-door', id: 'x' }), 400, 'FAILED_TO_UPDATE_PERSON', /GUID/);
      assertError(await fi.post('UpdatePerson', { server_id: 'front-door' }), 400, 'FAILED_TO_UPDATE_PERSON', /id/);
      assertError(await fi.post('DeletePersons', { server_id: 'front-door' }), 400, 'FAILED_TO_DELETE_PERSON', /id/);
      assertError(await fi.post('DeletePersons', { server_id: 'front-door', id: ['nope'] }), 400, 'FAILED_TO_DELETE_PERSON', /GUID/);
      // One unknown id among known ones: nothing is deleted.
      assertError(await fi.post('DeletePersons', { server_id: 'front-door', id: [ids.get(people[0].name), '00000000-0000-4000-8000-000000000000'] }), 404, 'FAILED_TO_DELETE_PERSON');
      assertError(await fi.post('ReadPersons', { server_id: 'front-door', page: 0 }), 400, 'INVALID_REQUEST', /page/);
      assertError(await fi.post('ReadPersons', { server_id: 'front-door', pageSize: 'x' }), 400, 'INVALID_REQUEST', /pageSize/);
      assertError(await fi.post('GetImage', { server_id: 'front-door', id: '00000000-0000-4000-8000-000000000000' }), 404, 'IMAGE_NOT_FOUND');
      assertError(await fi.post('MergePersons', { server_id: 'front-door', id: ids.get(people[0].name) }), 400, 'FAILED_TO_UPDATE_PERSON', /into/);
      assertError(await fi.post('NoSuchThing', {}), 404, 'NOT_FOUND');
      assertError(await fi.request('DELETE', 'FindFaces'), 405, 'METHOD_NOT_ALLOWED');
      assertError(await fi.request('POST', 'ReadPersons', { body: 'server_id=1', headers: { 'content-type': 'text/plain' } }), 400, 'INVALID_REQUEST', /server_id/);
      assert.deepEqual(await rows(), afterOther);
      assert.deepEqual(afterOther, [before[0] + 1, before[1] + 1, before[2] + (store.saveImages ? 1 : 0), before[3]]);
    });

    it('lists its error codes, and serves its OpenAPI document, equal to its routes', async () => {
      const r = await fi.post('FaceErrorDescriptions', {});
      assert.equal(r.status, 200);
      for (const code of PRODUCT_CODES) assert.equal(typeof r.body[code], 'string', code);
      assert.equal(r.body.FACE_NOT_FOUND, 'Face not found on supplied image');
      assert.deepEqual((await fi.request('GET', 'FaceErrorDescriptions')).body, r.body);

      const dialect = server.dialects.find((d) => d.name === 'faceintellect')!;
      const key = (x: { method: string; path: string }) => `${x.method} ${x.path}`;
      assert.deepEqual(servedRoutes(dialect.router).map(key).sort(), documentedRoutes(FACE_INTELLECT_OPENAPI).map(key).sort());
      const doc = await fetch(`${server.url}/openapi/faceintellect.json`);
      assert.equal(doc.status, 200);
      assert.equal(((await doc.json()) as Json).info.title, FACE_INTELLECT_OPENAPI.info.title);
    });

    it('answers behind a web server prefix, /<prefix>/firserver/..., where no other API owns the prefix', async () => {
      const direct = await fi.read('front-door');
      for (const prefix of ['/intellect', '/web2', '/a/b']) {
        const behind = fi.behind(prefix);
        assert.deepEqual((await behind.read('front-door')).Total, direct.Total, prefix);
        const found = await behind.find('front-door', photo(people[0].probes[0]), 1);
        assert.equal(found.status, 200, JSON.stringify(found.body));
        assert.ok(found.body.FaceList.length >= 1, JSON.stringify(found.body));
        assertError(await behind.as('intellect-a', 'wrong').post('ReadPersons', { server_id: 'front-door' }), 401, 'UNAUTHORIZED');
      }
      assert.equal((await fi.behind('/web2').request('GET', 'FaceErrorDescriptions')).body.FACE_NOT_FOUND, 'Face not found on supplied image');
      // A prefix another API owns stays that API's: /v1 is FindFace's, /api/v1 CompreFace's.
      const findface = await fi.behind('/v1').post('ReadPersons', { server_id: 'front-door' });
      assert.equal(findface.status, 404);
      assert.equal(findface.body.code, 'NOT_FOUND', JSON.stringify(findface.body));
      const compreface = await fi.behind('/api/v1').post('ReadPersons', { server_id: 'front-door' });
      assert.equal(compreface.status, 404);
      assert.ok(!('Status' in compreface.body), JSON.stringify(compreface.body));
      // Segments only: /firserverx is nobody's.
      assert.equal((await fetch(`${server.url}/web2/firserverx/ReadPersons`, { method: 'POST' })).status, 404);
    });

    it('deletes every person of a server with *all*', async () => {
      const del = await fi.post('DeletePersons', { server_id: 'cams', id: ['*all*'] });
      assert.deepEqual(del.body, { Description: '', Result: '*all*', Status: 'SUCCESS' });
      assert.equal((await fi.read('cams')).Total, 0);
      assert.equal(await count(server, "face_collections fc JOIN collections c ON c.id = fc.collection_id WHERE c.name = 'cams'"), 0);
      assert.ok((await fi.read('front-door')).Total > 0);
    });
  });
}
