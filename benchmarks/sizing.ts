// `npm run bench:sizing`: what the database grows by, per recognition event and per enrolled face.
//
//   npm run bench:sizing -- [--events 20000] [--faces 10000]
//   DATABASE_URL=postgres://.../fresh_db npm run bench:sizing     (PostgreSQL instead of the embedded store)
//   npm run bench:sizing -- --rss     the process's resident memory with the engine open (1, then 2 workers),
//                                      after each worker analysed photos with every attribute: a server's RAM
//                                      before any face is loaded
//
// Events go through the server's own EventWriter (binary COPY, 256 a batch) with what a recognize call records:
// the probe's real embedding, box, score, verdict, dialect, endpoint, request id, and (second half) the
// THUMBNAILS crop cut from the real photo by the console's FaceCropper. Faces are inserted with a real
// template and embedding, each in one collection with a person of its own. Sizes are pg_total_relation_size (heap,
// TOAST and indexes) after VACUUM (ANALYZE), per row, and extrapolated to a million. Prints one JSON line.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ATTRIBUTE_NAMES, Engine } from '../src/engine/engine';
import { FaceCropper } from '../src/console/thumbnails';
import { openDb, type Db } from '../src/store/db';
import { migrate } from '../src/store/migrations';
import { createCollection } from '../src/store/collections';
import { EventWriter } from '../src/store/event-writer';
import type { NewRecognitionEvent } from '../src/store/events';
import { vectorToSql } from '../src/store/vector';

const FACEDATA = path.resolve(import.meta.dirname, '../../shared/facedata');
const MODELS = path.resolve(import.meta.dirname, '../models');

const { values } = parseArgs({ options: { events: { type: 'string', default: '20000' }, faces: { type: 'string', default: '10000' }, rss: { type: 'boolean', default: false } } });
const nEvents = Number(values.events);
const nFaces = Number(values.faces);

async function size(db: Db, table: string): Promise<number> {
  await db.exec(`VACUUM (ANALYZE) ${table}`);
  return Number((await db.query<{ n: string }>(`SELECT pg_total_relation_size('${table}')::text AS n`)).rows[0].n);
}

const round = (x: number, d = 0) => Number(x.toFixed(d));

