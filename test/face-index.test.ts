// The in-memory face index against PostgreSQL, on both stores: search equals a brute-force reference on
// real-like data; concurrent enrol/delete/search end with index == database; restart reloads the same
// index; a lost notification is healed; two instances over one PostgreSQL stay in step through LISTEN/NOTIFY.
import assert from 'node:assert/strict';
import type { Db, Queryable } from '../src/store/db';
import * as collections from '../src/store/collections';
import * as faces from '../src/store/faces';
import { FaceIndex } from '../src/domain/face-index';
import { ExactMatcher, type MatcherFactory } from '../src/domain/index/collection-matcher';
import { nativeMatchers } from '../src/domain/index/native-matcher';
import { loadAddon } from '../src/engine/addon';
import { forEachStore } from './support/stores';
import { createTempDatabase, requirePostgres, type TempDatabase } from './support/postgres';
import { startTestServer } from './support/server';
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

/** Index == database: the same faces in every collection, each found by its own stored embedding. */
async function assertIndexEqualsDatabase(index: FaceIndex, db: Db, label = ''): Promise<void> {
  await index.idle();
  const state = await databaseState(db);
  const loaded = index.loadedCollectionIds().filter((id) => index.size(id) > 0);
  assert.deepEqual(loaded, [...state.keys()].sort((a, b) => a - b), `${label} collections in memory`);
  for (const [collectionId, members] of state) {
    assert.equal(index.size(collectionId), members.size, `${label} size of collection ${collectionId}`);
    let checked = 0;
    for (const [faceId, embedding] of members) {
      assert.ok(index.has(collectionId, faceId), `${label} face ${faceId} missing from collection ${collectionId}`);
      // The stored embedding is what the index holds (a sample per collection keeps this quick).
      if (checked++ % Math.ceil(members.size / 25) !== 0) continue;
      const [best] = await index.search(collectionId, embedding, { k: 1 });
      assert.ok(best.similarity > 0.99, `${label} face ${faceId}'s own embedding scores ${best.similarity}`);
    }
  }
}

async function enrol(db: Queryable, embedding: Float32Array, collectionIds: number[]): Promise<number> {
  return (await faces.insertFace(db, { template, embedding, collectionIds })).id;
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
          await index.refreshFaces(gallery.map((g) => g.id));
          assert.equal(index.size(c.id), gallery.length);

          for (const person of identities) {
            for (const probe of person.probes) {
              const reference = gallery.map((g) => ({ id: g.id, s: dot(g.e, probe), name: g.name })).sort((a, b) => b.s - a.s);
              const hits = await index.search(c.id, probe, { k: 10 });
              assert.equal(hits.length, 10);
              if (matcher.exact) {
                assert.deepEqual(hits.map((h) => h.faceId), reference.slice(0, 10).map((r) => r.id));
                hits.forEach((h, i) => assert.ok(Math.abs(h.similarity - reference[i].s) < 1e-5));
              } else {
                // int8 codes keep cosine within 0.0035 (MODELS.md): the same person on top, scores close.
                assert.equal(gallery.find((g) => g.id === hits[0].faceId)!.name, reference[0].name);
                hits.forEach((h) => {
                  const ref = reference.find((r) => r.id === h.faceId)!;
                  assert.ok(Math.abs(h.similarity - ref.s) < 0.01, `score ${h.similarity} vs ${ref.s}`);
                });
                const overlap = hits.filter((h) => reference.slice(0, 10).some((r) => r.id === h.faceId)).length;
                assert.ok(overlap >= 8, `top-10 overlap ${overlap}`);
              }
              const thresholded = await index.search(c.id, probe, { k: 1000, threshold: 0.5 });
              for (const h of thresholded) assert.ok(h.similarity >= 0.5);
            }
          }
        });

        // The consistency tests run on the production matcher only; the float reference matcher above proves
        // the search itself exact.
        if (matcher.exact) return;

        it('applies enrol, move, template change and delete after refreshFaces; index == database', async () => {
          const a = await collections.createCollection(db, { name: `ops-a-${matcher.name}` });
          const b = await collections.createCollection(db, { name: `ops-b-${matcher.name}` });
          const f1 = await enrol(db, randomUnit(1), [a.id]);
          const f2 = await enrol(db, randomUnit(2), [a.id, b.id]);
          await index.refreshFaces([f1, f2]);
          assert.ok(index.has(a.id, f1) && index.has(a.id, f2) && index.has(b.id, f2) && !index.has(b.id, f1));
          await faces.removeFaceFromCollection(db, f2, a.id);
          await faces.addFaceToCollections(db, f1, [b.id]);
          await faces.setFaceTemplate(db, f1, { template, embedding: randomUnit(3) });
          await index.refreshFaces([f1, f2]);
          assert.ok(!index.has(a.id, f2) && index.has(b.id, f1));
          const [best] = await index.search(b.id, randomUnit(3), { k: 1 });
          assert.equal(best.faceId, f1);
          await faces.deleteFace(db, f1);
          await index.refreshFaces([f1]);
          assert.ok(!index.has(a.id, f1) && !index.has(b.id, f1));
          await assertIndexEqualsDatabase(index, db);
        });

        it('concurrent enrol, delete (also of faces being enrolled), move and search end with index == database', async () => {
          const cs = await Promise.all([0, 1, 2].map((i) => collections.createCollection(db, { name: `race-${i}-${matcher.name}` })));
          const next = rng(99);
          const pick = <T>(xs: T[]) => xs[Math.floor(next() * xs.length)];
          const known: number[] = [];
          let searches = 0;
          const op = async (i: number) => {
            const r = next();
            if (r < 0.45 || known.length < 5) {
              // Enrol; every so often delete the same face at once, racing the enrol's own refresh.
              const inserted = enrol(db, randomUnit(10_000 + i), next() < 0.3 ? [pick(cs).id, pick(cs).id] : [pick(cs).id]);
              const id = await inserted;
              known.push(id);
              const refreshed = index.refreshFaces([id]);
              if (next() < 0.25) {
                await faces.deleteFace(db, id);
                await Promise.all([refreshed, index.refreshFaces([id])]);
              } else await refreshed;
            } else if (r < 0.7) {
              const id = pick(known);
              await faces.deleteFace(db, id);
              await index.refreshFaces([id]);
            } else if (r < 0.8) {
              const id = pick(known);
              await db.transaction(async (tx) => {
                await tx.query('DELETE FROM face_collections WHERE face_id = $1', [id]);
                await faces.addFaceToCollections(tx, id, [pick(cs).id]);
              });
              await index.refreshFaces([id]);
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
          // No refreshFaces here: only the notifications carry these writes to the index.
          for (let i = 0; i < 100 && index.size(c.id) !== (await collections.countCollectionFaces(db, c.id)); i++) {
            await new Promise((r) => setTimeout(r, 20));
          }
          await assertIndexEqualsDatabase(index, db, 'after reload race');
        });

        it('heals a lost notification at the next version check', async function () {
          const c = await collections.createCollection(db, { name: `lost-${matcher.name}` });
          const f = await enrol(db, randomUnit(30_000), [c.id]);
          await index.refreshFaces([f]);
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
          await index.refreshFaces(ids);
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
                    await own.refreshFaces([id]);
                  } else {
                    const id = await enrol(d, randomUnit(seed + i), [c.id]);
                    mine.push(id);
                    await own.refreshFaces([id]);
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
