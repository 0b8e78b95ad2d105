// CompreFace REST v1, black-box over HTTP on real photos from ../shared/facedata, on the embedded store and on
// real PostgreSQL: enrolment, recognition, verification, detection with every plugin, embeddings, paging,
// subjects (rename with merge), deletes, downloads, recognition events, and every error case with
// CompreFace's status, code and body — and proof that failed requests store nothing.
import assert from 'node:assert/strict';
import sharp from 'sharp';
import type { RunningServer } from '../src/server';
import { Api, countRows, createKeys, identificationSet, photo, requireFacedata, stores, type Keys, type Person } from './support/compreface';
import { startTestServer } from './support/server';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const GROUP_OF_TWO = 'groups/face_recognition_kit_with_rose.jpg';

/** A real JPEG with no face in it: an even grey frame. */
async function noFaceJpeg(): Promise<Buffer> {
  return sharp({ create: { width: 320, height: 240, channels: 3, background: { r: 128, g: 128, b: 128 } } })
    .jpeg()
    .toBuffer();
}

function assertError(r: { status: number; body: unknown }, status: number, code: number): void {
  assert.equal(r.status, status, JSON.stringify(r.body));
  const body = r.body as { message: unknown; code: unknown };
  assert.deepEqual(Object.keys(body).sort(), ['code', 'message']);
  assert.equal(body.code, code, JSON.stringify(body));
  assert.equal(typeof body.message, 'string');
}