async function main(): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'faceserver-bench-sizing-'));
  const db = await openDb({ databaseUrl: process.env.DATABASE_URL, dataDir });
  const engine = await Engine.open({ modelsDir: MODELS, workers: 1 });
  try {
    await migrate(db);
    // Real probes: 40 LFW photos, their embeddings, boxes and thumbnail crops.
    const cropper = new FaceCropper(112);
    const probes: { embedding: Float32Array; box: { x: number; y: number; width: number; height: number }; thumbnail: Buffer }[] = [];
    for (const person of fs.readdirSync(path.join(FACEDATA, 'lfw')).sort().slice(0, 40)) {
      const file = path.join(FACEDATA, 'lfw', person, fs.readdirSync(path.join(FACEDATA, 'lfw', person)).sort()[0]);
      const image = fs.readFileSync(file);
      const r = await engine.analyze(image, { detectFaces: true, template: true, maxFaces: 1, attributes: [] });
      const f = r.faces[0];
      if (!f?.embedding) continue;
      probes.push({ embedding: f.embedding, box: f.box, thumbnail: await cropper.crop(image, f.box) });
    }
    const collection = await createCollection(db, { name: 'sizing' });

    // Faces: a real template and embedding each, in the collection, each with a person of its own.
    const facesBefore = await size(db, 'faces');
    const membershipsBefore = await size(db, 'face_collections');
    const personsBefore = await size(db, 'persons');
    const entriesBefore = await size(db, 'face_index_entries');
    const batch = 1000;
    for (let done = 0; done < nFaces; done += batch) {
      const m = Math.min(batch, nFaces - done);
      const names = Array.from({ length: m }, (_, i) => `person-${done + i}`);
      await db.transaction(async (tx) => {
        const persons = await tx.query<{ id: number }>(`INSERT INTO persons (owner_collection_id, name) SELECT $1, unnest($2::text[]) RETURNING id`, [collection.id, names]);
        const embeddings = names.map((_, i) => probes[(done + i) % probes.length].embedding);
        const faces = await tx.query<{ id: number }>(
          `INSERT INTO faces (person_id, template, embedding, photo_sha256, box_x, box_y, box_width, box_height, quality)
           SELECT p, t, e::vector, sha256(t), 60, 60, 120, 120, 0.7
             FROM unnest($1::bigint[], $2::bytea[], $3::text[]) AS x(p, t, e) RETURNING id`,
          [persons.rows.map((r) => r.id), embeddings.map((e) => Engine.templateFromEmbedding(e)), embeddings.map((e) => vectorToSql(e))],
        );
        await tx.query(`INSERT INTO face_collections (collection_id, face_id) SELECT $1, unnest($2::bigint[])`, [collection.id, faces.rows.map((r) => r.id)]);
      });
    }
    const facesGrowth = (await size(db, 'faces')) - facesBefore;
    const membershipGrowth = (await size(db, 'face_collections')) - membershipsBefore;
    const personsGrowth = (await size(db, 'persons')) - personsBefore;
    const entriesGrowth = (await size(db, 'face_index_entries')) - entriesBefore;

    // Events, as recognize records them: without thumbnails, then with.
    const writer = new EventWriter(db, { log: { warn: () => {}, error: (d, m) => console.error(m, d) }, delayMs: 50 });
    const faceIds = (await db.query<{ id: number; person_id: number | null }>(`SELECT id, person_id FROM faces ORDER BY id LIMIT 1000`)).rows;
    const event = (i: number, thumbnail: boolean): NewRecognitionEvent => {
      const p = probes[i % probes.length];
      const hit = faceIds[i % faceIds.length];
      return {
        collectionId: collection.id,
        faceId: hit.id,
        personId: hit.person_id,
        similarity: 0.62,
        far: 1e-4,
        verdict: 'match',
        box: p.box,
        embedding: p.embedding,
        dialect: 'compreface',
        endpoint: 'recognition/recognize',
        requestId: crypto.randomUUID(),
        attributes: {},
        ...(thumbnail ? { thumbnail: p.thumbnail } : {}),
      };
    };
    const writeEvents = async (thumbnail: boolean) => {
      const before = await size(db, 'recognition_events');
      const t0 = performance.now();
      for (let i = 0; i < nEvents; i += 256) {
        await writer.write(Array.from({ length: Math.min(256, nEvents - i) }, (_, k) => event(i + k, thumbnail)));
        await writer.flush();
      }
      const seconds = (performance.now() - t0) / 1000;
      return { bytes: (await size(db, 'recognition_events')) - before, seconds };
    };
    const plain = await writeEvents(false);
    const withThumbs = await writeEvents(true);
    await writer.close(10_000);

    const perMillionGb = (bytes: number, n: number) => round((bytes / n) * 1e6 / 1e9, 2);
    console.log(
      JSON.stringify({
        store: db.kind,
        faces: {
          n: nFaces,
          bytesPerFace: round((facesGrowth + membershipGrowth + personsGrowth + entriesGrowth) / nFaces),
          // faces includes its HNSW index (the SQL search path); persons: one per face here
          split: {
            faces: round(facesGrowth / nFaces),
            face_index_entries: round(entriesGrowth / nFaces),
            face_collections: round(membershipGrowth / nFaces),
            persons: round(personsGrowth / nFaces),
          },
          gbPerMillion: perMillionGb(facesGrowth + membershipGrowth + personsGrowth + entriesGrowth, nFaces),
        },
        events: {
          n: nEvents,
          bytesPerEvent: round(plain.bytes / nEvents),
          gbPerMillion: perMillionGb(plain.bytes, nEvents),
          eventsPerSecond: round(nEvents / plain.seconds),
          withThumbnails: { bytesPerEvent: round(withThumbs.bytes / nEvents), gbPerMillion: perMillionGb(withThumbs.bytes, nEvents), thumbnailBytes: round(probes.reduce((s, p) => s + p.thumbnail.length, 0) / probes.length) },
        },
        loadAverage: os.loadavg().map((x) => round(x, 2)),
      }),
    );
  } finally {
    await engine.close();
    await db.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Resident memory (MB) of this process: bare, then with the engine open and warm, 1 and 2 workers. */
async function rss(): Promise<void> {
  const mb = () => Math.round(process.memoryUsage().rss / 2 ** 20);
  const bare = mb();
  const photos = fs
    .readdirSync(path.join(FACEDATA, 'lfw'))
    .sort()
    .slice(0, 8)
    .map((p) => path.join(FACEDATA, 'lfw', p, fs.readdirSync(path.join(FACEDATA, 'lfw', p)).sort()[0]));
  const out: Record<string, number> = { bare };
  for (const workers of [1, 2]) {
    const engine = await Engine.open({ modelsDir: MODELS, workers });
    await Promise.all(photos.map((p) => engine.analyze(fs.readFileSync(p), { detectFaces: true, template: true, maxFaces: 0, attributes: [...ATTRIBUTE_NAMES] })));
    out[`workers${workers}`] = mb();
    await engine.close();
  }
  console.log(JSON.stringify({ rssMb: out, loadAverage: os.loadavg().map((x) => round(x, 2)) }));
}

await (values.rss ? rss() : main());
