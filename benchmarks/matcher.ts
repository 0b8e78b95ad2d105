// Matcher benchmark: our 1:N index against FAISS (and pgvector with --pg) on the same face-like data.
//   npm run bench:matcher -- --n 1000000 [--threads 1,2] [--candidates 256,512,1024] [--pg postgres://...]
//                            [--queries 1000] [--exact-queries 100] [--seed 1]
//                            [--pg-max 1000000] [--pg-queries 50] [--pg-exact-queries 20] [--pg-ef-search 40,100] [--pg-keep]
// --n takes a comma list (10000,100000,1000000). Prints ONE JSON line per configuration, then a summary
// line per N with the ratios and the bars. Data (generated once per N and seed, gitignored) lives in
// .tmp/matcher-bench/: real embeddings of the facedata photos, and a gallery sampled around them
// (benchmarks/lib/make_gallery.py; see benchmarks/RESULTS.md "Matcher").
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { Matcher, matcherKernels, measureReadBandwidth, type MatcherSearchOptions } from '../src/engine/matcher';
import { BinaryCopyWriter } from '../src/store/binary-copy';
import { openDb } from '../src/store/db';
import { loadRealEmbeddings } from './lib/real_embeddings';

const REPO = path.resolve(import.meta.dirname, '..');
const DIMS = 512;
const K = 10;
const REPORTABLE = 0.5; // cosine above which a search result is a match (same-person min ~0.45, different max ~0.5)
const PYTHON = '/usr/bin/python3'; // Debian's, where python3-faiss and python3-numpy live

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '10000,100000,1000000' },
    threads: { type: 'string', default: '1,2' },
    candidates: { type: 'string', default: '128,256,512,1024,2048,4096' },
    prefilters: { type: 'string', default: 'weighted,hamming' }, // twoStage pre-filter rankings to compare
    queries: { type: 'string', default: '1000' },
    'exact-queries': { type: 'string', default: '100' },
    'faiss-flat-queries': { type: 'string', default: '30' },
    'faiss-binary-queries': { type: 'string', default: '300' },
    'faiss-max': { type: 'string', default: '1000000' }, // FAISS holds the float gallery: 20 GB at 10M
    // Above --faiss-max, IndexBinaryFlat alone, filled from the gallery file in chunks (640 MB at 10M).
    'faiss-binary-max': { type: 'string', default: '10000000' },
    pg: { type: 'string', default: '' },
    'pg-max': { type: 'string', default: '1000000' },
    'pg-queries': { type: 'string', default: '50' }, // HNSW queries (the first of --queries)
    'pg-exact-queries': { type: 'string', default: '20' }, // seq-scan queries, spread over --queries (~5 s each at 1M)
    'pg-ef-search': { type: 'string', default: '40' }, // hnsw.ef_search values to measure (40: pgvector's default)
    'pg-copy-rows': { type: 'string', default: '25000' }, // rows per binary COPY statement (~52 MB)
    'pg-maintenance-work-mem': { type: 'string', default: '4GB' }, // the HNSW build's memory (1M x 512: ~3 GB)
    'pg-build-workers': { type: 'string', default: '1' }, // max_parallel_maintenance_workers for the HNSW build
    'pg-cold': { type: 'boolean', default: false }, // skip reading the indexes into shared_buffers (pg_prewarm) before timing
    'pg-keep': { type: 'boolean', default: false }, // keep (and reuse) the table and index, named after N and seed
    seed: { type: 'string', default: '1' },
    'prepare-only': { type: 'boolean', default: false }, // generate the data and ground truth, time nothing
    facedata: { type: 'string', default: process.env.FS_FACEDATA ?? path.resolve(REPO, '../shared/facedata') },
    models: { type: 'string', default: process.env.FS_MODELS ?? path.resolve(REPO, 'models') },
    cache: { type: 'string', default: path.resolve(REPO, '.tmp/matcher-bench') },
  },
});

const list = (s: string) => s.split(',').filter(Boolean).map(Number);
// Every line carries the 1-minute load average: the figures mean little on a busy 2-core machine.
const emit = (o: Record<string, unknown>) => console.log(JSON.stringify({ bench: 'matcher', ...o, load1: round(os.loadavg()[0], 2) }));
const round = (x: number, digits = 4) => Number(x.toFixed(digits));

