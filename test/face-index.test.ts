// The in-memory face index against PostgreSQL, on both stores: search equals a brute-force reference on
// real-like data; concurrent enrol/delete/search end with index == database; restart reloads the same
// index; a lost notification is healed; two instances over one PostgreSQL stay in step through LISTEN/NOTIFY.
// Search hits carry each face's person, kept in step on enrol, move, merge and rename; the load's halfvec rows
// (migrations/0005) are parsed whatever the message boundaries and migrated for faces enrolled before them.
import assert from 'node:assert/strict';
import os from 'node:os';
import { openDb, type Db, type Queryable } from '../src/store/db';
import { migrate, readMigrations } from '../src/store/migrations';
import * as persons from '../src/store/persons';
import { copyIndexEntries, IndexEntryCopyParser, NO_PERSON, type IndexEntryBatch } from '../src/store/face-index-queries';
import { CopyOutDatabaseError, CopyOutStreamReader } from '../src/store/pglite-copy-out';
import { FacePersonMap } from '../src/face-index/face-person-map';
import { vectorToSql } from '../src/store/vector';
import * as collections from '../src/store/collections';
import * as faces from '../src/store/faces';
import { FaceIndex } from '../src/face-index/face-index';
import { ExactMatcher, type MatcherFactory } from '../src/face-index/collection-matcher';
import { nativeMatchers } from '../src/face-index/native-matcher';
import { loadAddon } from '../src/engine/addon';
import { halfvecToFloats } from '../src/engine/halfvec';
import { forEachStore } from './support/stores';
import { createTempDatabase, requirePostgres, type TempDatabase } from './support/postgres';
import { removeTempDir, startTestServer, tempDir } from './support/server';
import { Api, identificationSet, photo, requireFacedata } from './support/compreface';
import type { RunningServer } from '../src/server';
import { around, clusteredEmbeddings, haveFacedata, randomUnit, realIdentities, rng, type RealIdentity } from './support/embeddings';

const DIM = 512;
/** Real embeddings are computed once for every suite that uses them. */
let realOnce: Promise<RealIdentity[]> | undefined;
const template = Buffer.from('FS-test-template');
const row = (m: Float32Array, i: number) => m.subarray(i * DIM, (i + 1) * DIM);

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < DIM; i++) s += a[i] * b[i];
  return s;
}

/** The database's view: every in-memory collection's face ids and embeddings. */
async function databaseState(db: Db): Promise<Map<number, Map<number, Float32Array>>> {
  const r = await db.query<{ collection_id: number; face_id: number; embedding: string }>(
    `SELECT fc.collection_id, fc.face_id, f.embedding::text AS embedding
       FROM face_collections fc JOIN faces f ON f.id = fc.face_id JOIN collections c ON c.id = fc.collection_id
      WHERE c.in_memory`,
  );
  const state = new Map<number, Map<number, Float32Array>>();
  for (const x of r.rows) {
    if (!state.has(x.collection_id)) state.set(x.collection_id, new Map());
    state.get(x.collection_id)!.set(x.face_id, Float32Array.from(JSON.parse(x.embedding) as number[]));
  }
  return state;
}

/** face_index_entries mirrors faces exactly: one row per face, same person, the embedding as halfvec. */
async function assertEntriesMirrorFaces(db: Db, label = ''): Promise<void> {
  const r = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM faces f FULL JOIN face_index_entries e ON e.face_id = f.id
      WHERE f.id IS NULL OR e.face_id IS NULL OR e.person_id IS DISTINCT FROM f.person_id
         OR e.embedding_half <> halfvec_send(f.embedding::halfvec(512))`,
  );
  assert.equal(r.rows[0].n, 0, `${label} face_index_entries differs from faces`);
}

/** Index == database: the same faces in every collection, with their persons, each found by its own embedding. */
async function assertIndexEqualsDatabase(index: FaceIndex, db: Db, label = ''): Promise<void> {
  await index.idle();
  await assertEntriesMirrorFaces(db, label);
  const owners = await db.query<{ id: number; person_id: number | null }>(`SELECT id, person_id FROM faces`);
  const personOf = new Map(owners.rows.map((r) => [r.id, r.person_id]));
  const state = await databaseState(db);
  const loaded = index.loadedCollectionIds().filter((id) => index.size(id) > 0);
  assert.deepEqual(loaded, [...state.keys()].sort((a, b) => a - b), `${label} collections in memory`);
  for (const [collectionId, members] of state) {
    assert.equal(index.size(collectionId), members.size, `${label} size of collection ${collectionId}`);
    let checked = 0;
    for (const [faceId, embedding] of members) {
      assert.ok(index.has(collectionId, faceId), `${label} face ${faceId} missing from collection ${collectionId}`);
      assert.equal(index.personOf(collectionId, faceId), personOf.get(faceId), `${label} person of face ${faceId}`);
      // The stored embedding is what the index holds (a sample per collection keeps this quick).
      if (checked++ % Math.ceil(members.size / 25) !== 0) continue;
      const [best] = await index.search(collectionId, embedding, { k: 1 });
      assert.ok(best.cosine > 0.99, `${label} face ${faceId}'s own embedding scores ${best.cosine}`);
    }
  }
}

async function enrol(db: Queryable, embedding: Float32Array, collectionIds: number[], personId: number | null = null): Promise<number> {
  return (await faces.insertFace(db, { template, embedding, collectionIds, personId })).id;
}

interface MatcherChoice {
  name: string;
  factory: () => MatcherFactory;
  /** Does this matcher return exactly the float reference's scores? */
  exact: boolean;
}

