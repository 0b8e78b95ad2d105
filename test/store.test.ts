// The face store's schema and repositories, on embedded PostgreSQL and on the real server: every repository,
// the triggers (photo deletion, per-person statistics, change notifications), retention and the SQL search path.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Db, Queryable } from '../src/store/db';
import { migrate } from '../src/store/migrations';
import * as collections from '../src/store/collections';
import * as persons from '../src/store/persons';
import * as faces from '../src/store/faces';
import * as photos from '../src/store/photos';
import * as cameras from '../src/store/cameras';
import * as events from '../src/store/events';
import * as scans from '../src/store/scans';
import * as apiKeys from '../src/store/api-keys';
import { searchCollectionSql } from '../src/store/vector-search';
import { RetentionJob } from '../src/store/retention';
import { copyIndexEntries, decodeVectorSendBatch, readFaceMemberships, splitCollectionRanges } from '../src/store/face-index-queries';
import { parseVectorInto, vectorFromSql, vectorToSql } from '../src/store/vector';
import { forEachStore } from './support/stores';
import { clusteredEmbeddings, randomUnit } from './support/embeddings';

/** The ```sql blocks of docs/SQL.md, each with its \\set variables and its statements. */
function documentedQueries(): { vars: Map<string, string>; statements: string[] }[] {
  const text = fs.readFileSync(path.resolve(import.meta.dirname, '../docs/SQL.md'), 'utf8');
  return [...text.matchAll(/```sql\n([\s\S]*?)```/g)].map(([, block]) => {
    const vars = new Map<string, string>();
    const body = block
      .split('\n')
      .filter((line) => {
        const m = /^\\set (\w+) (.*)$/.exec(line);
        if (m) vars.set(m[1], m[2]);
        return !m;
      })
      .join('\n');
    return { vars, statements: body.split(/;\s*$/m).map((x) => x.trim()).filter(Boolean) };
  });
}

/** psql's variable substitution: :'name' as a quoted literal, :name as is. */
function substitute(sql: string, vars: Map<string, string>): string {
  return sql
    .replace(/:'(\w+)'/g, (_, name: string) => `'${vars.get(name)!.replace(/^'|'$/g, '').replace(/'/g, "''")}'`)
    .replace(/(?<!:):(\w+)/g, (all, name: string) => vars.get(name) ?? all);
}

const template = (seed: number) => Buffer.from([0x46, 0x53, seed & 0xff, (seed >> 8) & 0xff]);