interface Dataset {
  dir: string;
  n: number;
  queries: Float32Array;
  queryCount: number;
  queryMate: number[]; // enrolled row of the query's identity, -1 for unknown people
  gt: BigInt64Array; // exact float top-10 rows per query
  gtTop1Score: Float32Array; // exact cosine of each query's true top-1
  meta: Record<string, unknown>;
}

function python(args: string[]): string {
  return execFileSync(PYTHON, args, { cwd: REPO, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26 });
}

function readFloats(file: string): Float32Array {
  const bytes = fs.readFileSync(file);
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}

async function prepare(n: number, seed: number): Promise<Dataset> {
  if (!fs.existsSync(path.join(values.facedata, 'MANIFEST.md'))) {
    throw new Error(`facedata not found at ${values.facedata}: the gallery is sampled around real embeddings`);
  }
  await loadRealEmbeddings(values.facedata, values.models, values.cache); // computed once, then cached
  const dir = path.join(values.cache, `n${n}-seed${seed}`);
  if (!fs.existsSync(path.join(dir, 'meta.json'))) {
    python(['benchmarks/lib/make_gallery.py', '--real', values.cache, '--n', String(n), '--seed', String(seed), '--out', dir]);
  }
  const meta = JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8'));
  const queries = readFloats(path.join(dir, 'queries.f32'));
  return { dir, n, queries, queryCount: queries.length / DIMS, queryMate: meta.queryMate, gt: new BigInt64Array(0), gtTop1Score: new Float32Array(0), meta };
}

/** Exact float top-K of every query (benchmarks/lib/exact_topk.cpp, built here once), written where FAISS reads it. */
function groundTruth(data: Dataset): void {
  const file = path.join(data.dir, `gt${K}.i64`);
  if (!fs.existsSync(file)) {
    const tool = path.join(values.cache, 'bin', 'exact_topk');
    if (!fs.existsSync(tool)) {
      fs.mkdirSync(path.dirname(tool), { recursive: true });
      execFileSync('g++', ['-O3', '-march=native', '-fopenmp', '-o', tool, path.join(REPO, 'benchmarks/lib/exact_topk.cpp')], { stdio: 'inherit' });
    }
    const t = performance.now();
    execFileSync(tool, [path.join(data.dir, 'gallery.f32'), path.join(data.dir, 'queries.f32'), String(K), file], { stdio: 'inherit' });
    emit({ n: data.n, step: 'ground-truth', queries: data.queryCount, ms: round(performance.now() - t, 0) });
  }
  const gtBytes = fs.readFileSync(file);
  data.gt = new BigInt64Array(gtBytes.buffer, gtBytes.byteOffset, gtBytes.byteLength / 8);
  data.gtTop1Score = new Float32Array(data.queryCount);
  const fd = fs.openSync(path.join(data.dir, 'gallery.f32'), 'r');
  const row = new Float32Array(DIMS);
  for (let q = 0; q < data.queryCount; q++) {
    fs.readSync(fd, new Uint8Array(row.buffer), 0, DIMS * 4, Number(data.gt[q * K]) * DIMS * 4);
    const v = query(data, q);
    data.gtTop1Score[q] = row.reduce((sum, x, i) => sum + x * v[i], 0);
  }
  fs.closeSync(fd);
}

/** FAISS on the same data (benchmarks/faiss_peer.py); binaryOnly: IndexBinaryFlat alone, no float copy in RAM. */
function faiss(data: Dataset, threads: number, binaryOnly = false): Record<string, unknown> {
  const out = python([
    'benchmarks/faiss_peer.py', '--dir', data.dir, '--threads', String(threads), '--k', String(K),
    '--flat-queries', values['faiss-flat-queries'], '--binary-queries', values['faiss-binary-queries'],
    ...(binaryOnly ? ['--binary-only'] : []),
  ]);
  return JSON.parse(out.trim().split('\n').pop() as string);
}

