// CompreFace's official JavaScript client (@exadel/compreface-js-sdk from npm, unchanged) driving the running
// server through its recognition, detection and verification services, on real photos.
// The SDK reads files only from paths that start with "." and sends options the way its own README shows.
import assert from 'node:assert/strict';
import path from 'node:path';
import { CompreFace } from '@exadel/compreface-js-sdk';
import type { RunningServer } from '../src/server';
import { createKeys, FACEDATA_RELATIVE, identificationSet, photo, requireFacedata, stores, type Keys, type Person } from './support/compreface';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

const rel = (p: string) => `./${path.join(FACEDATA_RELATIVE, p)}`;

for (const store of stores()) {
  describe(`CompreFace JS SDK against the ${store.name} store`, function () {
    this.timeout(180_000);
    let server: RunningServer;
    let keys: Keys;
    let sdk: Any;
    let people: Person[];
    let unknown: string[];
    const imageIds = new Map<string, string>();

    before(async function () {
      requireFacedata(this);
      server = await store.start(this);
      keys = await createKeys(server);
      const url = new URL(server.url);
      sdk = new CompreFace(`${url.protocol}//${url.hostname}`, Number(url.port));
      ({ people, unknown } = identificationSet(4));
    });
    after(async () => {
      await server?.close();
      await store.cleanup();
    });

    it('recognition service: subjects, examples, recognize, verify, deletes', async () => {
      const recognition = sdk.initFaceRecognitionService(keys.recognition);
      assert.deepEqual(await recognition.getSubjects().add(people[0].name), { subject: people[0].name });
      for (const p of people) {
        const added = await recognition.getFaceCollection().add(rel(p.gallery), p.name);
        assert.equal(added.subject, p.name);
        imageIds.set(p.name, added.image_id);
      }
      const listed = await recognition.getFaceCollection().list();
      assert.equal(listed.faces.length, people.length);
      assert.deepEqual((await recognition.getSubjects().list()).subjects.sort(), people.map((p) => p.name).sort());

      for (const p of people) {
        const r = await recognition.recognize(rel(p.probes[0]), { limit: 0, prediction_count: 1, face_plugins: 'age,gender', status: true });
        const face = r.result[0];
        assert.equal(face.subjects[0].subject, p.name);
        assert.ok(face.subjects[0].similarity > 0.8, `${p.name}: ${face.subjects[0].similarity}`);
        assert.ok(face.age && face.gender && face.execution_time && r.plugins_versions);
      }
      const stranger = await recognition.recognize(rel(unknown[0]), { limit: 0 });
      assert.ok(stranger.result[0].subjects[0].similarity < 0.5);

      // Base64 goes as JSON {"file": ...}.
      const b64 = await recognition.recognize(photo(people[1].probes[0]).toString('base64'), { limit: 0 });
      assert.equal(b64.result[0].subjects[0].subject, people[1].name);

      const same = await recognition.getFaceCollection().verify(rel(people[0].probes[0]), imageIds.get(people[0].name), { limit: 0 });
      assert.ok(same.result[0].similarity > 0.8);
      const other = await recognition.getFaceCollection().verify(rel(people[1].probes[0]), imageIds.get(people[0].name), { limit: 0 });
      assert.ok(other.result[0].similarity < 0.5);

      // Rename, delete one example, delete several, delete a subject, delete all.
      assert.deepEqual(await recognition.getSubjects().rename(people[3].name, 'Renamed_Person'), { updated: true });
      const removed = await recognition.getFaceCollection().delete(imageIds.get(people[2].name));
      assert.deepEqual(removed, { image_id: imageIds.get(people[2].name), subject: people[2].name });
      const several = await recognition.getFaceCollection().delete_multiple_images([imageIds.get(people[1].name), imageIds.get(people[2].name)]);
      assert.deepEqual(several, [{ image_id: imageIds.get(people[1].name), subject: people[1].name }]);
      assert.deepEqual(await recognition.getSubjects().delete('Renamed_Person'), { subject: 'Renamed_Person' });
      const deletedAll = await recognition.getSubjects().deleteAll();
      assert.equal(typeof deletedAll.deleted, 'number');
      assert.deepEqual((await recognition.getSubjects().list()).subjects, []);
    });

    it('detection service with face plugins and status', async () => {
      const detection = sdk.initFaceDetectionService(keys.detection);
      const r = await detection.detect(rel(people[0].gallery), { limit: 0, face_plugins: 'age,gender,mask,landmarks,calculator,pose', status: true });
      const f = r.result[0];
      assert.ok(f.box && f.age && f.gender && f.mask && f.pose);
      assert.equal(f.landmarks.length, 5);
      assert.equal(f.embedding.length, 512);
      assert.ok(r.plugins_versions.detector);
    });

    it('verification service: same and different people', async () => {
      const verification = sdk.initFaceVerificationService(keys.verification);
      const [a, b] = people;
      const same = await verification.verify(rel(a.gallery), rel(a.probes[0]), { limit: 0 });
      assert.ok(same.result[0].face_matches[0].similarity > 0.8, JSON.stringify(same.result[0].face_matches[0].similarity));
      const diff = await verification.verify(rel(a.gallery), rel(b.probes[0]), { limit: 0 });
      assert.ok(diff.result[0].face_matches[0].similarity < 0.5);
    });

    it('a wrong key is rejected with CompreFace status and body', async () => {
      const recognition = sdk.initFaceRecognitionService('00000000-0000-4000-8000-000000000000');
      await assert.rejects(recognition.recognize(rel(people[0].probes[0]), { limit: 0 }), (err: Any) => {
        assert.equal(err.response.status, 404);
        assert.equal(err.response.data.code, 10);
        return true;
      });
    });
  });
}