describe('face store', function () {
  this.timeout(60_000);

  forEachStore((name, store) => {
    let db: Db;
    before(async () => {
      db = await store.open();
    });

    it('migrating again is a no-op', async () => {
      assert.deepEqual((await migrate(db)).applied, []);
    });

    it('every foreign key has an index leading with its columns (a delete of the referenced row must not scan)', async () => {
      const { rows } = await db.query<{ fk: string }>(
        `SELECT c.conrelid::regclass || '.' || c.conname AS fk
           FROM pg_constraint c
          WHERE c.contype = 'f'
            AND NOT EXISTS (SELECT 1 FROM pg_index i
                             WHERE i.indrelid = c.conrelid
                               AND (i.indkey::int2[])[0:cardinality(c.conkey) - 1] = c.conkey)
          ORDER BY 1`,
      );
      assert.deepEqual(rows.map((r) => r.fk), []);
    });

    it('collections: create, ensure (idempotent), rename, in-memory flag, delete', async () => {
      const a = await collections.createCollection(db, { name: 'gallery-a' });
      assert.equal(a.inMemory, true);
      const again = await collections.ensureCollection(db, { name: 'gallery-a' });
      assert.equal(again.id, a.id);
      const b = await collections.ensureCollection(db, { name: 'gallery-b', inMemory: false });
      assert.equal(b.inMemory, false);
      await assert.rejects(collections.createCollection(db, { name: 'gallery-a' }), (err) => persons.isUniqueViolation(err));
      assert.ok(await collections.renameCollection(db, b.id, 'gallery-b2'));
      assert.equal((await collections.getCollectionByName(db, 'gallery-b2'))?.id, b.id);
      const before = (await collections.getCollection(db, a.id))!.version;
      assert.ok(await collections.setCollectionInMemory(db, a.id, false));
      const after = (await collections.getCollection(db, a.id))!;
      assert.equal(after.inMemory, false);
      assert.equal(after.version, before + 1);
      const names = (await collections.listCollections(db)).map((c) => c.name);
      assert.ok(names.includes('gallery-a') && names.includes('gallery-b2'));
      assert.ok(await collections.deleteCollection(db, b.id));
      assert.equal(await collections.getCollection(db, b.id), undefined);
      assert.equal(await collections.deleteCollection(db, b.id), false);
    });

    it('persons: subject names unique per owning collection, free elsewhere; update, merge, delete', async () => {
      const c1 = await collections.createCollection(db, { name: 'persons-1' });
      const c2 = await collections.createCollection(db, { name: 'persons-2' });
      const anne = await persons.ensurePersonByName(db, c1.id, 'anne');
      assert.equal((await persons.ensurePersonByName(db, c1.id, 'anne')).id, anne.id);
      assert.notEqual((await persons.ensurePersonByName(db, c2.id, 'anne')).id, anne.id);
      await assert.rejects(persons.createPerson(db, { ownerCollectionId: c1.id, name: 'anne' }), persons.isUniqueViolation);
      // Face Intellect persons: no owner, names may repeat, structured fields kept.
      const ivan1 = await persons.createPerson(db, { name: 'Ivan', surname: 'Petrov', patronymic: 'Ivanovich', department: 'R&D', comment: 'x' });
      const ivan2 = await persons.createPerson(db, { name: 'Ivan' });
      assert.notEqual(ivan1.id, ivan2.id);
      assert.deepEqual((await persons.getPersonByUuid(db, ivan1.uuid))?.patronymic, 'Ivanovich');
      assert.equal(await persons.getPersonByUuid(db, 'not-a-uuid'), undefined);

      const bob = await persons.createPerson(db, { ownerCollectionId: c1.id, name: 'bob' });
      assert.deepEqual((await persons.listPersons(db, { ownerCollectionId: c1.id })).map((p) => p.name), ['anne', 'bob']);
      assert.deepEqual((await persons.listPersons(db, { ownerCollectionId: c1.id }, { page: 1, size: 1 })).map((p) => p.name), ['bob']);
      assert.equal(await persons.countPersons(db, { ownerCollectionId: c1.id }), 2);
      await assert.rejects(persons.updatePerson(db, bob.id, { name: 'anne' }), persons.isUniqueViolation);
      assert.equal((await persons.updatePerson(db, bob.id, { comment: 'note' }))?.comment, 'note');

      // Merge bob into anne: bob's faces and statistics move, bob is gone.
      const f = await faces.insertFace(db, { personId: bob.id, template: template(1), embedding: randomUnit(1), collectionIds: [c1.id] });
      await events.insertEvent(db, { personId: bob.id, faceId: f.id, similarity: 0.9 });
      const moved = await db.transaction((tx) => persons.mergePersons(tx, bob.id, anne.id));
      assert.equal(moved, 1);
      assert.equal(await persons.getPerson(db, bob.id), undefined);
      assert.equal((await faces.getFace(db, f.id))?.personName, 'anne');
      assert.equal((await persons.getPerson(db, anne.id))?.recognitionCount, 1);
      assert.equal((await events.listEvents(db, { personId: anne.id })).length, 1);

      // Deleting a person deletes the person's faces.
      assert.ok(await persons.deletePerson(db, anne.id));
      assert.equal(await faces.getFace(db, f.id), undefined);
      assert.equal(await persons.deletePersonsOwnedBy(db, c2.id), 1);
    });

    it('faces: insert with photo and memberships, look-ups, paging, templates, move, delete', async () => {
      const c = await collections.createCollection(db, { name: 'faces-1' });
      const other = await collections.createCollection(db, { name: 'faces-2' });
      const p = await persons.ensurePersonByName(db, c.id, 'carol');
      const jpeg = Buffer.from('not really a jpeg, but bytes all the same');
      const e1 = randomUnit(11);
      const f1 = await faces.insertFace(db, {
        personId: p.id,
        box: { x: 10.4, y: 20, width: 30, height: 40 },
        photo: { bytes: jpeg, mimeType: 'image/jpeg', store: true },
        template: template(11),
        embedding: e1,
        quality: 0.75,
        attributes: { age: 31 },
        collectionIds: [c.id, other.id],
      });
      assert.equal(f1.personName, 'carol');
      assert.deepEqual(f1.box, { x: 10, y: 20, width: 30, height: 40 });
      assert.deepEqual(f1.photoSha256, photos.sha256(jpeg));
      assert.deepEqual(f1.attributes, { age: 31 });
      assert.equal(f1.quality, 0.75);
      assert.deepEqual((await photos.getFacePhoto(db, f1.id))?.bytes, jpeg);
      // Photos not stored (SAVE_IMAGES off): the hash stays, the bytes do not.
      const f2 = await faces.insertFace(db, {
        personId: p.id,
        photo: { bytes: jpeg, store: false },
        template: template(12),
        embedding: randomUnit(12),
        autoCreated: true,
        collectionIds: [c.id],
      });
      assert.equal(f2.photoId, null);
      assert.deepEqual(f2.photoSha256, photos.sha256(jpeg));
      assert.equal(await photos.getFacePhoto(db, f2.id), undefined);

      assert.equal((await faces.getFaceByUuid(db, f1.uuid))?.id, f1.id);
      assert.equal(await faces.getFaceByUuid(db, 'nope'), undefined);
      assert.deepEqual([...(await faces.getFacesByIds(db, [f2.id, f1.id, 999_999])).keys()].sort(), [f1.id, f2.id].sort());
      assert.equal((await faces.getFacesByUuids(db, [f2.uuid, 'bad'])).get(f2.uuid)?.id, f2.id);
      assert.deepEqual((await faces.listFaces(db, { collectionIds: [c.id] })).map((f) => f.id), [f1.id, f2.id]);
      assert.deepEqual((await faces.listFaces(db, { ownerCollectionId: c.id }, { page: 1, size: 1 })).map((f) => f.id), [f2.id]);
      assert.equal(await faces.countFaces(db, { collectionIds: [other.id] }), 1);
      assert.equal(await collections.countCollectionFaces(db, c.id), 2);
      assert.deepEqual(await faces.getFaceCollectionIds(db, f1.id), [c.id, other.id].sort((a, b) => a - b));

      // The embedding round-trips exactly as float4.
      const stored = (await faces.getFaceTemplates(db, [f1.id])).get(f1.id)!;
      assert.deepEqual(stored.template, template(11));
      assert.deepEqual(Array.from(stored.embedding), Array.from(e1));
      const e3 = randomUnit(13);
      assert.ok(await faces.setFaceTemplate(db, f1.id, { template: template(13), embedding: e3 }));
      assert.deepEqual(Array.from((await faces.getFaceTemplates(db, [f1.id])).get(f1.id)!.embedding), Array.from(e3));

      assert.equal(await faces.removeFaceFromCollections(db, f1.id, [other.id]), 1);
      assert.equal(await faces.removeFaceFromCollections(db, f1.id, [other.id]), 0);
      const dave = await persons.ensurePersonByName(db, c.id, 'dave');
      assert.ok(await faces.setFacePerson(db, f2.id, dave.id));
      assert.equal((await faces.getFace(db, f2.id))?.personName, 'dave');

      // Deleting a face deletes its photo; unknown ids are ignored.
      const photoId = f1.photoId!;
      const deleted = await faces.deleteFaces(db, [f1.id, 123_456_789, f1.id]);
      assert.deepEqual(deleted.map((f) => f.id), [f1.id]);
      assert.equal(await photos.getPhoto(db, photoId), undefined);
      assert.equal(await faces.deleteFacesOfPerson(db, dave.id), 1);
      assert.equal(await faces.deleteFace(db, f2.id), false);
    });

    it('a photo shared by two faces stays until the last of them is deleted', async () => {
      const c = await collections.createCollection(db, { name: 'shared-photo' });
      const photoId = await photos.insertPhoto(db, Buffer.from('group photo'), 'image/png');
      const [a, b] = await Promise.all(
        [1, 2].map((i) => faces.insertFace(db, { template: template(i), embedding: randomUnit(20 + i), collectionIds: [c.id] })),
      );
      await db.query('UPDATE faces SET photo_id = $1 WHERE id = ANY($2::bigint[])', [photoId, [a.id, b.id]]);
      await faces.deleteFace(db, a.id);
      assert.equal((await photos.getPhoto(db, photoId))?.mimeType, 'image/png');
      await faces.deleteFace(db, b.id);
      assert.equal(await photos.getPhoto(db, photoId), undefined);
    });

    it('cameras: create, ensure, look up, delete (events keep their rows)', async () => {
      const cam = await cameras.createCamera(db, { name: 'gate 7', url: 'rtsp://cam7', comment: 'north' });
      assert.equal((await cameras.ensureCamera(db, 'gate 7')).id, cam.id);
      assert.equal((await cameras.getCameraByUuid(db, cam.uuid))?.url, 'rtsp://cam7');
      assert.ok((await cameras.listCameras(db)).some((c) => c.id === cam.id));
      const eventId = await events.insertEvent(db, { cameraId: cam.id, verdict: 'unknown' });
      assert.ok(await cameras.deleteCamera(db, cam.id));
      assert.equal(await cameras.getCamera(db, cam.id), undefined);
      const [e] = (await events.listEvents(db, { limit: 100 })).filter((x) => x.id === eventId);
      assert.equal(e.cameraId, null);
    });

    it('recognition events: insert keeps per-person statistics; filters by time, camera and person', async () => {
      const c = await collections.createCollection(db, { name: 'events-1' });
      const cam = await cameras.ensureCamera(db, 'events cam');
      const p = await persons.ensurePersonByName(db, c.id, 'erin');
      const f = await faces.insertFace(db, { personId: p.id, template: template(30), embedding: randomUnit(30), collectionIds: [c.id] });
      const t0 = new Date('2026-01-05T10:00:00Z');
      const t1 = new Date('2026-01-06T10:00:00Z');
      await events.insertEvents(db, [
        { occurredAt: t0, cameraId: cam.id, collectionId: c.id, faceId: f.id, personId: p.id, similarity: 0.91, verdict: 'friend', box: { x: 1, y: 2, width: 3, height: 4 }, embedding: randomUnit(31), dialect: 'compreface', endpoint: 'recognize', requestId: 'r1' },
        { occurredAt: t1, cameraId: cam.id, collectionId: c.id, faceId: f.id, personId: p.id, similarity: 0.88, verdict: 'friend' },
        { occurredAt: t1, cameraId: cam.id, collectionId: c.id, verdict: 'unknown' },
      ]);
      const person = (await persons.getPerson(db, p.id))!;
      assert.equal(person.recognitionCount, 2);
      assert.equal(person.lastRecognizedAt?.getTime(), t1.getTime());
      assert.equal((await events.listEvents(db, { cameraId: cam.id })).length, 3);
      const firstDay = await events.listEvents(db, { cameraId: cam.id, from: t0, to: t1 });
      assert.equal(firstDay.length, 1);
      assert.deepEqual(firstDay[0].box, { x: 1, y: 2, width: 3, height: 4 });
      assert.equal(firstDay[0].requestId, 'r1');
      assert.equal((await events.listEvents(db, { personId: p.id })).length, 2);
    });

    it('recognition events: the binary COPY path stores exactly what the INSERT path stores (same trigger)', async () => {
      const c = await collections.createCollection(db, { name: 'events-copy' });
      const cam = await cameras.ensureCamera(db, 'copy cam');
      const p = await persons.ensurePersonByName(db, c.id, 'frank');
      const f = await faces.insertFace(db, { personId: p.id, template: template(32), embedding: randomUnit(32), collectionIds: [c.id] });
      const at = new Date('2026-02-03T04:05:06.789Z');
      const base = {
        occurredAt: at, cameraId: cam.id, collectionId: c.id, faceId: f.id, personId: p.id, similarity: 0.8125, verdict: 'match',
        box: { x: 10.4, y: -2, width: 300, height: 301.6 }, embedding: randomUnit(33), thumbnailRef: 'thumb/ü.jpg', dialect: 'compreface',
        endpoint: 'recognize', attributes: { age: [20, 30], note: 'ключ "q"' },
      };
      await events.insertEvents(db, [{ ...base, requestId: 'copy-insert' }]);
      assert.equal(await events.copyEvents(db, [{ ...base, requestId: 'copy-copy' }, { requestId: 'copy-bare' }]), 2);
      const rows = (
        await db.query<Record<string, unknown>>(
          `SELECT request_id, occurred_at, camera_id, collection_id, face_id, person_id, similarity, verdict, box_x, box_y, box_width,
                  box_height, embedding::text AS embedding, thumbnail_ref, dialect, endpoint, attributes
             FROM recognition_events WHERE request_id LIKE 'copy-%' ORDER BY request_id`,
        )
      ).rows;
      const [bare, copied, inserted] = rows;
      assert.deepEqual({ ...copied, request_id: null }, { ...inserted, request_id: null });
      assert.equal((copied.occurred_at as Date).toISOString(), at.toISOString());
      assert.deepEqual(vectorFromSql(copied.embedding as string), base.embedding);
      assert.equal(bare.embedding, null);
      assert.equal(bare.verdict, null);
      assert.deepEqual(bare.attributes, {});
      assert.equal((await persons.getPerson(db, p.id))!.recognitionCount, 2, 'the statistics trigger fires for COPY too');
    });

    it('recognition events: a COPY the database refuses rejects (no hang) and writes nothing', async () => {
      const before = (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM recognition_events`)).rows[0].n;
      const bad = randomUnit(34);
      bad[3] = Number.NaN;
      await assert.rejects(events.copyEvents(db, [{ requestId: 'copy-ok' }, { requestId: 'copy-nan', embedding: bad }]), (err: { code?: string }) => /^22/.test(String(err.code)));
      await assert.rejects(events.copyEvents(db, [{ requestId: 'copy-fk', personId: 987_654_321 }]), (err: { code?: string }) => err.code === '23503');
      assert.equal((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM recognition_events`)).rows[0].n, before);
      assert.equal(await events.copyEvents(db, [{ requestId: 'copy-after' }]), 1, 'the connection is usable afterwards');
    });

    it('retention deletes events older than the setting, keeps newer ones; 0 keeps all', async () => {
      const old = new Date(Date.now() - 40 * 86_400_000);
      const recent = new Date(Date.now() - 2 * 86_400_000);
      const [oldId, recentId] = await events.insertEvents(db, [
        { occurredAt: old, verdict: 'old' },
        { occurredAt: recent, verdict: 'recent' },
      ]);
      assert.equal(await events.deleteEventsOlderThan(db, 0), 0);
      const job = new RetentionJob(db, 30);
      assert.ok((await job.runOnce()) >= 1);
      await job.stop();
      const ids = new Set((await events.listEvents(db, { limit: 100_000 })).map((e) => e.id));
      assert.ok(!ids.has(oldId));
      assert.ok(ids.has(recentId));
    });

    it('api keys: stored hashed, found by key, listed by prefix, revoked by key or prefix', async () => {
      const c = await collections.createCollection(db, { name: 'keys-1' });
      const key = crypto.randomUUID();
      const record = await apiKeys.insertApiKey(db, { kind: 'recognition', secret: key, collectionIds: [c.id], scopes: ['read', 'write'] });
      assert.equal(record.prefix, key.slice(0, 8));
      assert.deepEqual(record.collections, [{ id: c.id, name: 'keys-1' }]);
      const stored = await db.query<{ key_hash: Buffer }>('SELECT key_hash FROM api_keys WHERE id = $1', [record.id]);
      assert.deepEqual(stored.rows[0].key_hash, apiKeys.hashSecret(key));
      const raw = JSON.stringify((await db.query('SELECT * FROM api_keys')).rows);
      assert.ok(!raw.includes(key), 'the plain key is not stored');
      assert.deepEqual((await apiKeys.findActiveApiKey(db, key))?.scopes, ['read', 'write']);
      assert.equal(await apiKeys.findActiveApiKey(db, key + 'x'), undefined);
      await assert.rejects(apiKeys.insertApiKey(db, { kind: 'Bad Kind', secret: crypto.randomUUID(), collectionIds: [], scopes: [] }));

      const secondKey = crypto.randomUUID();
      const second = await apiKeys.insertApiKey(db, { kind: 'detection', secret: secondKey, collectionIds: [], scopes: ['detect'] });
      assert.deepEqual((await apiKeys.revokeApiKey(db, second.prefix)).map((k) => k.id), [second.id]);
      assert.equal(await apiKeys.findActiveApiKey(db, secondKey), undefined);
      assert.deepEqual((await apiKeys.revokeApiKey(db, key)).map((k) => k.id), [record.id]);
      assert.deepEqual(await apiKeys.revokeApiKey(db, key), []);
      assert.ok((await apiKeys.listApiKeys(db, { includeRevoked: true })).some((k) => k.id === record.id));
      assert.ok(!(await apiKeys.listApiKeys(db)).some((k) => k.id === record.id));
    });

    it('change notifications: one per face and statement, with consecutive versions; a big statement asks for a reload', async () => {
      const c = await collections.createCollection(db, { name: 'notify-1' });
      const got: { c: number; f?: number; op: string; v?: number }[] = [];
      const unlisten = await db.listen('faceserver_faces', (payload) => {
        const msg = JSON.parse(payload);
        if (msg.c === c.id) got.push(msg);
      });
      const a = await faces.insertFace(db, { template: template(40), embedding: randomUnit(40), collectionIds: [c.id] });
      await faces.setFaceTemplate(db, a.id, { template: template(41), embedding: randomUnit(41) });
      await faces.deleteFace(db, a.id);
      const n = 501;
      await db.query(
        `WITH ins AS (INSERT INTO faces (template, embedding) SELECT '\\x00', $1::vector FROM generate_series(1, $2) RETURNING id)
         INSERT INTO face_collections (collection_id, face_id) SELECT $3, id FROM ins`,
        [vectorToSql(randomUnit(42)), n, c.id],
      );
      await collections.deleteCollection(db, c.id);
      for (let i = 0; i < 50 && got.length < 5; i++) await new Promise((r) => setTimeout(r, 20));
      await unlisten();
      assert.deepEqual(got, [
        { c: c.id, f: a.id, op: 'add', v: 1 },
        { c: c.id, f: a.id, op: 'update', v: 2 },
        { c: c.id, f: a.id, op: 'remove', v: 3 },
        { c: c.id, op: 'reload', v: 4 },
        { c: c.id, op: 'drop' },
      ]);
    });

    it('splits a collection into id ranges; reads face memberships with embeddings', async () => {
      const c = await collections.createCollection(db, { name: 'stream-1' });
      const gallery = clusteredEmbeddings(57, 3, 5);
      const ids: number[] = [];
      for (let i = 0; i < 57; i++) {
        ids.push((await faces.insertFace(db, { template: template(i), embedding: gallery.subarray(i * 512, (i + 1) * 512), collectionIds: [c.id] })).id);
      }
      // Ranges split the collection without gaps or overlaps (the index load reads them on parallel connections).
      const ranges = await splitCollectionRanges(db, c.id, 3);
      assert.equal(ranges.length, 3);
      const fromRanges: number[] = [];
      for (const range of ranges) {
        await copyIndexEntries(db, c.id, range, { batchSize: 7 }, (b) => fromRanges.push(...Array.from(b.ids)));
      }
      assert.deepEqual(fromRanges.sort((a, b) => a - b), ids);

      await collections.setCollectionInMemory(db, c.id, true);
      const m = await readFaceMemberships(db, [ids[3], ids[4], 987_654_321]);
      assert.deepEqual(m.members.map((x) => x.faceId).sort((a, b) => a - b), [ids[3], ids[4]]);
      const row = m.members.findIndex((x) => x.faceId === ids[4]);
      assert.deepEqual(Array.from(m.embeddings.subarray(row * 512, (row + 1) * 512)), Array.from(gallery.subarray(4 * 512, 5 * 512)));
      await collections.setCollectionInMemory(db, c.id, false);
      assert.deepEqual((await readFaceMemberships(db, [ids[3]])).members, [], 'out-of-memory collections are not read for the index');
    });

    it('SQL search path: exact and HNSW agree with a brute-force reference', async () => {
      const c = await collections.createCollection(db, { name: 'sql-search', inMemory: false });
      const n = 300;
      const gallery = clusteredEmbeddings(n, 30, 77);
      const ids: number[] = [];
      await db.transaction(async (tx) => {
        for (let i = 0; i < n; i++) {
          ids.push((await faces.insertFace(tx, { template: template(i), embedding: gallery.subarray(i * 512, (i + 1) * 512), collectionIds: [c.id] })).id);
        }
      });
      // A face outside the collection, identical to the probe, must never be returned.
      const probe = gallery.slice(5 * 512, 6 * 512);
      await faces.insertFace(db, { template: template(999), embedding: probe });
      const reference = ids
        .map((id, i) => {
          let dot = 0;
          for (let j = 0; j < 512; j++) dot += gallery[i * 512 + j] * probe[j];
          return { faceId: id, similarity: dot };
        })
        .sort((a, b) => b.similarity - a.similarity);
      const exact = await searchCollectionSql(db, c.id, probe, { k: 10, mode: 'exact' });
      assert.deepEqual(exact.map((h) => h.faceId), reference.slice(0, 10).map((h) => h.faceId));
      exact.forEach((h, i) => assert.ok(Math.abs(h.cosine - reference[i].similarity) < 1e-5));
      const hnsw = await searchCollectionSql(db, c.id, probe, { k: 10, mode: 'hnsw', efSearch: 200 });
      assert.equal(hnsw[0].faceId, ids[5]);
      const overlap = hnsw.filter((h) => reference.slice(0, 10).some((r) => r.faceId === h.faceId)).length;
      assert.ok(overlap >= 9, `HNSW found ${overlap} of the exact top 10`);
      const thresholded = await searchCollectionSql(db, c.id, probe, { k: 50, threshold: 0.6, mode: 'exact' });
      assert.deepEqual(thresholded.map((h) => h.faceId), reference.filter((r) => r.similarity >= 0.6).slice(0, 50).map((h) => h.faceId));
    });

    it('every query in docs/SQL.md runs and the reports find the rows they are about', async () => {
      const c = await collections.createCollection(db, { name: 'docs-sql' });
      const cam = await cameras.ensureCamera(db, 'docs camera');
      await apiKeys.insertApiKey(db, { kind: 'recognition', secret: crypto.randomUUID(), collectionIds: [c.id], scopes: ['read'] });
      const p = await persons.createPerson(db, { ownerCollectionId: c.id, name: 'frank', surname: 'Doe', department: 'sales' });
      const centre = randomUnit(60);
      const gallery = clusteredEmbeddings(5, 1, 61);
      const f = await faces.insertFace(db, { personId: p.id, template: template(60), embedding: centre, collectionIds: [c.id] });
      for (let i = 0; i < 5; i++) await faces.insertFace(db, { template: template(61 + i), embedding: gallery.subarray(i * 512, (i + 1) * 512), collectionIds: [c.id] });
      const now = Date.now();
      const eventIds = await events.insertEvents(db, [
        { occurredAt: new Date(now - 3_600_000), cameraId: cam.id, collectionId: c.id, faceId: f.id, personId: p.id, similarity: 0.9, embedding: centre, dialect: 'compreface', endpoint: 'recognize' },
        { occurredAt: new Date(now - 7_200_000), cameraId: cam.id, collectionId: c.id, similarity: null, embedding: centre, verdict: 'unknown' },
        // One event of each API the per-API reports read.
        { occurredAt: new Date(now - 600_000), cameraId: cam.id, collectionId: c.id, faceId: f.id, personId: p.id, similarity: 0.8, far: 1e-6, verdict: 'match', dialect: 'findface', endpoint: 'face' },
        { occurredAt: new Date(now - 500_000), collectionId: c.id, faceId: f.id, personId: p.id, similarity: 0.7, far: 1e-5, verdict: 'match', dialect: 'faceintellect', endpoint: 'FindFaces', attributes: { server_id: c.name, sim: 0.71 } },
        { occurredAt: new Date(now - 400_000), similarity: 0.6, far: 1e-4, verdict: 'match', dialect: 'imageapi', endpoint: 'verify-matcher' },
      ]);
      await scans.insertScan(db, { id: crypto.randomUUID(), company: 'docs-sql', reference: 'r-1', channel: 'WEB', compareResult: 'Same person', compareSimilarity: 0.9, face1: null, face2: null, elapsedTime: 0.4, createdBy: null });
      const since = new Date(now - 86_400_000).toISOString();
      const until = new Date(now + 60_000).toISOString();
      const values: Record<string, string> = {
        camera_id: String(cam.id), person_id: String(p.id), face_id: String(f.id), collection_id: String(c.id), event_id: String(eventIds[1]), since: `'${since}'`, until: `'${until}'`,
      };
      const blocks = documentedQueries();
      assert.ok(blocks.length >= 10, `found ${blocks.length} queries`);
      for (const block of blocks) {
        for (const key of block.vars.keys()) assert.ok(key in values, `docs/SQL.md uses a variable the test does not set: ${key}`);
        const vars = new Map(Object.entries(values));
        const statements = block.statements.map((sql) => substitute(sql, vars));
        const inTransaction = statements[0] === 'BEGIN';
        const run = async (q: Queryable) => {
          let last: { rows: unknown[] } = { rows: [] };
          for (const sql of statements) if (sql !== 'BEGIN' && sql !== 'COMMIT') last = await q.query(sql);
          return last;
        };
        const result = inTransaction ? await db.transaction(run) : await run(db);
        const last = statements[statements.length - (inTransaction ? 2 : 1)];
        if (/^(SELECT|WITH)/.test(last)) assert.ok(result.rows.length > 0, `no rows from:\n${last}`);
      }
    });

    it(`vector helpers round-trip (${name})`, async () => {
      const v = randomUnit(5);
      const r = await db.query<{ t: string; b: Buffer }>('SELECT $1::vector::text AS t, vector_send($1::vector) AS b', [vectorToSql(v)]);
      assert.deepEqual(Array.from(vectorFromSql(r.rows[0].t)), Array.from(v));
      const parsed = new Float32Array(512);
      parseVectorInto(r.rows[0].t, parsed, 0);
      assert.deepEqual(Array.from(parsed), Array.from(v));
      const decoded = new Float32Array(512);
      decodeVectorSendBatch([r.rows[0].b], decoded);
      assert.deepEqual(Array.from(decoded), Array.from(v));
      assert.throws(() => decodeVectorSendBatch([r.rows[0].b.subarray(0, 100)], decoded), RangeError);
      assert.throws(() => parseVectorInto('[1,2]', parsed, 0), RangeError);
    });
  });
});