const MATCHERS: MatcherChoice[] = [
  { name: 'native SIMD matcher', factory: () => nativeMatchers({ mode: 'exactFloat' }), exact: false },
  { name: 'float reference matcher', factory: () => () => new ExactMatcher(), exact: true },
];

function requireNativeMatcher(ctx: Mocha.Context): void {
  if (typeof loadAddon().MatcherIndex === 'function') return;
  if (process.env.CI) throw new Error('the addon has no MatcherIndex: build it with `npm run build:addon`');
  console.log('    (skipped: the addon was built without the matcher; run `npm run build:addon`)');
  ctx.skip();
}

describe('face index kept in step with PostgreSQL', function () {
  this.timeout(180_000);

  for (const matcher of MATCHERS) {
    describe(`with the ${matcher.name}`, () => {
      forEachStore((storeName, store) => {
        let db: Db;
        let index: FaceIndex;
        const open = (d: Db) => new FaceIndex(d, { createMatcher: matcher.factory(), load: { batchSize: 64 } });

        before(async function () {
          if (matcher.name.startsWith('native')) requireNativeMatcher(this);
          db = await store.open();
          index = open(db);
          await index.start();
        });
        after(async () => {
          await index?.close();
        });

        it('search equals a brute-force float reference on real-like data (real probes, mates enrolled)', async function () {
          let identities: RealIdentity[];
          if (haveFacedata()) identities = await (realOnce ??= realIdentities(12));
          else {
            if (process.env.CI) throw new Error('../shared/facedata is missing');
            console.log('    (../shared/facedata absent: synthetic identities instead of real embeddings)');
            const next = rng(3);
            identities = Array.from({ length: 12 }, (_, i) => {
              const centre = randomUnit(500 + i);
              return { name: `p${i}`, gallery: centre, probes: [around(centre, 0.7, next)] };
            });
          }
          assert.ok(identities.length >= 8, 'enough identities with faces found');
          const c = await collections.createCollection(db, { name: `reference-${matcher.name}` });
          // The gallery: each real gallery embedding, plus 20 variations around it (as a person's several
          // photos look), plus 200 unrelated faces.
          const next = rng(17);
          const gallery: { id: number; e: Float32Array; name: string }[] = [];
          await db.transaction(async (tx) => {
            for (const person of identities) {
              for (let v = 0; v <= 20; v++) {
                const e = v === 0 ? person.gallery : around(person.gallery, 0.8, next);
                gallery.push({ id: await enrol(tx, e, [c.id]), e, name: person.name });
              }
            }
            const others = clusteredEmbeddings(200, 40, 9);
            for (let i = 0; i < 200; i++) gallery.push({ id: await enrol(tx, row(others, i), [c.id]), e: row(others, i), name: '' });
          });
          await index.facesChanged(gallery.map((g) => g.id));
          assert.equal(index.size(c.id), gallery.length);

          for (const person of identities) {
            for (const probe of person.probes) {
              const reference = gallery.map((g) => ({ id: g.id, s: dot(g.e, probe), name: g.name })).sort((a, b) => b.s - a.s);
              const hits = await index.search(c.id, probe, { k: 10 });
              assert.equal(hits.length, 10);
              if (matcher.exact) {
                // Exact search over what the index holds: the float embeddings, or their halves when the collection
                // was (re)loaded (migrations/0005; within 2.5e-4 a value): each score within 1e-3 of its face's
                // float score, and rank i holding the i-th best float score to within that.
                hits.forEach((h, i) => {
                  assert.ok(Math.abs(h.cosine - reference.find((r) => r.id === h.faceId)!.s) < 1e-3);
                  assert.ok(Math.abs(h.cosine - reference[i].s) < 1e-3, `rank ${i}: ${h.cosine} vs ${reference[i].s}`);
                });
              } else {
                // int8 codes keep cosine within 0.0035 (MODELS.md): the same person on top, scores close.
                assert.equal(gallery.find((g) => g.id === hits[0].faceId)!.name, reference[0].name);
                hits.forEach((h) => {
                  const ref = reference.find((r) => r.id === h.faceId)!;
                  assert.ok(Math.abs(h.cosine - ref.s) < 0.01, `score ${h.cosine} vs ${ref.s}`);
                });
                const overlap = hits.filter((h) => reference.slice(0, 10).some((r) => r.id === h.faceId)).length;
                assert.ok(overlap >= 8, `top-10 overlap ${overlap}`);
              }
              const thresholded = await index.search(c.id, probe, { k: 1000, threshold: 0.5 });
              for (const h of thresholded) assert.ok(h.cosine >= 0.5);
            }
          }
        });

        // The consistency tests run on the production matcher only; the float reference matcher above proves
        // the search itself exact.
        if (matcher.exact) return;

        it('applies enrol, move, template change and delete after facesChanged; index == database', async () => {
          const a = await collections.createCollection(db, { name: `ops-a-${matcher.name}` });
          const b = await collections.createCollection(db, { name: `ops-b-${matcher.name}` });
          const f1 = await enrol(db, randomUnit(1), [a.id]);
          const f2 = await enrol(db, randomUnit(2), [a.id, b.id]);
          await index.facesChanged([f1, f2]);
          assert.ok(index.has(a.id, f1) && index.has(a.id, f2) && index.has(b.id, f2) && !index.has(b.id, f1));
          await faces.removeFaceFromCollections(db, f2, [a.id]);
          await faces.addFaceToCollections(db, f1, [b.id]);
          await faces.setFaceTemplate(db, f1, { template, embedding: randomUnit(3) });
          await index.facesChanged([f1, f2]);
          assert.ok(!index.has(a.id, f2) && index.has(b.id, f1));
          const [best] = await index.search(b.id, randomUnit(3), { k: 1 });
          assert.equal(best.faceId, f1);
          await faces.deleteFace(db, f1);
          await index.facesChanged([f1]);
          assert.ok(!index.has(a.id, f1) && !index.has(b.id, f1));
          await assertIndexEqualsDatabase(index, db);
        });

        it('concurrent enrol, delete (also of faces being enrolled), move and search end with index == database', async () => {
          const cs = await Promise.all([0, 1, 2].map((i) => collections.createCollection(db, { name: `race-${i}-${matcher.name}` })));
          const people = [null, ...(await Promise.all([0, 1].map((i) => persons.createPerson(db, { name: `racer-${i}` })))).map((p) => p.id)];
          const next = rng(99);
          const pick = <T>(xs: T[]) => xs[Math.floor(next() * xs.length)];
          const known: number[] = [];
          let searches = 0;
          const op = async (i: number) => {
            const r = next();
            if (r < 0.45 || known.length < 5) {
              // Enrol; every so often delete the same face at once, racing the enrol's own refresh.
              const inserted = enrol(db, randomUnit(10_000 + i), next() < 0.3 ? [pick(cs).id, pick(cs).id] : [pick(cs).id], pick(people));
              const id = await inserted;
              known.push(id);
              const refreshed = index.facesChanged([id]);
              if (next() < 0.25) {
                await faces.deleteFace(db, id);
                await Promise.all([refreshed, index.facesChanged([id])]);
              } else await refreshed;
            } else if (r < 0.7) {
              const id = pick(known);
              await faces.deleteFace(db, id);
              await index.facesChanged([id]);
            } else if (r < 0.8) {
              const id = pick(known);
              await db.transaction(async (tx) => {
                await tx.query('DELETE FROM face_collections WHERE face_id = $1', [id]);
                await faces.addFaceToCollections(tx, id, [pick(cs).id]);
              });
              await index.facesChanged([id]);
            } else if (r < 0.85) {
              // A face given to another person (or to none): hits must carry the new person.
              const id = pick(known);
              await faces.setFacePerson(db, id, pick(people));
              await index.facesChanged([id]);
            } else {
              await index.search(pick(cs).id, randomUnit(i), { k: 5 });
              searches++;
            }
          };
          const workers = Array.from({ length: 6 }, async (_, w) => {
            for (let i = 0; i < 30; i++) await op(w * 1000 + i).catch((err) => {
              // The database may refuse a write: a move of a face deleted meanwhile (foreign key, 23503), or
              // two moves locking collections in opposite orders (deadlock, 40P01). Nothing of it is kept,
              // and the index must still end equal to the database.
              if (!['23503', '40P01'].includes((err as { code?: string }).code ?? '')) throw err;
            });
          });
          await Promise.all(workers);
          assert.ok(searches > 0);
          await assertIndexEqualsDatabase(index, db, 'after the race');
        });

        it('a reload racing writes and notifications ends equal to the database', async () => {
          const c = await collections.createCollection(db, { name: `reload-race-${matcher.name}` });
          const first = await Promise.all(Array.from({ length: 60 }, (_, i) => enrol(db, randomUnit(20_000 + i), [c.id])));
          const reload = index.reloadCollection(c.id);
          const writes = (async () => {
            for (let i = 0; i < 30; i++) {
              if (i % 3 === 0) await faces.deleteFace(db, first[i]);
              else await enrol(db, randomUnit(21_000 + i), [c.id]);
            }
          })();
          await Promise.all([reload, writes]);
          // No facesChanged here: only the notifications carry these writes to the index.
          for (let i = 0; i < 100 && index.size(c.id) !== (await collections.countCollectionFaces(db, c.id)); i++) {
            await new Promise((r) => setTimeout(r, 20));
          }
          await assertIndexEqualsDatabase(index, db, 'after reload race');
        });

        it('heals a lost notification at the next version check', async function () {
          const c = await collections.createCollection(db, { name: `lost-${matcher.name}` });
          const f = await enrol(db, randomUnit(30_000), [c.id]);
          await index.facesChanged([f]);
          // A change whose notification never arrives: triggers off, version bumped by hand.
          const g = await faces.insertFace(db, { template, embedding: randomUnit(30_001) });
          await db.transaction(async (tx) => {
            await tx.query(`SET LOCAL session_replication_role = replica`);
            await tx.query('INSERT INTO face_collections (collection_id, face_id) VALUES ($1, $2)', [c.id, g.id]);
            await tx.query('UPDATE collections SET version = version + 1 WHERE id = $1', [c.id]);
          });
          await index.idle();
          assert.ok(!index.has(c.id, g.id));
          // The next write's notification shows the gap: the collection is reloaded.
          const h = await enrol(db, randomUnit(30_002), [c.id]);
          for (let i = 0; i < 100 && !index.has(c.id, h); i++) await new Promise((r) => setTimeout(r, 20));
          await index.idle();
          assert.ok(index.has(c.id, g.id), 'the silently added face was picked up by the reload');
          await assertIndexEqualsDatabase(index, db);
        });

        it('moves a collection out of memory (SQL search) and back', async () => {
          const c = await collections.createCollection(db, { name: `flag-${matcher.name}` });
          const ids = await Promise.all([0, 1, 2].map((i) => enrol(db, randomUnit(40_000 + i), [c.id])));
          await index.facesChanged(ids);
          await collections.setCollectionInMemory(db, c.id, false);
          for (let i = 0; i < 100 && index.size(c.id) > 0; i++) await new Promise((r) => setTimeout(r, 20));
          assert.equal(index.size(c.id), 0);
          const [viaSql] = await index.search(c.id, randomUnit(40_001), { k: 1, sqlMode: 'exact' });
          assert.equal(viaSql.faceId, ids[1]);
          await collections.setCollectionInMemory(db, c.id, true);
          for (let i = 0; i < 100 && index.size(c.id) < 3; i++) await new Promise((r) => setTimeout(r, 20));
          assert.equal(index.size(c.id), 3);
          await assertIndexEqualsDatabase(index, db);
        });

        it('restart: close, reopen, the reloaded index equals the one before', async () => {
          await assertIndexEqualsDatabase(index, db, 'before restart');
          const before = new Map(index.loadedCollectionIds().map((id) => [id, index.size(id)]));
          await index.close();
          await db.close();
          db = await store.open();
          index = open(db);
          const report = await index.start();
          assert.equal(report.faces, [...before.values()].reduce((a, b) => a + b, 0));
          for (const [id, size] of before) assert.equal(index.size(id), size);
          await assertIndexEqualsDatabase(index, db, 'after restart');
        });

        if (storeName === 'postgres') {
          it('two instances over one PostgreSQL stay in step through LISTEN/NOTIFY under concurrent writes', async () => {
            const db2 = await store.open();
            const index2 = open(db2);
            await index2.start();
            try {
              const c = await collections.createCollection(db, { name: `two-${matcher.name}` });
              const next = rng(5);
              // Each instance writes through its own connection pool, concurrently; only its own index is
              // refreshed directly, the other learns from notifications.
              const writer = async (d: Db, own: FaceIndex, seed: number) => {
                const mine: number[] = [];
                for (let i = 0; i < 40; i++) {
                  if (mine.length > 3 && next() < 0.3) {
                    const id = mine.splice(Math.floor(next() * mine.length), 1)[0];
                    await faces.deleteFace(d, id);
                    await own.facesChanged([id]);
                  } else {
                    const id = await enrol(d, randomUnit(seed + i), [c.id]);
                    mine.push(id);
                    await own.facesChanged([id]);
                  }
                }
              };
              await Promise.all([writer(db, index, 50_000), writer(db2, index2, 60_000)]);
              const expected = await collections.countCollectionFaces(db, c.id);
              for (let i = 0; i < 200 && (index.size(c.id) !== expected || index2.size(c.id) !== expected); i++) {
                await new Promise((r) => setTimeout(r, 20));
              }
              await assertIndexEqualsDatabase(index, db, 'instance 1');
              await assertIndexEqualsDatabase(index2, db2, 'instance 2');
            } finally {
              await index2.close();
            }
          });
        }
      });
    });
  }
});

