// Index load benchmark: how long the in-memory face index takes to stream N templates from each store.
//   node --import tsx benchmarks/index-load.ts --n 100000 [--pg URL] [--stores embedded,postgres] [--formats binary,text] [--parallel 2]
// One JSON line per (store, format, n). The gallery is generated inside the database (random unit vectors;
// the load time depends on row size, not on the values); the HNSW index is dropped first because building it
// for 1M rows takes far longer than the load being measured.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { openDb, type Db } from '../src/store/db';
import { migrate } from '../src/store/migrations';
import { createCollection } from '../src/store/collections';
import type { EmbeddingFormat } from '../src/store/face-index-queries';
type LoadFormat = EmbeddingFormat | 'copy';
import { loadCollection } from '../src/domain/index/collection-loader';
import { ExactMatcher, type CollectionMatcher } from '../src/domain/index/collection-matcher';
import { NativeMatcher } from '../src/domain/index/native-matcher';
import { loadAddon } from '../src/engine/addon';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '100000' },
    pg: { type: 'string', default: process.env.TEST_DATABASE_URL ?? '' },
    stores: { type: 'string', default: 'embedded,postgres' },
    formats: { type: 'string', default: 'copy,binary,text' },
    batch: { type: 'string', default: '20000' },
    parallel: { type: 'string', default: '2' },
    keep: { type: 'boolean', default: false },
  },
});
const n = Number(values.n);
const batchSize = Number(values.batch);
const parallel = Number(values.parallel);
// The server's matcher when the addon has it; the float reference otherwise (then said in the output).
const nativeAvailable = typeof loadAddon().MatcherIndex === 'function';
const newMatcher = (): CollectionMatcher => (nativeAvailable ? new NativeMatcher() : new ExactMatcher());

async function fill(db: Db, count: number): Promise<number> {
  await db.exec('DROP INDEX IF EXISTS faces_embedding_hnsw');
  const collection = await createCollection(db, { name: 'bench' });
  const chunk = 50_000;
  for (let done = 0; done < count; done += chunk) {
    const m = Math.min(chunk, count - done);
    await db.transaction(async (tx) => {
      await tx.query(
        `WITH v AS (
           SELECT l2_normalize((SELECT array_agg(random() - 0.5) FROM generate_series(1, 512) WHERE g > 0)::real[]::vector) AS e
             FROM generate_series(1, $1) g),
         ins AS (INSERT INTO faces (template, embedding) SELECT vector_send(e), e FROM v RETURNING id)
         INSERT INTO face_collections (collection_id, face_id) SELECT $2, id FROM ins`,
        [m, collection.id],
      );
    });
  }
  // A restarted server reads a settled table: set hint bits and statistics first, as autovacuum would.
  await db.exec('VACUUM ANALYZE faces');
  await db.exec('VACUUM ANALYZE face_collections');
  return collection.id;
}

async function measureLoad(db: Db, collectionId: number, format: LoadFormat) {
  const matcher = newMatcher();
  const t0 = performance.now();
  const loaded = await loadCollection(db, collectionId, matcher, { batchSize, format, parallel });
  const totalMs = performance.now() - t0;
  matcher.dispose();
  return { loaded, totalMs };
}

async function openStore(store: string): Promise<{ db: Db; cleanup: () => Promise<void> }> {
  if (store === 'embedded') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fs-bench-load-'));
    const db = await openDb({ dataDir: dir });
    return { db, cleanup: async () => fs.rmSync(dir, { recursive: true, force: true }) };
  }
  if (!values.pg) throw new Error('postgres: pass --pg URL or set TEST_DATABASE_URL');
  const name = `fs_bench_load_${process.pid}`;
  const admin = new pg.Client({ connectionString: values.pg });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name}`);
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(values.pg);
  url.pathname = `/${name}`;
  const db = await openDb({ databaseUrl: url.toString(), dataDir: os.tmpdir() });
  return {
    db,
    cleanup: async () => {
      if (!values.keep) await admin.query(`DROP DATABASE IF EXISTS ${name}`);
      await admin.end();
    },
  };
}

for (const store of values.stores.split(',')) {
  const { db, cleanup } = await openStore(store);
  try {
    await migrate(db);
    const t0 = performance.now();
    const collectionId = await fill(db, n);
    const fillMs = performance.now() - t0;
    for (const format of values.formats.split(',') as LoadFormat[]) {
      const r = await measureLoad(db, collectionId, format);
      console.log(
        JSON.stringify({
          bench: 'index-load',
          store,
          format,
          n,
          batch: batchSize,
          loaded: r.loaded,
          load_s: +(r.totalMs / 1000).toFixed(2),
          parallel: store === 'postgres' ? parallel : 1,
          matcher: nativeAvailable ? 'native' : 'float-reference',
          rss_mb: Math.round(process.memoryUsage().rss / 2 ** 20),
          per_1M_s: +((r.totalMs / 1000) * (1e6 / n)).toFixed(1),
          fill_s: +(fillMs / 1000).toFixed(1),
        }),
      );
    }
  } finally {
    await db.close();
    await cleanup();
  }
}