for (const store of stores()) {
  describe(`CompreFace REST v1 on the ${store.name} store`, function () {
    this.timeout(180_000);
    let server: RunningServer;
    let keys: Keys;
    let api: Api;
    let people: Person[];
    let unknown: string[];
    const imageIds = new Map<string, string>();

    before(async function () {
      requireFacedata(this);
      server = await store.start(this);
      keys = await createKeys(server);
      api = new Api(server.url, keys.recognition);
      ({ people, unknown } = identificationSet(6));
      for (const p of people) imageIds.set(p.name, await api.enrol(p.name, photo(p.gallery)));
    });
    after(async () => {
      await server?.close();
      await store.cleanup();
    });

    it('enrols one example per person and lists the subjects', async () => {
      for (const id of imageIds.values()) assert.match(id, UUID_RE);
      const r = await api.get('/recognition/subjects');
      assert.equal(r.status, 200);
      assert.deepEqual([...r.body.subjects].sort(), people.map((p) => p.name).sort());
    });

    it('recognizes every enrolled person with a high similarity, and an unknown person with a low one', async () => {
      for (const p of people) {
        const r = await api.post('/recognition/recognize', { files: { file: photo(p.probes[0]) } });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.ok(r.body.result.length >= 1);
        const face = r.body.result[0]; // the biggest: LFW portraits may show bystanders too
        assert.deepEqual(Object.keys(face).sort(), ['box', 'subjects']);
        assert.equal(face.subjects.length, 1, 'prediction_count defaults to 1');
        assert.equal(face.subjects[0].subject, p.name, `probe ${p.probes[0]}`);
        assert.ok(face.subjects[0].similarity > 0.8, `${p.name}: similarity ${face.subjects[0].similarity}`);
        for (const k of ['probability', 'x_max', 'y_max', 'x_min', 'y_min']) assert.equal(typeof face.box[k], 'number');
        assert.ok(face.box.x_max > face.box.x_min && face.box.y_max > face.box.y_min);
      }
      for (const u of unknown.slice(0, 3)) {
        const r = await api.post('/recognition/recognize', { files: { file: photo(u) } });
        assert.equal(r.status, 200);
        const best = r.body.result[0].subjects[0];
        assert.ok(best.similarity < 0.5, `unknown ${u} matched ${best.subject} at ${best.similarity}`);
      }
    });

    it('recognizes a phone-sized photo (12 megapixels, under the 5 MB file limit)', async () => {
      const p = people[2];
      const big = await sharp(photo(p.probes[0])).resize(3456, 3456).jpeg({ quality: 90 }).toBuffer();
      assert.ok(big.length < 5 * 1024 * 1024, `${big.length} bytes`);
      const r = await api.post('/recognition/recognize', { files: { file: big } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.result[0].subjects[0].subject, p.name);
      assert.ok(r.body.result[0].box.x_max - r.body.result[0].box.x_min > 1000, 'the box is in the big image pixels');
    });

    it('recognizes from base64 JSON with prediction_count, limit and status', async () => {
      const p = people[1];
      const r = await api.post('/recognition/recognize?prediction_count=3&limit=1&status=true&face_plugins=landmarks', {
        json: { file: photo(p.probes[0]).toString('base64') },
      });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const face = r.body.result[0];
      assert.equal(face.subjects.length, 3);
      assert.equal(face.subjects[0].subject, p.name);
      assert.ok(face.subjects[0].similarity >= face.subjects[1].similarity && face.subjects[1].similarity >= face.subjects[2].similarity);
      assert.equal(face.landmarks.length, 5);
      assert.ok(face.execution_time.detector >= 0 && face.execution_time.calculator > 0);
      assert.equal(typeof r.body.plugins_versions.detector, 'string');
      assert.equal(typeof r.body.plugins_versions.calculator, 'string');
      // prediction_count=-1: every subject.
      const all = await api.post('/recognition/recognize?prediction_count=-1', { files: { file: photo(p.probes[0]) } });
      assert.equal(all.body.result[0].subjects.length, people.length);
    });

    it('recognizes each face of a group photo, and only the biggest with limit=1', async () => {
      const r = await api.post('/recognition/recognize', { files: { file: photo(GROUP_OF_TWO) } });
      assert.equal(r.status, 200);
      assert.equal(r.body.result.length, 2);
      const one = await api.post('/recognition/recognize?limit=1', { files: { file: photo(GROUP_OF_TWO) } });
      assert.equal(one.body.result.length, 1);
      const area = (b: { x_max: number; x_min: number; y_max: number; y_min: number }) => (b.x_max - b.x_min) * (b.y_max - b.y_min);
      assert.equal(area(one.body.result[0].box), Math.max(...r.body.result.map((f: { box: never }) => area(f.box))));
    });

    it('verifies a photo against a stored example: same person high, another person low', async () => {
      const [a, b] = people;
      const same = await api.post(`/recognition/faces/${imageIds.get(a.name)}/verify`, { files: { file: photo(a.probes[0]) } });
      assert.equal(same.status, 200, JSON.stringify(same.body));
      assert.ok(same.body.result.length >= 1);
      assert.ok(same.body.result[0].similarity > 0.8, `same: ${same.body.result[0].similarity}`);
      assert.equal(typeof same.body.result[0].box.probability, 'number');
      const other = await api.post(`/recognition/faces/${imageIds.get(a.name)}/verify`, { json: { file: photo(b.probes[0]).toString('base64') } });
      assert.equal(other.status, 200);
      assert.ok(other.body.result[0].similarity < 0.5, `different: ${other.body.result[0].similarity}`);
    });

    it('verification service: source face against the target faces (multipart and base64)', async () => {
      const v = api.withKey(keys.verification);
      const [a, b] = people;
      const same = await v.post('/verification/verify', { files: { source_image: photo(a.gallery), target_image: photo(a.probes[0]) } });
      assert.equal(same.status, 200, JSON.stringify(same.body));
      const item = same.body.result[0];
      assert.ok(item.source_image_face.box);
      assert.ok(item.face_matches.length >= 1);
      assert.ok(item.face_matches[0].similarity > 0.8, `same: ${item.face_matches[0].similarity}`);
      const diff = await v.post('/verification/verify?status=true', {
        json: { source_image: photo(a.gallery).toString('base64'), target_image: photo(b.probes[0]).toString('base64') },
      });
      assert.equal(diff.status, 200, JSON.stringify(diff.body));
      assert.ok(diff.body.result[0].face_matches[0].similarity < 0.5);
      assert.ok(diff.body.result[0].plugins_versions.calculator);
      assert.ok(diff.body.result[0].source_image_face.execution_time.detector >= 0);
      // A source with two faces is refused; the target may have several.
      assertError(await v.post('/verification/verify', { files: { source_image: photo(GROUP_OF_TWO), target_image: photo(a.gallery) } }), 400, 31);
      const many = await v.post('/verification/verify', { files: { source_image: photo(a.gallery), target_image: photo(GROUP_OF_TWO) } });
      assert.equal(many.body.result[0].face_matches.length, 2);
    });

    it('detection service returns every plugin in CompreFace shapes, with execution times and versions', async () => {
      const d = api.withKey(keys.detection);
      const plugins = 'age,gender,mask,landmarks,calculator,pose,emotion,liveness,quality';
      const r = await d.post(`/detection/detect?face_plugins=${plugins}&status=true`, { files: { file: photo(people[0].gallery) } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const f = r.body.result[0];
      assert.ok(Number.isInteger(f.age.low) && Number.isInteger(f.age.high) && f.age.low <= f.age.high);
      assert.ok(['male', 'female'].includes(f.gender.value) && f.gender.probability >= 0.5 && f.gender.probability <= 1);
      assert.ok(['with_mask', 'without_mask'].includes(f.mask.value) && f.mask.probability >= 0 && f.mask.probability <= 1);
      assert.equal(f.mask.value, 'without_mask', 'an LFW portrait wears no mask');
      assert.equal(f.landmarks.length, 5);
      for (const [x, y] of f.landmarks) assert.ok(x >= f.box.x_min && x <= f.box.x_max && y >= f.box.y_min && y <= f.box.y_max);
      assert.equal(f.embedding.length, 512);
      const norm = Math.hypot(...f.embedding);
      assert.ok(Math.abs(norm - 1) < 1e-3, `embedding norm ${norm}`);
      for (const k of ['pitch', 'roll', 'yaw']) assert.equal(typeof f.pose[k], 'number');
      assert.equal(typeof f.emotion.value, 'string');
      assert.ok(Math.abs(Object.values(f.emotion.probabilities as Record<string, number>).reduce((s, x) => s + x, 0) - 1) < 1e-3);
      assert.ok(['real', 'fake'].includes(f.liveness.value));
      assert.equal(typeof f.quality.total.score, 'number');
      for (const k of ['detector', 'calculator', 'age', 'gender', 'mask', 'pose', 'emotion', 'liveness', 'quality']) {
        assert.equal(typeof f.execution_time[k], 'number', `execution_time.${k}`);
        assert.equal(typeof r.body.plugins_versions[k], 'string', `plugins_versions.${k}`);
      }
      // Without plugins or status: only the box.
      const bare = await d.post('/detection/detect', { files: { file: photo(people[0].gallery) } });
      assert.deepEqual(Object.keys(bare.body.result[0]), ['box']);
      assert.equal(bare.body.plugins_versions, undefined);
      // detect_faces=false treats the image as one face.
      const crop = await d.post('/detection/detect?detect_faces=false', { files: { file: photo(people[0].gallery) } });
      assert.equal(crop.body.result.length, 1);
      assert.equal(crop.body.result[0].box.probability, 1);
    });

    it('embeddings: recognize, verify against an example, and the verification service', async () => {
      const d = api.withKey(keys.detection);
      const embeddingOf = async (rel: string) =>
        (await d.post('/detection/detect?face_plugins=calculator', { files: { file: photo(rel) } })).body.result[0].embedding as number[];
      const [a, b] = people;
      const probeA = await embeddingOf(a.probes[0]);
      const probeB = await embeddingOf(b.probes[0]);
      const rec = await api.post('/recognition/embeddings/recognize?prediction_count=2', { json: { embeddings: [probeA, probeB] } });
      assert.equal(rec.status, 200, JSON.stringify(rec.body));
      assert.equal(rec.body.result.length, 2);
      assert.deepEqual(rec.body.result[0].embedding, probeA);
      assert.equal(rec.body.result[0].similarities.length, 2);
      assert.equal(rec.body.result[0].similarities[0].subject, a.name);
      assert.equal(rec.body.result[1].similarities[0].subject, b.name);
      const ver = await api.post(`/recognition/embeddings/faces/${imageIds.get(a.name)}/verify`, { json: { embeddings: [probeA, probeB] } });
      assert.equal(ver.status, 200, JSON.stringify(ver.body));
      assert.ok(ver.body.result[0].similarity > 0.8 && ver.body.result[1].similarity < 0.5);
      const v = api.withKey(keys.verification);
      const pair = await v.post('/verification/embeddings/verify', { json: { source: probeA, targets: [probeA, probeB] } });
      assert.equal(pair.status, 200, JSON.stringify(pair.body));
      assert.equal(pair.body.result[0].similarity, 1);
      assert.ok(pair.body.result[1].similarity < 0.5);
      assertError(await api.post('/recognition/embeddings/recognize', { json: { embeddings: [[1, 2, 3]] } }), 400, 36);
      assertError(await v.post('/verification/embeddings/verify', { json: { targets: [probeA] } }), 400, 5);
    });

    it('records one recognition event per probe face of every recognize and verify call', async () => {
      await server.services.events.flush();
      const before = await countRows(server, 'recognition_events');
      const rec = await api.post('/recognition/recognize', { files: { file: photo(GROUP_OF_TWO) } });
      const ver = await api.post(`/recognition/faces/${imageIds.get(people[0].name)}/verify?limit=1`, { files: { file: photo(people[0].probes[0]) } });
      const pair = await api
        .withKey(keys.verification)
        .post('/verification/verify?limit=1', { files: { source_image: photo(people[0].gallery), target_image: photo(people[0].probes[0]) } });
      const probeFaces = rec.body.result.length + ver.body.result.length + pair.body.result[0].face_matches.length;
      assert.equal(probeFaces, 4);
      await server.services.events.flush(); // events are written behind the response
      assert.equal(await countRows(server, 'recognition_events'), before + probeFaces);
      const r = await server.db.query<{ dialect: string; endpoint: string; person_id: number | null; verdict: string; similarity: number }>(
        `SELECT dialect, endpoint, person_id, verdict, similarity FROM recognition_events ORDER BY id DESC LIMIT 2`,
      );
      assert.deepEqual(
        r.rows.map((e) => [e.dialect, e.endpoint, e.verdict]),
        [
          ['compreface', 'verification/verify', 'match'],
          ['compreface', 'faces/verify', 'match'],
        ],
      );
      assert.notEqual(r.rows[1].person_id, null);
      // Recognised persons get their statistics.
      const stats = await server.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM persons WHERE recognition_count > 0`);
      assert.ok(stats.rows[0].n >= people.length);
    });

    it('downloads an example photo by header key and by the static URL', async () => {
      const p = people[0];
      const id = imageIds.get(p.name)!;
      const img = await api.get(`/recognition/faces/${id}/img`);
      assert.equal(img.status, 200);
      assert.ok(Buffer.compare(img.body, photo(p.gallery)) === 0);
      const res = await fetch(`${server.url}/api/v1/static/${keys.recognition}/images/${id}`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'image/jpeg');
      assert.ok(Buffer.from(await res.arrayBuffer()).equals(photo(p.gallery)));
      // Unknown image: empty bytes, as CompreFace answers.
      const none = await api.get(`/recognition/faces/00000000-0000-4000-8000-000000000000/img`);
      assert.equal(none.status, 200);
      assert.equal(none.body.length, 0);
      // Another key's collection cannot see it.
      const otherKey = (await server.services.keys.create('recognition')).key;
      assert.equal((await api.withKey(otherKey).get(`/recognition/faces/${id}/img`)).body.length, 0);
    });

    it('pages the example list, optionally by subject', async () => {
      const p = people[2];
      for (const probe of p.probes.slice(0, 2)) await api.enrol(p.name, photo(probe));
      const total = people.length + Math.min(2, p.probes.length);
      const first = await api.get('/recognition/faces?page=0&size=4');
      assert.equal(first.status, 200);
      assert.deepEqual(
        { n: first.body.faces.length, page: first.body.page_number, size: first.body.page_size, total: first.body.total_elements },
        { n: 4, page: 0, size: 4, total },
      );
      assert.equal(first.body.total_pages, Math.ceil(total / 4));
      const last = await api.get(`/recognition/faces?page=${first.body.total_pages - 1}&size=4`);
      assert.equal(last.body.faces.length, total - 4 * (first.body.total_pages - 1));
      const ids = new Set([...first.body.faces, ...last.body.faces].map((f: { image_id: string }) => f.image_id));
      assert.equal(ids.size, first.body.faces.length + last.body.faces.length);
      const defaults = await api.get('/recognition/faces');
      assert.equal(defaults.body.page_size, 20);
      const mine = await api.get(`/recognition/faces?subject=${encodeURIComponent(p.name)}`);
      assert.equal(mine.body.total_elements, 1 + Math.min(2, p.probes.length));
      assert.ok(mine.body.faces.every((f: { subject: string }) => f.subject === p.name));
    });

    it('adds, renames (merging into an existing subject) and deletes subjects', async () => {
      const s = api;
      assert.deepEqual((await s.post('/recognition/subjects', { json: { subject: 'Temp One' } })).body, { subject: 'Temp One' });
      assertError(await s.post('/recognition/subjects', { json: { subject: 'temp one' } }), 400, 43);
      const a = await s.enrol('Temp One', photo(people[3].probes[0]));
      const b = await s.enrol('Temp Two', photo(people[3].gallery));
      // Plain rename; recognize names the subject by its new name at once (names are cached for recognize).
      const topSubject = async () => (await s.post('/recognition/recognize', { files: { file: photo(people[3].probes[0]) } })).body.result[0].subjects[0].subject;
      assert.equal(await topSubject(), 'Temp One');
      assert.deepEqual((await s.put('/recognition/subjects/Temp%20One', { subject: 'Temp Three' })).body, { updated: true });
      assert.equal(await topSubject(), 'Temp Three');
      // Rename onto an existing name merges: Temp Two's example moves to Temp Three, Temp Two is gone.
      assert.deepEqual((await s.put('/recognition/subjects/Temp%20Two', { subject: 'Temp Three' })).body, { updated: true });
      const subjects = (await s.get('/recognition/subjects')).body.subjects as string[];
      assert.ok(subjects.includes('Temp Three') && !subjects.includes('Temp Two') && !subjects.includes('Temp One'));
      const merged = await s.get('/recognition/faces?subject=Temp%20Three');
      assert.deepEqual(merged.body.faces.map((f: { image_id: string }) => f.image_id).sort(), [a, b].sort());
      assertError(await s.put('/recognition/subjects/Nobody', { subject: 'X' }), 404, 42);
      // Delete the subject with its examples.
      assert.deepEqual((await s.delete('/recognition/subjects/Temp%20Three')).body, { subject: 'Temp Three' });
      assertError(await s.delete('/recognition/subjects/Temp%20Three'), 404, 42);
      assert.equal((await s.get('/recognition/faces?subject=Temp%20Three')).body.total_elements, 0);
    });

    it('deletes examples by id, several at once (unknown ids ignored), and by subject', async () => {
      const p = people[4];
      const x = await api.enrol('Del Me', photo(p.probes[0]));
      const y = await api.enrol('Del Me', photo(p.gallery));
      const z = await api.enrol('Del Me Too', photo(p.gallery));
      assert.deepEqual((await api.delete(`/recognition/faces/${x}`)).body, { image_id: x, subject: 'Del Me' });
      assertError(await api.delete(`/recognition/faces/${x}`), 404, 44);
      const many = await api.post('/recognition/faces/delete', { json: [y, '00000000-0000-4000-8000-000000000000', 'not-a-uuid'] });
      assert.equal(many.status, 200);
      assert.deepEqual(many.body, [{ image_id: y, subject: 'Del Me' }]);
      assert.deepEqual((await api.delete('/recognition/faces?subject=Del%20Me%20Too')).body, { deleted: 1 });
      assert.deepEqual((await api.delete('/recognition/faces?subject=Nobody%20At%20All')).body, { deleted: 0 });
      assert.equal((await api.get(`/recognition/faces/${z}/img`)).body.length, 0);
    });

    describe('errors', () => {
      it('a missing, malformed, unknown, revoked or other-service key', async () => {
        assertError(await api.withKey(undefined).get('/recognition/subjects'), 400, 20);
        assertError(await api.withKey('not-a-uuid').get('/recognition/subjects'), 400, 26);
        assertError(await api.withKey('00000000-0000-4000-8000-000000000000').get('/recognition/subjects'), 404, 10);
        assertError(await api.withKey(keys.detection).get('/recognition/subjects'), 404, 10);
        assertError(await api.withKey(keys.recognition).post('/detection/detect', { files: { file: photo(people[0].gallery) } }), 404, 10);
        const { key } = await server.services.keys.create('recognition');
        assert.equal((await api.withKey(key).get('/recognition/subjects')).status, 200);
        await server.services.keys.revoke(key);
        assertError(await api.withKey(key).get('/recognition/subjects'), 404, 10);
      });

      it('image errors: no face, too many faces, unsupported, corrupt, bad base64, too big, missing file', async () => {
        const facesBefore = await countRows(server, 'faces');
        const personsBefore = await countRows(server, 'persons');
        await server.services.events.flush();
        const eventsBefore = await countRows(server, 'recognition_events');
        const enrol = (files: Record<string, Buffer>) => api.post('/recognition/faces?subject=Should%20Not%20Exist', { files });
        const grey = await noFaceJpeg();
        assertError(await enrol({ file: grey }), 400, 28);
        assertError(await api.post('/recognition/recognize', { files: { file: grey } }), 400, 28);
        assertError(await api.withKey(keys.detection).post('/detection/detect', { files: { file: grey } }), 400, 28);
        assertError(await enrol({ file: photo(GROUP_OF_TWO) }), 400, 31);
        assertError(await enrol({ file: Buffer.from('this is plain text, not an image at all') }), 400, 21);
        const jpeg = photo(people[0].gallery);
        const corrupt = await enrol({ file: jpeg.subarray(0, 600) });
        assert.equal(corrupt.status, 400);
        assert.ok([0, 21].includes(corrupt.body.code));
        assertError(await api.post('/recognition/faces?subject=Should%20Not%20Exist', { json: { file: '@@not base64@@' } }), 400, 21);
        const big = Buffer.alloc(5 * 1024 * 1024 + 10, 1);
        assertError(await enrol({ file: big }), 400, 0);
        assertError(await api.post('/recognition/faces?subject=Should%20Not%20Exist', { json: { file: big.toString('base64') } }), 400, 0);
        assertError(await enrol({ other: jpeg }), 400, 34);
        assertError(await api.post('/recognition/faces?subject=Should%20Not%20Exist', { json: {} }), 400, 34);
        assertError(await api.post('/recognition/faces', { files: { file: jpeg } }), 400, 33);
        assertError(await api.post('/recognition/subjects', { json: {} }), 400, 5);
        assertError(await api.request('POST', '/recognition/subjects', { headers: { 'content-type': 'application/json' }, json: undefined }), 400, 5);
        const malformed = await fetch(`${server.url}/api/v1/recognition/subjects`, {
          method: 'POST',
          headers: { 'x-api-key': keys.recognition, 'content-type': 'application/json' },
          body: '{"subject": ',
        });
        assert.equal(malformed.status, 400);
        assert.deepEqual(Object.keys((await malformed.json()) as object).sort(), ['code', 'message']);
        // Nothing was stored by any of these.
        await server.services.events.flush();
        assert.equal(await countRows(server, 'faces'), facesBefore);
        assert.equal(await countRows(server, 'persons'), personsBefore);
        assert.equal(await countRows(server, 'recognition_events'), eventsBefore);
        assert.ok(!((await api.get('/recognition/subjects')).body.subjects as string[]).includes('Should Not Exist'));
      });

      it('bad parameters, unknown subject and unknown example', async () => {
        const file = { file: photo(people[0].probes[0]) };
        assertError(await api.post('/recognition/recognize?limit=-1', { files: file }), 400, 26);
        assertError(await api.post('/recognition/recognize?limit=abc', { files: file }), 400, 26);
        assertError(await api.post('/recognition/recognize?prediction_count=0', { files: file }), 400, 12);
        assertError(await api.post('/recognition/recognize?det_prob_threshold=1.5', { files: file }), 400, 26);
        assertError(await api.post('/recognition/recognize?status=maybe', { files: file }), 400, 26);
        assertError(await api.get('/recognition/faces?size=0'), 400, 26);
        assertError(await api.get('/recognition/faces?page=-1'), 400, 26);
        assertError(await api.delete('/recognition/subjects/Nobody'), 404, 42);
        assertError(await api.post('/recognition/faces/00000000-0000-4000-8000-000000000000/verify', { files: file }), 404, 44);
        assertError(await api.post('/recognition/faces/not-a-uuid/verify', { files: file }), 404, 44);
        assertError(await api.delete('/recognition/faces/not-a-uuid'), 404, 44);
        assertError(await api.post('/recognition/faces/delete', { json: { ids: [] } }), 400, 26);
        assertError(await api.get('/recognition/no-such-endpoint'), 404, 0);
      });

      it('refuses image URLs on loopback and private addresses (URL_FETCH_ALLOW_PRIVATE is off)', async () => {
        const own = `${server.url}/api/v1/static/${keys.recognition}/images/${imageIds.get(people[0].name)}`;
        for (const url of [own, 'http://10.1.2.3/face.jpg', 'http://[::1]/face.jpg', 'http://169.254.169.254/latest/meta-data']) {
          assertError(await api.post('/recognition/recognize', { json: { file: url } }), 400, 36);
        }
        assertError(await api.post('/recognition/recognize', { json: { file: 'ftp://example.com/face.jpg' } }), 400, 21);
      });
    });
  });
}

describe('CompreFace image URLs when private addresses are allowed', function () {
  this.timeout(120_000);
  let server: RunningServer;
  before(async function () {
    requireFacedata(this);
    server = await startTestServer({ URL_FETCH_ALLOW_PRIVATE: 'true' });
  });
  after(async () => server?.close());

  it('fetches the image from the URL given in place of base64', async () => {
    const keys = await createKeys(server);
    const api = new Api(server.url, keys.recognition);
    const { people } = identificationSet(1);
    const id = await api.enrol(people[0].name, photo(people[0].gallery));
    // The server's own static image URL serves the enrolled photo back.
    const url = `${server.url}/api/v1/static/${keys.recognition}/images/${id}`;
    const r = await api.post('/recognition/recognize', { json: { file: url } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.result[0].subjects[0].subject, people[0].name);
    assert.ok(r.body.result[0].subjects[0].similarity > 0.99);
    assertError(await api.post('/recognition/recognize', { json: { file: `${server.url}/no/such/image.jpg` } }), 400, 0);
  });
});