/** The index load's COPY of a collection, as the driver hands it over. */
async function copyChunks(db: Db, collectionId: number): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  await db.copyOut(
    `SELECT fc.face_id, e.person_id, e.embedding_half FROM face_collections fc JOIN face_index_entries e ON e.face_id = fc.face_id
      WHERE fc.collection_id = ${collectionId} ORDER BY fc.face_id`,
    (chunk) => chunks.push(Buffer.from(chunk)),
  );
  return chunks;
}

/** Parses the whole stream fed in pieces of `piece` bytes; ids, persons and embeddings by face id. */
function parseInPieces(whole: Buffer, piece: number, batchSize: number): Map<number, { person: number; e: Float32Array }> {
  const seen = new Map<number, { person: number; e: Float32Array }>();
  const parser = new IndexEntryCopyParser(batchSize, (b: IndexEntryBatch) => {
    assert.ok(b.ids.length <= batchSize);
    b.ids.forEach((id, i) => seen.set(id, { person: b.personIds[i], e: b.embeddings.slice(i * DIM, (i + 1) * DIM) }));
  });
  for (let pos = 0; pos < whole.length; pos += piece) parser.push(whole.subarray(pos, pos + piece));
  parser.finish();
  return seen;
}

describe('face index: persons in hits, halfvec load rows', function () {
  this.timeout(180_000);

  forEachStore((storeName, store) => {
    let db: Db;
    let index: FaceIndex;

    before(async function () {
      requireNativeMatcher(this);
      db = await store.open();
      index = new FaceIndex(db, { createMatcher: nativeMatchers({ mode: 'exactFloat' }), load: { batchSize: 16, pageSize: 40 } });
      await index.start();
    });
    after(async () => {
      await index?.close();
    });

    it('parses the COPY of index entries whatever the message boundaries; halves are the floats to within 2.5e-4', async () => {
      const c = await collections.createCollection(db, { name: 'entries' });
      const anne = await persons.createPerson(db, { name: 'anne' });
      const gallery = clusteredEmbeddings(45, 5, 11);
      const expected = new Map<number, { person: number; e: Float32Array }>();
      for (let i = 0; i < 45; i++) {
        const person = i % 3 === 0 ? null : anne.id;
        const id = await enrol(db, row(gallery, i), [c.id], person);
        expected.set(id, { person: person ?? NO_PERSON, e: row(gallery, i) });
      }
      const whole = Buffer.concat(await copyChunks(db, c.id));
      for (const [piece, batch] of [[whole.length, 100], [997, 7], [1, 45], [13, 1]]) {
        const seen = parseInPieces(whole, piece, batch);
        assert.deepEqual([...seen.keys()].sort((a, b) => a - b), [...expected.keys()].sort((a, b) => a - b), `pieces of ${piece}`);
        for (const [id, want] of expected) {
          const got = seen.get(id)!;
          assert.equal(got.person, want.person);
          let worst = 0;
          for (let j = 0; j < DIM; j++) worst = Math.max(worst, Math.abs(got.e[j] - want.e[j]));
          assert.ok(worst < 2.5e-4, `face ${id}: half precision off by ${worst}`);
        }
      }
      const truncated = new IndexEntryCopyParser(8, () => {});
      truncated.push(whole.subarray(0, whole.length - 100));
      assert.throws(() => truncated.finish(), RangeError);
      const noTrailer = new IndexEntryCopyParser(8, () => {});
      noTrailer.push(whole.subarray(0, whole.length - 2));
      assert.throws(() => noTrailer.finish(), RangeError);
      const garbage = Buffer.from(whole);
      garbage.writeInt32BE(999, 19 + 2); // the first row's face id length
      assert.throws(() => new IndexEntryCopyParser(8, () => {}).push(garbage), RangeError);
      assert.throws(() => new IndexEntryCopyParser(8, () => {}).push(Buffer.concat([whole, Buffer.from([0])])), RangeError);
    });

    it('copyOut: a failing COPY or a throwing consumer rejects and the store stays usable; pages read the same rows as one COPY', async () => {
      const c = await collections.createCollection(db, { name: 'copy-out' });
      const gallery = clusteredEmbeddings(30, 3, 31);
      const ids: number[] = [];
      for (let i = 0; i < 30; i++) ids.push(await enrol(db, row(gallery, i), [c.id], null));
      await assert.rejects(db.copyOut('SELECT no_such_column FROM faces', () => {}), (err: Error) => /no_such_column/.test(err.message));
      assert.equal((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM face_collections WHERE collection_id = $1`, [c.id])).rows[0].n, 30);
      const boom = new Error('consumer failed');
      let calls = 0;
      await assert.rejects(
        db.copyOut(`SELECT id FROM faces`, () => {
          calls++;
          throw boom;
        }),
        (err) => err === boom,
      );
      assert.equal(calls, 1, 'no data after the consumer failed');
      await db.transaction(async (tx) => void (await tx.query('SELECT 1')));
      // One COPY (the default) and pages of 7 and 30 read the same faces.
      const all = { afterId: -1, upToId: Number.MAX_SAFE_INTEGER };
      for (const pageSize of [undefined, 7, 30]) {
        const got: number[] = [];
        const n = await copyIndexEntries(db, c.id, all, { batchSize: 4, pageSize }, (b) => got.push(...Array.from(b.ids)));
        assert.equal(n, 30);
        assert.deepEqual(got.sort((a, b) => a - b), ids, `pages of ${pageSize}`);
      }
      // Notifications still reach listeners after a COPY (PGlite: the raw stream's callback is cleared).
      const got: string[] = [];
      const unlisten = await db.listen('copy_out_test', (p) => got.push(p));
      await db.copyOut(`SELECT id FROM faces`, () => {});
      await db.query(`SELECT pg_notify('copy_out_test', 'after')`);
      for (let i = 0; i < 50 && !got.length; i++) await new Promise((r) => setTimeout(r, 20));
      await unlisten();
      assert.deepEqual(got, ['after']);
    });

    it('search hits carry the face\'s person through enrol, move, merge, rename and delete; names cached', async () => {
      const c = await collections.createCollection(db, { name: 'people' });
      const [ann, bob] = await Promise.all(['ann', 'bob'].map((name) => persons.createPerson(db, { name })));
      const ea = randomUnit(70_001);
      const eb = randomUnit(70_002);
      const en = randomUnit(70_003);
      const fa = await enrol(db, ea, [c.id], ann.id);
      const fb = await enrol(db, eb, [c.id], bob.id);
      const fn = await enrol(db, en, [c.id]);
      await index.facesChanged([fa, fb, fn]);
      const top = async (e: Float32Array) => (await index.search(c.id, e, { k: 1 }))[0];
      assert.deepEqual([(await top(ea)).personId, (await top(eb)).personId, (await top(en)).personId], [ann.id, bob.id, null]);

      // Names: one query for the first resolve, none for the next.
      let queries = 0;
      const counting = new Proxy(db, {
        get(target, prop) {
          const value = Reflect.get(target, prop) as unknown;
          if (prop === 'query') return (...args: Parameters<Db['query']>) => (queries++, target.query(...args));
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      const counted = new FaceIndex(counting, { createMatcher: nativeMatchers() });
      await counted.start();
      try {
        const before = queries;
        assert.deepEqual(await counted.personNames([ann.id, bob.id]), new Map([[ann.id, 'ann'], [bob.id, 'bob']]));
        const afterFirst = queries;
        assert.equal(afterFirst - before, 1);
        const hits = await counted.search(c.id, eb, { k: 2 });
        assert.equal(hits[0].personId, bob.id);
        assert.equal((await counted.personNames(hits.map((h) => h.personId!).filter((p) => p !== null)))!.get(bob.id), 'bob');
        assert.equal(queries, afterFirst, 'an in-memory search and cached names need no query');
      } finally {
        await counted.close();
      }

      // Move a face to another person: facesChanged applies it at once.
      await faces.setFacePerson(db, fn, ann.id);
      await index.facesChanged([fn]);
      assert.equal((await top(en)).personId, ann.id);

      // Merge (CompreFace rename onto an existing subject): only the notifications tell the index.
      await db.transaction((tx) => persons.mergePersons(tx, ann.id, bob.id));
      await eventually(async () => (await top(ea)).personId === bob.id && (await top(en)).personId === bob.id);
      assert.equal((await top(ea)).personId, bob.id);
      assert.equal((await top(en)).personId, bob.id);
      assert.equal((await index.personNames([ann.id])).size, 0, 'the merged-away person is gone');

      // Rename: the notification drops the cached name; personsChanged drops it at once.
      assert.equal((await index.personNames([bob.id])).get(bob.id), 'bob');
      await persons.updatePerson(db, bob.id, { name: 'robert' });
      await eventually(async () => (await index.personNames([bob.id])).get(bob.id) === 'robert');
      assert.equal((await index.personNames([bob.id])).get(bob.id), 'robert');
      await db.query(`UPDATE persons SET recognition_count = recognition_count + 1 WHERE id = $1`, [bob.id]); // no rename: no notification
      await persons.updatePerson(db, bob.id, { name: 'rob' });
      index.personsChanged([bob.id]);
      assert.equal((await index.personNames([bob.id])).get(bob.id), 'rob');

      // Deleting the person deletes its faces: gone from the index, as from the database.
      await persons.deletePerson(db, bob.id);
      await index.facesChanged([fa, fb, fn]);
      assert.equal(index.size(c.id), 0);
      await assertIndexEqualsDatabase(index, db);

      // An out-of-memory collection answers through SQL, with persons too.
      const sqlOnly = await collections.createCollection(db, { name: 'people-sql', inMemory: false });
      const cy = await persons.createPerson(db, { name: 'cy' });
      await enrol(db, ea, [sqlOnly.id], cy.id);
      const [viaSql] = await index.search(sqlOnly.id, ea, { k: 1, sqlMode: 'exact' });
      assert.equal(viaSql.personId, cy.id);
    });

    it('names: concurrent misses share one read; version checks keep the cache unless a rename committed', async () => {
      const [fay, gus] = await Promise.all(['fay', 'gus'].map((name) => persons.createPerson(db, { name })));
      let nameReads = 0;
      // A store whose rename notifications never arrive: only the version check can tell the index.
      const deaf = new Proxy(db, {
        get(target, prop) {
          const value = Reflect.get(target, prop) as unknown;
          if (prop === 'query')
            return (...args: Parameters<Db['query']>) => (/FROM persons WHERE id = ANY/.test(args[0]) && nameReads++, target.query(...args));
          if (prop === 'listen')
            return (channel: string, onPayload: (payload: string) => void) =>
              channel === 'faceserver_persons' ? Promise.resolve(async () => {}) : target.listen(channel, onPayload);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      const idx = new FaceIndex(deaf, { createMatcher: nativeMatchers(), versionCheckMs: 20 });
      await idx.start();
      try {
        const answers = await Promise.all([idx.personNames([fay.id, gus.id]), idx.personNames([fay.id]), idx.personNames([gus.id, fay.id])]);
        assert.equal(nameReads, 1, 'three concurrent requests for uncached names: one read');
        assert.deepEqual(answers.map((m) => [...m.values()].sort()), [['fay', 'gus'], ['fay'], ['fay', 'gus']]);
        await new Promise((resolve) => setTimeout(resolve, 120)); // several version checks, no rename
        assert.equal((await idx.personNames([fay.id])).get(fay.id), 'fay');
        assert.equal(nameReads, 1, 'version checks without a rename keep the cached names');
        await persons.updatePerson(db, fay.id, { name: 'faye' }); // its notification is lost on `deaf`
        await eventually(async () => (await idx.personNames([fay.id])).get(fay.id) === 'faye');
        assert.equal((await idx.personNames([fay.id])).get(fay.id), 'faye');
      } finally {
        await idx.close();
      }
    });

    it('restart: a reload from the halfvec rows gives the same persons and the same top hits', async () => {
      const c = await collections.createCollection(db, { name: 'people-restart' });
      const people = await Promise.all([0, 1, 2, 3].map((i) => persons.createPerson(db, { name: `p${i}` })));
      const gallery = clusteredEmbeddings(90, 9, 21);
      const ids: number[] = [];
      for (let i = 0; i < 90; i++) ids.push(await enrol(db, row(gallery, i), [c.id], i % 5 === 0 ? null : people[i % 4].id));
      await index.facesChanged(ids); // from the float embeddings
      const probes = Array.from({ length: 20 }, (_, i) => around(row(gallery, i * 4), 0.9, rng(i)));
      const beforeHits = await Promise.all(probes.map((p) => index.search(c.id, p, { k: 3 })));
      await index.reloadCollection(c.id); // from the halfvec rows, 40 a page on the embedded store
      const afterHits = await Promise.all(probes.map((p) => index.search(c.id, p, { k: 3 })));
      const personOf = new Map(ids.map((id, i) => [id, i % 5 === 0 ? null : people[i % 4].id]));
      afterHits.forEach((hits, i) => {
        const was = beforeHits[i];
        // The same scores to within half precision; the same best face unless the float load had a near-tie.
        hits.forEach((h, j) => assert.ok(Math.abs(h.cosine - was[j].cosine) < 2e-3, `${h.cosine} vs ${was[j].cosine}`));
        if (was[0].cosine - was[1].cosine > 4e-3) assert.equal(hits[0].faceId, was[0].faceId);
        for (const h of hits) assert.equal(h.personId, personOf.get(h.faceId));
      });
      await assertIndexEqualsDatabase(index, db);
    });

    it('migration 0005 fills face_index_entries for faces enrolled before it', async function () {
      let fresh: Db;
      let cleanup: () => Promise<void>;
      if (storeName === 'postgres') {
        const temp = await createTempDatabase(requirePostgres(this));
        fresh = await openDb({ databaseUrl: temp.url, dataDir: os.tmpdir() });
        cleanup = () => temp.drop();
      } else {
        const dir = tempDir('faceserver-migrate-');
        fresh = await openDb({ dataDir: dir });
        cleanup = async () => removeTempDir(dir);
      }
      try {
        await migrate(fresh, readMigrations().filter((m) => m.version < 5));
        const c = await collections.createCollection(fresh, { name: 'old' });
        const p = await persons.createPerson(fresh, { name: 'old-timer' });
        const old = [await enrol(fresh, randomUnit(80_001), [c.id], p.id), await enrol(fresh, randomUnit(80_002), [c.id])];
        await migrate(fresh);
        await assertEntriesMirrorFaces(fresh, 'after the migration');
        const idx = new FaceIndex(fresh, { createMatcher: nativeMatchers() });
        await idx.start();
        try {
          assert.equal(idx.personOf(c.id, old[0]), p.id);
          assert.equal((await idx.search(c.id, randomUnit(80_002), { k: 1 }))[0].faceId, old[1]);
          // Writes after the migration keep the mirror: a template change, a move, a delete.
          await faces.setFaceTemplate(fresh, old[1], { template, embedding: randomUnit(80_003) });
          await faces.setFacePerson(fresh, old[1], p.id);
          await faces.deleteFace(fresh, old[0]);
          await fresh.query(`UPDATE faces SET embedding = $1 WHERE id = $2`, [vectorToSql(randomUnit(80_004)), old[1]]);
          await assertEntriesMirrorFaces(fresh, 'after writes');
        } finally {
          await idx.close();
        }
      } finally {
        await fresh.close();
        await cleanup();
      }
    });

    if (storeName === 'postgres') {
      it('two instances: a merge and a rename on one reach the other\'s hits and names', async () => {
        const db2 = await store.open();
        const index2 = new FaceIndex(db2, { createMatcher: nativeMatchers() });
        await index2.start();
        try {
          const c = await collections.createCollection(db, { name: 'people-two' });
          const [dee, eve] = await Promise.all(['dee', 'eve'].map((name) => persons.createPerson(db, { name })));
          const e = randomUnit(90_001);
          const f = await enrol(db, e, [c.id], dee.id);
          await eventually(async () => index2.has(c.id, f));
          assert.equal((await index2.search(c.id, e, { k: 1 }))[0].personId, dee.id);
          assert.equal((await index2.personNames([dee.id])).get(dee.id), 'dee');
          await db.transaction((tx) => persons.mergePersons(tx, dee.id, eve.id));
          await persons.updatePerson(db, eve.id, { name: 'eva' });
          await eventually(async () => index2.personOf(c.id, f) === eve.id && (await index2.personNames([eve.id])).get(eve.id) === 'eva');
          assert.equal((await index2.search(c.id, e, { k: 1 }))[0].personId, eve.id);
          assert.equal((await index2.personNames([eve.id])).get(eve.id), 'eva');
          await assertIndexEqualsDatabase(index2, db2, 'instance 2');
        } finally {
          await index2.close();
        }
      });
    }
  });
});

describe('face -> person map (open addressing on Uint32Arrays)', () => {
  it('agrees with a Map under random sets, overwrites and deletes, through growth; odd ids fall back', () => {
    const next = rng(123);
    const map = new FacePersonMap();
    const reference = new Map<number, number>();
    // Clustered ids collide in probe runs, so deletions must shift entries back correctly.
    const ids = Array.from({ length: 3000 }, (_, i) => (i < 2900 ? 1 + Math.floor(next() * 4000) : [0, 2 ** 32, 2 ** 40 + i, 7.5][i % 4]));
    for (let step = 0; step < 60_000; step++) {
      const id = ids[Math.floor(next() * ids.length)];
      if (next() < 0.6) {
        const person = next() < 0.02 ? 2 ** 33 : 1 + Math.floor(next() * 50);
        map.set(id, person);
        reference.set(id, person);
      } else assert.equal(map.delete(id), reference.delete(id));
      if (step % 5000 === 0) for (const probe of ids) assert.equal(map.get(probe), reference.get(probe));
    }
    assert.equal(map.size, reference.size);
    for (const probe of ids) assert.equal(map.get(probe), reference.get(probe));
    const sized = new FacePersonMap(1_000_000);
    assert.ok(sized.memoryBytes() / 1_000_000 <= 17, `${sized.memoryBytes() / 1_000_000} B a face at 1M`);
  });
});

async function eventually(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 150 && !(await check()); i++) await new Promise((r) => setTimeout(r, 20));
}

describe('two faceserver instances over one PostgreSQL (in-process servers, HTTP API)', function () {
  this.timeout(300_000);
  let temp: TempDatabase | undefined;
  let servers: RunningServer[] = [];

  before(async function () {
    requireFacedata(this);
    temp = await createTempDatabase(requirePostgres(this));
    servers = [await startTestServer({ DATABASE_URL: temp.url }), await startTestServer({ DATABASE_URL: temp.url })];
  });
  after(async () => {
    for (const s of servers) await s.close();
    await temp?.drop();
  });

  it('a face enrolled through one instance is recognized through the other; deleted through it, gone from the first', async () => {
    const [one, two] = servers;
    const key = (await one.services.keys.create('recognition')).key;
    const api1 = new Api(one.url, key);
    const api2 = new Api(two.url, key);
    const { people } = identificationSet(3);
    for (const p of people) await api1.enrol(p.name, photo(p.gallery));
    const recognize = async (api: Api, file: string) => {
      const r = await api.post('/recognition/recognize', { files: { file: photo(file) } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body.result[0].subjects as { subject: string; similarity: number }[];
    };
    // The second instance learns of the enrolments only through LISTEN/NOTIFY: wait for it briefly.
    const eventually = async (check: () => Promise<boolean>) => {
      for (let i = 0; i < 100 && !(await check()); i++) await new Promise((r) => setTimeout(r, 50));
    };
    const target = people[0];
    await eventually(async () => (await recognize(api2, target.probes[0]))[0]?.subject === target.name);
    assert.equal((await recognize(api2, target.probes[0]))[0]?.subject, target.name);

    const del = await api2.delete(`/recognition/subjects/${encodeURIComponent(target.name)}`);
    assert.equal(del.status, 200, JSON.stringify(del.body));
    await eventually(async () => (await recognize(api1, target.probes[0])).every((s) => s.subject !== target.name));
    assert.ok((await recognize(api1, target.probes[0])).every((s) => s.subject !== target.name), 'deleted subject still found by instance one');
    // The others are still there on both.
    for (const api of [api1, api2]) assert.equal((await recognize(api, people[1].probes[0]))[0]?.subject, people[1].name);
  });
});

describe('PGlite COPY stream reader (protocol messages split anywhere)', () => {
  const msg = (type: string, body: Buffer) => {
    const head = Buffer.alloc(5);
    head[0] = type.charCodeAt(0);
    head.writeInt32BE(4 + body.length, 1);
    return Buffer.concat([head, body]);
  };
  const copyData = [Buffer.from('PGCOPY header'), Buffer.alloc(1500, 7), Buffer.from('row two'), Buffer.from([0xff, 0xff])];
  const stream = Buffer.concat([
    msg('H', Buffer.from([1, 0, 3, 0, 1, 0, 1, 0, 1])),
    ...copyData.map((d) => msg('d', d)),
    msg('c', Buffer.alloc(0)),
    msg('C', Buffer.from('COPY 2\0')),
    msg('Z', Buffer.from('I')),
  ]);

  it('hands on the CopyData payloads whole, whatever the pieces; errors and early ends throw from finish()', () => {
    for (const piece of [stream.length, 4096, 997, 5, 3, 1]) {
      const got: Buffer[] = [];
      const reader = new CopyOutStreamReader((chunk) => got.push(Buffer.from(chunk)));
      for (let pos = 0; pos < stream.length; pos += piece) reader.push(new Uint8Array(stream.subarray(pos, pos + piece)));
      reader.finish();
      assert.deepEqual(Buffer.concat(got), Buffer.concat(copyData), `pieces of ${piece}`);
    }
    const early = new CopyOutStreamReader(() => {});
    early.push(stream.subarray(0, stream.length - 8));
    assert.throws(() => early.finish(), /ended early/);
    const failed = new CopyOutStreamReader(() => {});
    failed.push(Buffer.concat([msg('E', Buffer.from('SERROR\0VERROR\0C42703\0Mcolumn "x" does not exist\0\0')), msg('Z', Buffer.from('I'))]));
    assert.throws(() => failed.finish(), (err: CopyOutDatabaseError) => err.code === '42703' && /column "x"/.test(err.message));
    const text = new CopyOutStreamReader(() => {});
    text.push(Buffer.concat([msg('H', Buffer.from([0, 0, 1, 0, 0])), msg('c', Buffer.alloc(0)), msg('C', Buffer.from('COPY 0\0')), msg('Z', Buffer.from('I'))]));
    assert.throws(() => text.finish(), /binary/);
  });
});

describe('halves to floats', () => {
  // From the IEEE 754 definition, not from the code under test.
  const reference = (h: number): number => {
    const exponent = (h >> 10) & 31;
    const mantissa = h & 1023;
    const magnitude =
      exponent === 31 ? (mantissa ? NaN : Infinity) : exponent === 0 ? mantissa * 2 ** -24 : (1 + mantissa / 1024) * 2 ** (exponent - 15);
    return h & 0x8000 ? -magnitude : magnitude;
  };

  it('the addon widens every one of the 65,536 big-endian halves to its exact float', () => {
    const halves = Buffer.alloc(65536 * 2);
    for (let h = 0; h < 65536; h++) halves.writeUInt16BE(h, 2 * h);
    const out = new Float32Array(65536);
    halfvecToFloats(halves, out);
    for (let h = 0; h < 65536; h++) {
      const want = reference(h);
      if (Number.isNaN(want)) assert.ok(Number.isNaN(out[h]), `half 0x${h.toString(16)}`);
      else assert.ok(Object.is(out[h], want), `half 0x${h.toString(16)}: ${out[h]} vs ${want}`);
    }
  });

  it('refuses buffers of the wrong kind or length', () => {
    const code = (f: () => void) => {
      try {
        f();
      } catch (err) {
        return (err as { code?: string }).code;
      }
      return 'no error';
    };
    assert.equal(code(() => halfvecToFloats(Buffer.alloc(3), new Float32Array(1))), 'INVALID_ARGUMENT');
    assert.equal(code(() => halfvecToFloats(Buffer.alloc(4), new Float32Array(3))), 'INVALID_ARGUMENT');
    assert.equal(code(() => halfvecToFloats(new Float32Array(2) as unknown as Uint8Array, new Float32Array(2))), 'INVALID_ARGUMENT');
    const shared = new ArrayBuffer(64);
    assert.equal(code(() => halfvecToFloats(new Uint8Array(shared, 0, 16), new Float32Array(shared, 8, 8))), 'INVALID_ARGUMENT', 'overlapping');
    assert.equal(code(() => halfvecToFloats(new Uint8Array(shared, 0, 16), new Float32Array(shared, 16, 8))), 'no error', 'adjacent');
  });
});
