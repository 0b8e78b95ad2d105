// Index load benchmark: how long the in-memory face index takes to stream N faces from each store at start.
//   node --import tsx benchmarks/index-load.ts --n 100000 [--pg URL] [--stores embedded,postgres]
//     [--modes index,fetch,raw] [--parallel 2] [--batch 8192] [--page 0] [--db NAME | --data-dir DIR] [--keep]
// Modes (one JSON line each):
//   index  FaceIndex.start() with the native matcher: the production load (COPY of face_index_entries, parse,
//          halves to floats, addBatch, face -> person map)
//   split  the same as index, outside FaceIndex, with the time inside addBatch and the person map reported
//   fetch  the same COPY and parse into floats, nothing added (what the database and the parser cost)
//   raw    the same COPY's bytes only, not parsed (what the database and the wire cost)
//   convert the parser's halves -> floats step alone: n x 512 halves, a batch at a time, no database involved
// The gallery is generated inside the database: 1000 random unit vectors repeated (the load time depends on
// row size, not on the values), every 4th face without a person. --db NAME keeps (with --keep) and reuses a
// filled PostgreSQL database (--data-dir DIR: an embedded one), so a 1M fill runs once (at low priority) and
// only the loads are timed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { halfvecToFloats } from '../src/engine/halfvec';
import { openDb, type Db } from '../src/store/db';
import { migrate } from '../src/store/migrations';
import { countCollectionFaces, createCollection } from '../src/store/collections';
import { copyIndexEntries, NO_PERSON, splitCollectionRanges } from '../src/store/face-index-queries';
import { loadCollection } from '../src/face-index/collection-loader';
import { FaceIndex } from '../src/face-index/face-index';
import { nativeMatchers, NativeCollectionMatcher } from '../src/face-index/native-matcher';
import { FacePersonMap } from '../src/face-index/face-person-map';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '100000' },
    pg: { type: 'string', default: process.env.TEST_DATABASE_URL ?? '' },
    stores: { type: 'string', default: 'embedded,postgres' },
    modes: { type: 'string', default: 'index,fetch,raw' },
    batch: { type: 'string', default: '8192' },
    parallel: { type: 'string', default: '2' },
    page: { type: 'string', default: '0' }, // faces per COPY on PGlite; 0: one COPY (the default load)
    db: { type: 'string', default: '' },
    'data-dir': { type: 'string', default: '' },
    'fill-only': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
});
const n = Number(values.n);
const load = { batchSize: Number(values.batch), parallel: Number(values.parallel), pageSize: Number(values.page) || undefined };

async function fill(db: Db, count: number): Promise<number> {
  await db.exec('DROP INDEX IF EXISTS faces_embedding_hnsw');
  const collection = await createCollection(db, { name: 'bench' });
  const person = await db.query<{ id: number }>(`INSERT INTO persons (name) VALUES ('bench') RETURNING id`);
  await db.exec(`CREATE TEMP TABLE base AS
    SELECT g, l2_normalize((SELECT array_agg(random() - 0.5) FROM generate_series(1, 512) WHERE g > 0)::real[]::vector(512)) AS e
      FROM generate_series(1, 1000) g`);
  const chunk = 50_000;
  for (let done = 0; done < count; done += chunk) {
    const m = Math.min(chunk, count - done);
    await db.query(
      `WITH ins AS (INSERT INTO faces (person_id, template, embedding)
                    SELECT CASE WHEN i % 4 = 0 THEN NULL ELSE $3::bigint END, '\\x00', b.e
                      FROM generate_series(1, $1) i JOIN base b ON b.g = 1 + i % 1000 RETURNING id)
       INSERT INTO face_collections (collection_id, face_id) SELECT $2, id FROM ins`,
      [m, collection.id, person.rows[0].id],
    );
  }
  // A restarted server reads a settled table: set hint bits and statistics first, as autovacuum would.
  for (const t of ['faces', 'face_collections', 'face_index_entries']) await db.exec(`VACUUM ANALYZE ${t}`);
  return collection.id;
}

async function benchCollection(db: Db): Promise<number | undefined> {
  const r = await db.query<{ id: number; n: number }>(
    `SELECT c.id, (SELECT count(*)::int FROM face_collections fc WHERE fc.collection_id = c.id) AS n FROM collections c WHERE c.name = 'bench'`,
  );
  return r.rows[0]?.n === n ? r.rows[0].id : undefined;
}