/** Streams gallery.f32 into the index in 50k-template batches; returns ms spent in reserve and in addBatch. */
function load(index: Matcher, data: Dataset): { reserveMs: number; addBatchMs: number } {
  const fd = fs.openSync(path.join(data.dir, 'gallery.f32'), 'r');
  const batch = 50_000;
  const buffer = new Float32Array(batch * DIMS);
  const reserveStart = performance.now();
  index.reserve(data.n); // as the store does before streaming a collection (first touch of the memory)
  const reserveMs = performance.now() - reserveStart;
  let ms = 0;
  try {
    for (let row = 0; row < data.n; row += batch) {
      const count = Math.min(batch, data.n - row);
      const view = new Uint8Array(buffer.buffer, 0, count * DIMS * 4);
      fs.readSync(fd, view, 0, view.byteLength, row * DIMS * 4);
      const ids = Float64Array.from({ length: count }, (_, i) => row + i);
      const t = performance.now();
      index.addBatch(ids, buffer.subarray(0, count * DIMS));
      ms += performance.now() - t;
    }
  } finally {
    fs.closeSync(fd);
  }
  return { reserveMs, addBatchMs: ms };
}

/** Exact float cosine of query q and gallery row `row` (read from the gallery file). */
function floatCosine(data: Dataset, q: number, row: number): number {
  const v = new Float32Array(DIMS);
  const fd = fs.openSync(path.join(data.dir, 'gallery.f32'), 'r');
  fs.readSync(fd, new Uint8Array(v.buffer), 0, DIMS * 4, row * DIMS * 4);
  fs.closeSync(fd);
  const u = query(data, q);
  return v.reduce((sum, x, i) => sum + x * u[i], 0);
}

function query(data: Dataset, q: number): Float32Array {
  return data.queries.subarray(q * DIMS, (q + 1) * DIMS);
}

interface RunResult {
  msPerQuery: number;
  p50: number;
  p99: number;
  recallAt1: number;
  recallAt10: number;
  recallAt1Mated: number; // recall@1 over the queries whose person is enrolled
  recallAt1Reportable: number; // recall@1 over the queries whose exact top-1 cosine >= REPORTABLE (a match a server reports)
  reportableQueries: number;
  missesNearTie: number;
  missGapMax: number;
  mateAt1: number; // identification: top-1 is the enrolled mate (queries whose person is enrolled)
  queries: number;
}

function measure(index: Matcher, data: Dataset, picks: number[], options: MatcherSearchOptions): RunResult {
  for (const q of picks.slice(0, 3)) index.searchSync(query(data, q), options); // warm caches and pages
  const ms: number[] = [];
  let at1 = 0, at10 = 0, mated = 0, mateHits = 0, matedAt1 = 0, reportable = 0, reportableAt1 = 0;
  const missGaps: number[] = []; // how much worse (exact cosine) our top-1 is than the true one, per miss
  for (const q of picks) {
    const t = performance.now();
    const hits = index.searchSync(query(data, q), options);
    ms.push(performance.now() - t);
    const truth = Array.from(data.gt.subarray(q * K, q * K + K), Number);
    if (hits[0]?.faceId === truth[0]) at1++;
    else if (hits[0]) missGaps.push(data.gtTop1Score[q] - floatCosine(data, q, hits[0].faceId));
    if (data.gtTop1Score[q] >= REPORTABLE) {
      reportable++;
      if (hits[0]?.faceId === truth[0]) reportableAt1++;
    }
    const got = new Set(hits.map((h) => h.faceId));
    at10 += truth.filter((id) => got.has(id)).length / K;
    if (data.queryMate[q] >= 0) {
      mated++;
      if (hits[0]?.faceId === data.queryMate[q]) mateHits++;
      if (hits[0]?.faceId === truth[0]) matedAt1++;
    }
  }
  ms.sort((a, b) => a - b);
  return {
    msPerQuery: round(ms.reduce((a, b) => a + b, 0) / ms.length),
    p50: round(ms[Math.floor(ms.length / 2)]),
    p99: round(ms[Math.min(ms.length - 1, Math.floor(ms.length * 0.99))]),
    recallAt1: round(at1 / picks.length),
    recallAt10: round(at10 / picks.length),
    recallAt1Mated: round(mated ? matedAt1 / mated : 0),
    recallAt1Reportable: round(reportable ? reportableAt1 / reportable : 0),
    reportableQueries: reportable,
    // A miss whose top-1 is within int8 quantisation error (0.0035) of the true one is a near-tie (often two
    // templates of the same person), not a different answer.
    missesNearTie: missGaps.filter((g) => g <= 0.0035).length,
    missGapMax: round(Math.max(0, ...missGaps)),
    mateAt1: round(mated ? mateHits / mated : 0),
    queries: picks.length,
  };
}

