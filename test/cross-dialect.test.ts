// One store under every dialect: a person enrolled through CompreFace, FindFace or Face Intellect is found, under
// the same name, through CompreFace, FindFace, Face Intellect and the Image API's search-matcher, by keys that
// share the collection; a key that does not see it finds nothing; a delete through one dialect removes the face
// from every other. Real photos, real HTTP, both stores.
import assert from 'node:assert/strict';
import type { RunningServer } from '../src/server';
import { Api, identificationSet, photo, requireFacedata, stores, type Person } from './support/compreface';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const COLLECTION = 'shared-door';

/** Each dialect's client over one collection: enrol a named person (where it enrols), find a probe's best name. */
interface Client {
  dialect: string;
  enrol?(name: string, image: Buffer): Promise<void>;
  find(image: Buffer): Promise<string | undefined>;
}

async function call(url: string, init: RequestInit): Promise<{ status: number; body: Json }> {
  const r = await fetch(url, init);
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : undefined };
}

function ok<T extends { status: number; body: Json }>(r: T, what: string): T {
  assert.ok(r.status >= 200 && r.status < 300, `${what}: ${r.status} ${JSON.stringify(r.body)}`);
  return r;
}

function compreFace(server: RunningServer, key: string): Client {
  const api = new Api(server.url, key);
  return {
    dialect: 'CompreFace',
    async enrol(name, image) {
      await api.enrol(name, image);
    },
    async find(image) {
      const r = await api.post('/recognition/recognize', { files: { file: image } });
      ok(r, 'CompreFace recognize');
      const best = r.body.result[0]?.subjects[0];
      return best && best.similarity >= 0.5 ? best.subject : undefined;
    },
  };
}

function findFace(server: RunningServer, token: string): Client {
  const headers = { authorization: `Token ${token}` };
  const form = (image: Buffer, fields: Record<string, string> = {}) => {
    const f = new FormData();
    f.append('photo', new Blob([new Uint8Array(image)]), 'photo.jpg');
    for (const [k, v] of Object.entries(fields)) f.append(k, v);
    return f;
  };
  return {
    dialect: 'FindFace',
    async enrol(name, image) {
      ok(await call(`${server.url}/v1/face`, { method: 'POST', headers, body: form(image, { meta: name }) }), 'FindFace add');
    },
    async find(image) {
      // The default threshold (0.75, FAR ~1e-5 on our calibration).
      const r = ok(await call(`${server.url}/v1/identify`, { method: 'POST', headers, body: form(image) }), 'FindFace identify');
      const [matches] = Object.values(r.body.results as Record<string, Json[]>);
      return matches?.[0]?.face.meta || undefined;
    },
  };
}