async function measure(db: Db, collectionId: number, mode: string): Promise<Record<string, unknown>> {
  const t0 = performance.now();
  if (mode === 'index') {
    const index = new FaceIndex(db, { createMatcher: nativeMatchers(), load });
    const report = await index.start();
    const ms = performance.now() - t0;
    const bytes = index.memoryBytes();
    await index.close();
    return { loaded: report.faces, ms, bytes_per_face: Math.round(bytes / report.faces) };
  }
  let loaded = 0;
  if (mode === 'split') {
    // What FaceIndex does on a load, with the time inside addBatch and the person map measured apart.
    const matcher = new NativeCollectionMatcher();
    const count = await countCollectionFaces(db, collectionId);
    matcher.reserve(count);
    const persons = new FacePersonMap(count);
    let addMs = 0;
    let mapMs = 0;
    loaded = await loadCollection(
      db,
      collectionId,
      (b) => {
        const t = performance.now();
        matcher.upsert(b.ids, b.embeddings);
        const t2 = performance.now();
        for (let i = 0; i < b.ids.length; i++) if (b.personIds[i] !== NO_PERSON) persons.set(b.ids[i], b.personIds[i]);
        addMs += t2 - t;
        mapMs += performance.now() - t2;
      },
      load,
    );
    const ms = performance.now() - t0;
    matcher.dispose();
    return { loaded, ms, add_s: +(addMs / 1000).toFixed(2), person_map_s: +(mapMs / 1000).toFixed(2), person_map_bytes_per_face: +(persons.memoryBytes() / loaded).toFixed(1) };
  }
  if (mode === 'fetch') loaded = await loadCollection(db, collectionId, (b) => void (loaded += 0 * b.ids.length), load);
  if (mode === 'raw') {
    let bytes = 0;
    const ranges = db.kind === 'postgres' ? await splitCollectionRanges(db, collectionId, load.parallel) : [{ afterId: -1, upToId: Number.MAX_SAFE_INTEGER }];
    await Promise.all(
      ranges.map((r) =>
        db.copyOut(
          `SELECT fc.face_id, e.person_id, e.embedding_half FROM face_collections fc JOIN face_index_entries e ON e.face_id = fc.face_id
            WHERE fc.collection_id = ${collectionId} AND fc.face_id > ${r.afterId} AND fc.face_id <= ${r.upToId}
              AND e.face_id > ${r.afterId} AND e.face_id <= ${r.upToId}`,
          (chunk) => void (bytes += chunk.length),
        ),
      ),
    );
    return { ms: performance.now() - t0, mb: Math.round(bytes / 1e6) };
  }
  if (mode === 'convert') {
    const halves = Buffer.alloc(load.batchSize * 512 * 2);
    for (let i = 0; i < halves.length / 2; i++) halves.writeUInt16BE(0x3000 + (i % 0x0c00), 2 * i); // normal values
    const out = new Float32Array(load.batchSize * 512);
    halfvecToFloats(halves, out); // loads the addon and touches the pages before the clock starts
    const t = performance.now();
    for (let done = 0; done < n; done += load.batchSize) halfvecToFloats(halves, out);
    return { loaded: n, ms: performance.now() - t };
  }
  if (mode === 'entries-one') loaded = await copyIndexEntries(db, collectionId, { afterId: -1, upToId: Number.MAX_SAFE_INTEGER }, load, () => {});
  return { loaded, ms: performance.now() - t0 };
}

async function openStore(store: string): Promise<{ db: Db; cleanup: () => Promise<void> }> {
  if (store === 'embedded') {
    const dir = values['data-dir'] || fs.mkdtempSync(path.join(os.tmpdir(), 'fs-bench-load-'));
    fs.mkdirSync(dir, { recursive: true });
    const cleanup = async () => void (values.keep || fs.rmSync(dir, { recursive: true, force: true }));
    const db = await openDb({ dataDir: dir }).catch(async (err: unknown) => {
      await cleanup();
      throw err;
    });
    return { db, cleanup };
  }
  if (!values.pg) throw new Error('postgres: pass --pg URL or set TEST_DATABASE_URL');
  const name = values.db || `fs_bench_load_${process.pid}`;
  const admin = new pg.Client({ connectionString: values.pg });
  await admin.connect();
  const exists = (await admin.query(`SELECT 1 FROM pg_database WHERE datname = $1`, [name])).rowCount;
  if (!exists) await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  const url = new URL(values.pg);
  url.pathname = `/${name}`;
  const db = await openDb({ databaseUrl: url.toString(), dataDir: os.tmpdir() });
  return {
    db,
    cleanup: async () => {
      if (!values.keep) await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)}`);
      await admin.end();
    },
  };
}

for (const store of values.stores.split(',')) {
  const { db, cleanup } = await openStore(store);
  try {
    const t0 = performance.now();
    await migrate(db);
    const migrateMs = performance.now() - t0;
    let collectionId = await benchCollection(db);
    const t1 = performance.now();
    if (collectionId === undefined) collectionId = await fill(db, n);
    const fillMs = performance.now() - t1;
    if (values['fill-only']) {
      console.log(JSON.stringify({ bench: 'index-load', store, n, fill_s: +(fillMs / 1000).toFixed(1), migrate_s: +(migrateMs / 1000).toFixed(1) }));
      continue;
    }
    for (const mode of values.modes.split(',')) {
      const r = await measure(db, collectionId, mode);
      const s = (r.ms as number) / 1000;
      console.log(
        JSON.stringify({
          bench: 'index-load',
          store,
          mode,
          n,
          ...r,
          ms: undefined,
          load_s: +s.toFixed(2),
          per_1M_s: +(s * (1e6 / n)).toFixed(1),
          batch: load.batchSize,
          parallel: store === 'postgres' ? load.parallel : 1,
          rss_mb: Math.round(process.memoryUsage().rss / 2 ** 20),
          loadavg: os.loadavg()[0].toFixed(2),
          at: new Date().toISOString().slice(11, 19),
        }),
      );
    }
  } finally {
    await db.close();
    await cleanup();
  }
}