/** Mean ms of a sequential searchSync vs awaited searchAsync (the thread hop), same query set. */
async function crossover(index: Matcher, data: Dataset, picks: number[], options: MatcherSearchOptions) {
  const sync = performance.now();
  for (const q of picks) index.searchSync(query(data, q), options);
  const syncMs = (performance.now() - sync) / picks.length;
  const start = performance.now();
  for (const q of picks) await index.searchAsync(query(data, q), options);
  const asyncMs = (performance.now() - start) / picks.length;
  return { syncMs: round(syncMs), asyncMs: round(asyncMs), hopMs: round(asyncMs - syncMs) };
}

/** A table of the gallery in PostgreSQL + pgvector, loaded and indexed once per N, measured per thread count. */
interface PgSession {
  client: import('pg').Client;
  table: string;
  keep: boolean;
  setup: Record<string, unknown>; // load and build figures (recorded in the table's comment when kept)
}

/**
 * Loads the gallery into an UNLOGGED table by binary COPY (--pg-copy-rows per statement) and builds the HNSW
 * index (m 16, ef_construction 64) in memory. With --pg-keep the table is named after N and seed and left in
 * place; a later run with --pg-keep reuses it (load and build figures from its comment), so a long 1M build
 * can be timed once and the queries timed again.
 */
async function pgvectorOpen(data: Dataset): Promise<PgSession | undefined> {
  const pg = (await import('pg')).default;
  const client = new pg.Client({ connectionString: values.pg });
  await client.connect();
  // pgvector warns here when the graph outgrows maintenance_work_mem (then the build goes on disk, far slower).
  client.on('notice', (msg) => emit({ engine: 'pgvector', n: data.n, notice: msg.message }));
  try {
    await client.query('CREATE EXTENSION IF NOT EXISTS vector');
  } catch (err) {
    emit({ engine: 'pgvector', n: data.n, skipped: `CREATE EXTENSION vector failed: ${(err as Error).message}` });
    await client.end();
    return undefined;
  }
  const keep = values['pg-keep'];
  const table = keep ? `matcher_bench_n${data.n}_seed${values.seed}` : `matcher_bench_${process.pid}`;
  const session: PgSession = { client, table, keep, setup: {} };
  try {
    const settings = Object.fromEntries(
      (await client.query(`SELECT name, setting, unit FROM pg_settings WHERE name IN ('shared_buffers', 'server_version')`)).rows.map(
        (r: { name: string; setting: string; unit: string | null }) => [r.name, r.unit === '8kB' ? `${(Number(r.setting) * 8) / 1024} MB` : r.setting],
      ),
    );
    const version = (await client.query(`SELECT extversion FROM pg_extension WHERE extname = 'vector'`)).rows[0].extversion;
    const existing = keep ? (await client.query(`SELECT obj_description(to_regclass($1), 'pg_class') AS c, to_regclass($1) IS NOT NULL AS e`, [table])).rows[0] : undefined;
    let rows = existing?.e ? Number((await client.query(`SELECT count(*) FROM ${table}`)).rows[0].count) : -1;
    if (rows !== -1 && rows !== data.n) {
      await client.query(`DROP TABLE ${table}`);
      rows = -1;
    }
    if (rows === data.n) {
      session.setup = { ...JSON.parse(existing.c ?? '{}'), reusedTable: true };
    } else {
      session.setup = await pgvectorLoad(data, client, table);
    }
    if (session.setup.hnswBuildMs === undefined || !(await pgHasHnsw(client, table))) {
      Object.assign(session.setup, await pgvectorBuild(data, client, table), { reusedTable: false });
    }
    if (keep) await client.query(`COMMENT ON TABLE ${table} IS ${pg.escapeLiteral(JSON.stringify({ ...session.setup, reusedTable: undefined }))}`);
    Object.assign(session.setup, {
      pgvector: version, postgres: settings.server_version, sharedBuffers: settings.shared_buffers,
      tableBytes: Number((await client.query(`SELECT pg_table_size($1::regclass) AS b`, [table])).rows[0].b),
      indexBytes: Number((await client.query(`SELECT pg_indexes_size($1::regclass) AS b`, [table])).rows[0].b),
    });
    emit({ engine: 'pgvector', n: data.n, step: 'setup', table, ...session.setup });
    return session;
  } catch (err) {
    await pgvectorClose(session);
    throw err;
  }
}

/**
 * Reads the table and its indexes into shared_buffers (pg_prewarm), as a server that has been answering for a
 * while holds them, and as our index holds everything in RAM: cold, each query faults in random index and heap
 * pages, and its latency measures that (60 ms instead of 16 ms at 1M here). Give the server shared_buffers
 * above table + index size (1M: ~5.6 GB) for an all-in-memory figure.
 */