function faceIntellect(server: RunningServer, user: string, password: string): Client {
  const headers = { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`, 'content-type': 'application/json' };
  const post = (op: string, body: unknown) => call(`${server.url}/firserver/${op}`, { method: 'POST', headers, body: JSON.stringify(body) });
  return {
    dialect: 'Face Intellect',
    async enrol(name, image) {
      const r = ok(await post('CreatePerson', { server_id: COLLECTION, objectType: 'PERSON', name, surname: 'Visitor', department: 'Lobby', image: image.toString('base64') }), 'CreatePerson');
      assert.equal(r.body.Status, 'SUCCESS', JSON.stringify(r.body));
    },
    async find(image) {
      const r = ok(await post('FindFaces', { server_id: COLLECTION, findPersons: 1, image: image.toString('base64') }), 'FindFaces');
      return r.body.FaceList?.[0]?.PersonList?.[0]?.Name;
    },
  };
}

function imageApi(server: RunningServer, key: string): Client {
  return {
    dialect: 'Image API',
    async find(image) {
      const body = new FormData();
      body.append('image', new Blob([new Uint8Array(image)]), 'photo.jpg');
      const r = ok(await call(`${server.url}/search-matcher/v2/process/image`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body }), 'search-matcher');
      return r.body.objects?.[0]?.search_result?.[0]?.person_name;
    },
  };
}

for (const store of stores()) {
  describe(`one store under every dialect (${store.name})`, function () {
    this.timeout(600_000);
    let server: RunningServer;
    let clients: Client[];
    let outsiders: Client[];
    let people: Person[];

    before(async function () {
      requireFacedata(this);
      server = await store.start(this);
      const keys = server.services.keys;
      const grant = { collections: [COLLECTION] };
      const other = { collections: ['another-site'] };
      const fi = await keys.create('faceintellect', { user: 'door', ...grant });
      clients = [
        compreFace(server, (await keys.create('recognition', grant)).key),
        findFace(server, (await keys.create('findface', grant)).key),
        faceIntellect(server, 'door', fi.key),
        imageApi(server, (await keys.create('imageapi', grant)).key),
      ];
      // The same dialects with keys of another collection (Face Intellect names its server: tested in its own suite).
      outsiders = [
        compreFace(server, (await keys.create('recognition', other)).key),
        findFace(server, (await keys.create('findface', other)).key),
        imageApi(server, (await keys.create('imageapi', other)).key),
      ];
      ({ people } = identificationSet(3));
    });

    after(async () => {
      await server?.close();
      await store.cleanup();
    });

    it('finds a person enrolled through any dialect through every dialect, under the same name', async () => {
      const enrollers = clients.filter((c) => c.enrol);
      assert.equal(enrollers.length, 3);
      for (const [i, enroller] of enrollers.entries()) {
        const p = people[i];
        const name = `${enroller.dialect} enrolled ${i}`;
        await enroller.enrol!(name, photo(p.gallery));
        for (const finder of clients) {
          assert.equal(await finder.find(photo(p.probes[0])), name, `${p.name} enrolled through ${enroller.dialect}, found through ${finder.dialect}`);
        }
        for (const outsider of outsiders) {
          assert.equal(await outsider.find(photo(p.probes[0])), undefined, `${outsider.dialect} with a key of another collection`);
        }
      }
    });

    it('lists them all as CompreFace subjects; a delete through any dialect removes the face from every other', async () => {
      const cf = new Api(server.url, (await server.services.keys.create('recognition', { collections: [COLLECTION] })).key);
      const subjects: string[] = (await cf.get('/recognition/subjects')).body.subjects;
      assert.deepEqual(subjects.sort(), ['CompreFace enrolled 0', 'Face Intellect enrolled 2', 'FindFace enrolled 1']);
      // CompreFace deletes the person Face Intellect made, by its name.
      ok(await cf.delete(`/recognition/subjects/${encodeURIComponent('Face Intellect enrolled 2')}`), 'CompreFace delete subject');
      // FindFace deletes the faces of CompreFace's subject by meta; the subject stays, faceless, as when CompreFace
      // deletes a subject's last example.
      const ff = (await server.services.keys.create('findface', { collections: [COLLECTION] })).key;
      ok(await call(`${server.url}/v1/face/meta/${encodeURIComponent('CompreFace enrolled 0')}`, { method: 'DELETE', headers: { authorization: `Token ${ff}` } }), 'FindFace delete by meta');
      // Face Intellect deletes FindFace's person by the Id it lists.
      const fi = await server.services.keys.create('faceintellect', { user: 'door-admin', collections: [COLLECTION] });
      const headers = { authorization: `Basic ${Buffer.from(`door-admin:${fi.key}`).toString('base64')}`, 'content-type': 'application/json' };
      const post = (op: string, body: unknown) => call(`${server.url}/firserver/${op}`, { method: 'POST', headers, body: JSON.stringify(body) });
      const listed = ok(await post('ReadPersons', { server_id: COLLECTION, objectType: 'PERSON', id: [], page: 1, pageSize: 100 }), 'ReadPersons').body.PersonList;
      assert.deepEqual(listed.map((x: Json) => x.Name).sort(), ['CompreFace enrolled 0', 'FindFace enrolled 1']);
      const findFaces = listed.find((x: Json) => x.Name === 'FindFace enrolled 1');
      assert.equal(ok(await post('DeletePersons', { server_id: COLLECTION, id: [findFaces.Id] }), 'DeletePersons').body.Status, 'SUCCESS');

      for (const [i, p] of people.entries()) {
        for (const finder of clients) assert.equal(await finder.find(photo(p.probes[0])), undefined, `person ${i} after the deletes, through ${finder.dialect}`);
      }
      assert.deepEqual((await cf.get('/recognition/subjects')).body.subjects, ['CompreFace enrolled 0']);
      const left = await server.db.query<{ faces: number; persons: number }>('SELECT (SELECT count(*)::int FROM faces) AS faces, (SELECT count(*)::int FROM persons) AS persons');
      assert.deepEqual(left.rows[0], { faces: 0, persons: 1 });
      ok(await cf.delete(`/recognition/subjects/${encodeURIComponent('CompreFace enrolled 0')}`), 'CompreFace delete the faceless subject');
    });
  });
}