async function pgPrewarm(client: import('pg').Client, table: string): Promise<Record<string, unknown>> {
  try {
    await client.query('CREATE EXTENSION IF NOT EXISTS pg_prewarm');
    const t = performance.now();
    // The table first, with its TOAST table (a 512-d vector, 2,056 bytes, is over the TOAST threshold: the
    // vectors live there) and TOAST index: every HNSW hit reads its row for the id. Then the indexes, last, so
    // that they stay if shared_buffers cannot hold everything (1M: 2.8 GB of table, 2.8 GB of HNSW index).
    const h = await client.query(
      `SELECT sum(pg_prewarm(r)) AS blocks FROM (SELECT $1::regclass AS r
         UNION ALL SELECT reltoastrelid::regclass FROM pg_class WHERE oid = $1::regclass AND reltoastrelid <> 0
         UNION ALL SELECT i.indexrelid::regclass FROM pg_index i JOIN pg_class c ON i.indrelid = c.reltoastrelid WHERE c.oid = $1::regclass) x`,
      [table],
    );
    const r = await client.query(`SELECT sum(pg_prewarm(indexrelid)) AS blocks FROM pg_index WHERE indrelid = $1::regclass`, [table]);
    return { prewarmedIndexBlocks: Number(r.rows[0].blocks), prewarmedHeapBlocks: Number(h.rows[0].blocks), prewarmMs: round(performance.now() - t, 0) };
  } catch (err) {
    return { prewarm: `failed: ${(err as Error).message}` };
  }
}

async function pgHasHnsw(client: import('pg').Client, table: string): Promise<boolean> {
  const r = await client.query(`SELECT 1 FROM pg_indexes WHERE tablename = $1 AND indexdef LIKE '%USING hnsw%'`, [table]);
  return r.rows.length > 0;
}

/** Binary COPY of gallery.f32 in chunks (pgvector's binary vector form), then VACUUM ANALYZE (hint bits, stats). */
async function pgvectorLoad(data: Dataset, client: import('pg').Client, table: string): Promise<Record<string, unknown>> {
  await client.query(`DROP TABLE IF EXISTS ${table}`);
  // UNLOGGED: no WAL for a throwaway table; unlike the TEMP table used before, it is read through shared_buffers
  // (temp tables through temp_buffers, 8 MB), and pgvector can build its index with parallel workers.
  await client.query(`CREATE UNLOGGED TABLE ${table} (id bigint PRIMARY KEY, embedding vector(${DIMS}))`);
  const db = await openDb({ databaseUrl: values.pg, dataDir: values.cache, poolSize: 1 });
  const chunk = Number(values['pg-copy-rows']);
  const fd = fs.openSync(path.join(data.dir, 'gallery.f32'), 'r');
  const floats = new Float32Array(chunk * DIMS);
  let copyMs = 0;
  const t0 = performance.now();
  try {
    for (let row = 0; row < data.n; row += chunk) {
      const count = Math.min(chunk, data.n - row);
      fs.readSync(fd, new Uint8Array(floats.buffer, 0, count * DIMS * 4), 0, count * DIMS * 4, row * DIMS * 4);
      const writer = new BinaryCopyWriter(count * (DIMS * 4 + 30) + 64);
      for (let i = 0; i < count; i++) writer.row(2).int8(row + i).vector(floats.subarray(i * DIMS, (i + 1) * DIMS));
      const buffer = writer.finish();
      const t = performance.now();
      const written = await db.copyIn(`${table} (id, embedding)`, buffer);
      copyMs += performance.now() - t;
      if (written !== count) throw new Error(`COPY wrote ${written} rows of ${count}`);
    }
  } finally {
    fs.closeSync(fd);
    await db.close();
  }
  const loadMs = performance.now() - t0;
  const v = performance.now();
  await client.query(`VACUUM (ANALYZE) ${table}`);
  const vacuumMs = performance.now() - v;
  return {
    copyChunkRows: chunk, loadMs: round(loadMs, 0), copyRowsPerSecond: round((data.n / loadMs) * 1000, 0),
    copyServerRowsPerSecond: round((data.n / copyMs) * 1000, 0), vacuumAnalyzeMs: round(vacuumMs, 0),
  };
}

async function pgvectorBuild(data: Dataset, client: import('pg').Client, table: string): Promise<Record<string, unknown>> {
  // In memory or not at all: the 1M x 512 graph needs ~3 GB; with the default 64 MB pgvector builds on disk.
  const memory = values['pg-maintenance-work-mem'];
  const workers = Number(values['pg-build-workers']);
  await client.query(`SET maintenance_work_mem = '${memory}'`);
  await client.query(`SET max_parallel_maintenance_workers = ${workers}`);
  const b = performance.now();
  await client.query(`CREATE INDEX ${table}_hnsw ON ${table} USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)`);
  const buildMs = performance.now() - b;
  await client.query('RESET maintenance_work_mem');
  return { hnswBuildMs: round(buildMs, 0), m: 16, efConstruction: 64, maintenanceWorkMem: memory, buildParallelWorkers: workers };
}

/** Exact (seq scan, index scans off) over exactPicks, then HNSW at each --pg-ef-search over picks. */
async function pgvectorMeasure(s: PgSession, data: Dataset, picks: number[], exactPicks: number[], threads: number) {
  const { client, table } = s;
  const results: Record<string, { p50: number; msPerQuery: number; recallAt1: number; recallAt10: number }> = {};
  await client.query(`SET max_parallel_workers_per_gather = ${threads - 1}`);
  const run = async (label: string, qs: number[], extra: Record<string, unknown>) => {
    const ask = (q: number) => client.query(`SELECT id FROM ${table} ORDER BY embedding <=> $1 LIMIT ${K}`, [`[${Array.from(query(data, q)).join(',')}]`]);
    for (const q of qs.slice(0, label === 'pgvector-exact' ? 1 : 3)) await ask(q); // warm pages and the plan, untimed
    const ms: number[] = [];
    let at1 = 0, at10 = 0;
    for (const q of qs) {
      const t = performance.now();
      const res = await ask(q);
      ms.push(performance.now() - t);
      const ids = res.rows.map((r: { id: string }) => Number(r.id));
      const truth = Array.from(data.gt.subarray(q * K, q * K + K), Number);
      if (ids[0] === truth[0]) at1++;
      at10 += truth.filter((id) => ids.includes(id)).length / K;
    }
    ms.sort((a, b) => a - b);
    const r = {
      msPerQuery: round(ms.reduce((a, b) => a + b, 0) / ms.length), p50: round(ms[Math.floor(ms.length / 2)]),
      recallAt1: round(at1 / qs.length), recallAt10: round(at10 / qs.length),
    };
    results[label === 'pgvector-exact' ? 'exact' : `hnsw-ef${extra.efSearch}`] = r;
    emit({
      engine: label, n: data.n, threads, queries: qs.length, ...r, p99: round(ms[Math.min(ms.length - 1, Math.floor(ms.length * 0.99))]),
      ...extra, ...s.setup,
    });
  };
  // HNSW first, right after the prewarm: the exact scan detoasts every vector through shared_buffers (the TOAST
  // index scan gets no small ring), evicting the HNSW index pages.
  const prewarm = values['pg-cold'] ? {} : await pgPrewarm(client, table);
  for (const ef of list(values['pg-ef-search'])) {
    await client.query(`SET hnsw.ef_search = ${ef}`);
    await run('pgvector-hnsw', picks, { efSearch: ef, ...prewarm });
  }
  await client.query('SET enable_indexscan = off');
  await run('pgvector-exact', exactPicks, prewarm);
  await client.query('RESET enable_indexscan');
  return results;
}

async function pgvectorClose(s: PgSession): Promise<void> {
  try {
    if (!s.keep) await s.client.query(`DROP TABLE IF EXISTS ${s.table}`);
  } finally {
    await s.client.end();
  }
}

async function main() {
  const kernels = matcherKernels();
  const threadsList = list(values.threads);
  const candidateList = list(values.candidates);
  for (const n of list(values.n)) {
    const data = await prepare(n, Number(values.seed));
    groundTruth(data);
    if (values['prepare-only']) continue;
    const faissByThreads = new Map<number, Record<string, unknown>>();
    if (n <= Number(values['faiss-max'])) for (const t of threadsList) faissByThreads.set(t, faiss(data, t));
    else if (n <= Number(values['faiss-binary-max'])) for (const t of threadsList) faissByThreads.set(t, faiss(data, t, true));
    const index = new Matcher();
    const { reserveMs, addBatchMs } = load(index, data);
    const loadMs = reserveMs + addBatchMs;
    const bytesPerTemplate = round(index.bytesPerTemplate(), 1);
    emit({ engine: 'faceserver', n, step: 'load', loadMs: round(loadMs, 1), reserveMs: round(reserveMs, 1), addBatchMs: round(addBatchMs, 1),
      usPerTemplateAddBatch: round((addBatchMs * 1000) / n, 3), templatesPerSecond: round((n / loadMs) * 1000, 0), bytesPerTemplate,
      memoryBytes: index.memoryBytes(), kernel: kernels.best, generator: data.meta.cosine, loadavg: os.loadavg().map((x) => round(x, 2)) });

    const all = Array.from({ length: data.queryCount }, (_, i) => i);
    const picks = all.slice(0, Math.min(all.length, Number(values.queries)));
    const exactPicks = picks.filter((_, i) => i % Math.max(1, Math.floor(picks.length / Number(values['exact-queries']))) === 0);
    const bandwidth = measureReadBandwidth(1 << 30, 5).gbPerSecond;
    emit({ engine: 'memory', n, step: 'read-bandwidth', gbPerSecond: round(bandwidth, 2), threads: 1 });

    const summary: Record<string, unknown> = {};
    let pgSession: PgSession | undefined;
    for (const threads of threadsList) {
      const f = faissByThreads.get(threads) as
        | { flatIP?: { msPerQuery: number; p50: number }; binaryFlat: { msPerQuery: number; p50: number }; binaryLoadMs?: number }
        | undefined;
      if (f?.flatIP) emit({ engine: 'faiss-IndexFlatIP', n, threads, ...f.flatIP, recallAt1: 1, recallAt10: 1, bytesPerTemplate: DIMS * 4 });
      if (f) emit({ engine: 'faiss-IndexBinaryFlat', n, threads, ...f.binaryFlat, bytesPerTemplate: DIMS / 8, loadMs: f.binaryLoadMs });

      const base = { engine: 'faceserver', n, threads, k: K, bytesPerTemplate, kernel: kernels.best };
      const scanRate = (r: RunResult) => {
        const gbps = (n * 64) / (r.p50 / 1000) / 1e9;
        return { scanGBps: round(gbps, 2), ofBandwidth: round(gbps / bandwidth, 3) };
      };
      const hamming = measure(index, data, picks, { k: K, mode: 'hamming', threads });
      emit({ ...base, mode: 'hamming', ...hamming, ...scanRate(hamming) });
      // The weighted pre-filter scan alone: twoStage keeping only k candidates (rescoring 10 costs ~nothing).
      const weightedScan = measure(index, data, picks, { k: K, mode: 'twoStage', prefilter: 'weighted', candidates: K, threads });
      emit({ ...base, mode: 'twoStage', prefilter: 'weighted', candidates: K, step: 'weighted-scan', ...weightedScan, ...scanRate(weightedScan) });
      const twoStage: Record<string, RunResult> = {};
      for (const prefilter of values.prefilters.split(',') as ('weighted' | 'hamming')[]) {
        for (const candidates of candidateList) {
          const r = measure(index, data, picks, { k: K, mode: 'twoStage', prefilter, rescore: 'float', candidates, threads });
          twoStage[`${prefilter}:${candidates}`] = r;
          emit({ ...base, mode: 'twoStage', prefilter, rescore: 'float', candidates, ...r });
        }
      }
      // The default: candidates chosen from the collection size (about 1%, 128..1024, >= 16 per result), asked
      // for 10 results and, as recognize asks, for 1 (recall@10 means nothing there).
      const auto10 = measure(index, data, picks, { k: K, threads });
      emit({ ...base, mode: 'twoStage', candidates: 'auto', ...auto10 });
      const auto1 = measure(index, data, picks, { k: 1, threads });
      emit({ ...base, k: 1, mode: 'twoStage', candidates: 'auto', ...auto1, recallAt10: undefined });
      const int8Rescore = measure(index, data, picks, { k: K, mode: 'twoStage', rescore: 'int8', candidates: 1024, threads });
      emit({ ...base, mode: 'twoStage', rescore: 'int8', candidates: 1024, ...int8Rescore });
      const exact = measure(index, data, exactPicks, { k: K, mode: 'exact', threads });
      emit({ ...base, mode: 'exact', ...exact });
      for (const kernel of kernels.available.filter((k) => k !== kernels.best)) {
        const r = measure(index, data, exactPicks, { k: K, mode: 'twoStage', candidates: 1024, threads, kernel });
        emit({ ...base, mode: 'twoStage', candidates: 1024, ...r, kernel });
      }
      const cross = await crossover(index, data, picks.slice(0, 200), { k: K, mode: 'twoStage', threads });
      emit({ ...base, mode: 'twoStage', step: 'sync-vs-async', candidates: 1024, ...cross });

      // The fair speed point: the smallest candidate count (first --prefilters entry) reaching recall@1
      // >= 99.5% over ALL queries, and over the queries whose true top-1 is a reportable match (unknown
      // people's top-1 among a million distractors is a near-tie at cosine ~0.35 that no threshold reports).
      const main = values.prefilters.split(',')[0];
      const pick = (ok: (r: RunResult) => boolean) => {
        const c = candidateList.find((x) => ok(twoStage[`${main}:${x}`])) ?? candidateList[candidateList.length - 1];
        const r = twoStage[`${main}:${c}`];
        return {
          candidates: c, msPerQuery: r.msPerQuery, p50: r.p50, recallAt1: r.recallAt1, recallAt1Reportable: r.recallAt1Reportable,
          recallAt10: r.recallAt10,
          ...(f ? { speedupVsFaissBinary: round(f.binaryFlat.p50 / r.p50, 2) } : {}),
          ...(f?.flatIP ? { speedupVsFaissFlat: round(f.flatIP.p50 / r.p50, 1) } : {}),
        };
      };
      summary[`threads${threads}`] = {
        prefilter: main,
        allQueries: pick((r) => r.recallAt1 >= 0.995),
        reportableMatches: pick((r) => r.recallAt1Reportable >= 0.995),
        hammingScanGBps: scanRate(hamming).scanGBps,
        hammingScanOfBandwidth: scanRate(hamming).ofBandwidth,
        weightedScanGBps: scanRate(weightedScan).scanGBps,
        weightedScanOfBandwidth: scanRate(weightedScan).ofBandwidth,
      };
      if (values.pg && n <= Number(values['pg-max'])) {
        pgSession ??= await pgvectorOpen(data);
        const count = Math.min(picks.length, Number(values['pg-exact-queries']));
        const pgExact = picks.filter((_, i) => i % Math.max(1, Math.floor(picks.length / count)) === 0).slice(0, count);
        if (pgSession) {
          const pgr = await pgvectorMeasure(pgSession, data, picks.slice(0, Number(values['pg-queries'])), pgExact, threads);
          // Ours at the fair speed point (allQueries) against each pgvector configuration, by p50.
          const ours = (summary[`threads${threads}`] as { allQueries: { p50: number } }).allQueries.p50;
          (summary[`threads${threads}`] as Record<string, unknown>).pgvector = Object.fromEntries(
            Object.entries(pgr).map(([key, r]) => [key, { ...r, speedupOfOursByP50: round(r.p50 / ours, 1) }]),
          );
        }
      } else if (values.pg) emit({ engine: 'pgvector', n, threads, skipped: `n > --pg-max ${values['pg-max']}` });
    }
    const one = summary.threads1 as
      | { allQueries: { p50: number; recallAt1: number; speedupVsFaissBinary?: number }; hammingScanOfBandwidth: number; weightedScanOfBandwidth: number }
      | undefined;
    emit({
      step: 'summary', n, bandwidthGBps: round(bandwidth, 2), bytesPerTemplate, ...summary,
      // The bars of issue 4, read strictly: recall@1 over every query.
      bars: one && n >= 1_000_000 ? {
        top1Within3msOneCore: one.allQueries.p50 <= 3, recallAt1AtLeast995: one.allQueries.recallAt1 >= 0.995,
        atLeast4xFaissBinary: one.allQueries.speedupVsFaissBinary === undefined ? 'no FAISS run' : one.allQueries.speedupVsFaissBinary >= 4,
        hammingScanAtLeast70PctBandwidth: one.hammingScanOfBandwidth >= 0.7, weightedScanAtLeast70PctBandwidth: one.weightedScanOfBandwidth >= 0.7,
        atMost700BytesPerTemplate: bytesPerTemplate <= 700,
      } : undefined,
    });
    if (pgSession) await pgvectorClose(pgSession);
    index.clear();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
