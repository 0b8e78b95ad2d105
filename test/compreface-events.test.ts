// Recognition events written behind the response (src/store/event-writer.ts), on both stores: batches of one
// COPY each, flush() for readers, back-pressure when the queue is full, references to rows deleted in the
// meantime cleared, refused rows logged without biometric data, and a graceful shutdown that writes the queue.
import assert from 'node:assert/strict';
import { EventWriter, type EventLog } from '../src/store/event-writer';
import { ServerMetrics } from '../src/metrics';
import type { NewRecognitionEvent } from '../src/store/events';
import type { Db } from '../src/store/db';
import { openDb } from '../src/store/db';
import * as collections from '../src/store/collections';
import * as persons from '../src/store/persons';
import * as faces from '../src/store/faces';
import { randomUnit } from './support/embeddings';
import { forEachStore } from './support/stores';
import { createTempDatabase, requirePostgres } from './support/postgres';
import { Api, createKeys, identificationSet, photo, requireFacedata } from './support/compreface';
import { migratedDataDir, removeTempDir, startTestServer } from './support/server';

/** A counter's value in a ServerMetrics registry. */
async function metricValue(metrics: ServerMetrics, name: string): Promise<number> {
  const metric = metrics.registry.getSingleMetric(name);
  assert.ok(metric, `no metric ${name}`);
  return (await metric.get()).values.reduce((sum, v) => sum + v.value, 0);
}

/** Keeps what the writer logs, to check what it says and that it says nothing biometric. */
class KeptLog implements EventLog {
  readonly lines: { level: string; details: Record<string, unknown>; message: string }[] = [];
  warn(details: object, message: string) {
    this.lines.push({ level: 'warn', details: details as Record<string, unknown>, message });
  }
  error(details: object, message: string) {
    this.lines.push({ level: 'error', details: details as Record<string, unknown>, message });
  }
}

const event = (requestId: string, o: Partial<NewRecognitionEvent> = {}): NewRecognitionEvent => ({
  verdict: 'no_match',
  embedding: randomUnit(5),
  box: { x: 1, y: 2, width: 30, height: 40 },
  dialect: 'compreface',
  endpoint: 'recognize',
  requestId,
  ...o,
});

async function eventsOf(db: Db, prefix: string) {
  const r = await db.query<{ request_id: string; face_id: number | null; person_id: number | null; batch: string; has_embedding: boolean }>(
    `SELECT request_id, face_id, person_id, xmin::text AS batch, embedding IS NOT NULL AS has_embedding
       FROM recognition_events WHERE request_id LIKE $1 ORDER BY id`,
    [`${prefix}%`],
  );
  return r.rows;
}

forEachStore((name, store) => {
  describe('recognition events written behind the response', function () {
    this.timeout(60_000);
    let db: Db;
    before(async () => {
      db = await store.open();
    });

    it('writes queued events in multi-row batches; flush() makes them readable in SQL, in call order', async () => {
      const log = new KeptLog();
      const writer = new EventWriter(db, { log, batchSize: 4, delayMs: 30_000 });
      await Promise.all(Array.from({ length: 10 }, (_, i) => writer.write([event(`batch-${String(i).padStart(2, '0')}`)])));
      // Below the batch size the rest waits for the timer or a flush; every full batch is already on its way.
      await writer.flush();
      assert.equal(writer.pending, 0);
      const rows = await eventsOf(db, 'batch-');
      assert.deepEqual(
        rows.map((r) => r.request_id),
        Array.from({ length: 10 }, (_, i) => `batch-${String(i).padStart(2, '0')}`),
      );
      assert.ok(rows.every((r) => r.has_embedding));
      // One INSERT per batch: rows of a batch share their writing transaction.
      assert.equal(new Set(rows.map((r) => r.batch)).size, 3, `${name}: 10 events in batches of 4`);
      assert.deepEqual(log.lines, []);
    });

    it('writes on its own after the delay, with no flush', async () => {
      const writer = new EventWriter(db, { log: new KeptLog(), delayMs: 20 });
      await writer.write([event('timer-1'), event('timer-1')]);
      const deadline = Date.now() + 10_000;
      while ((await eventsOf(db, 'timer-')).length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.equal((await eventsOf(db, 'timer-')).length, 2);
    });

    it('a full queue makes the caller write its own events (back-pressure), losing none', async () => {
      const writer = new EventWriter(db, { log: new KeptLog(), maxQueued: 3, delayMs: 30_000 });
      for (let i = 0; i < 5; i++) await writer.write([event(`full-${i}`)]);
      assert.equal(writer.pending, 3);
      assert.deepEqual(
        (await eventsOf(db, 'full-')).map((r) => r.request_id),
        ['full-3', 'full-4'],
        'written by their callers before returning',
      );
      await writer.flush();
      assert.equal((await eventsOf(db, 'full-')).length, 5);
    });

    it('clears a reference to a face deleted before the write, as ON DELETE SET NULL would', async () => {
      const c = await collections.createCollection(db, { name: `events-${name}` });
      const p = await persons.createPerson(db, { ownerCollectionId: c.id, name: 'gone soon' });
      const kept = await persons.createPerson(db, { ownerCollectionId: c.id, name: 'stays' });
      const f = await faces.insertFace(db, { personId: p.id, template: Buffer.from([1, 2, 3]), embedding: randomUnit(9), collectionIds: [c.id] });
      const writer = new EventWriter(db, { log: new KeptLog(), delayMs: 30_000 });
      await writer.write([event('deleted-1', { collectionId: c.id, faceId: f.id, personId: p.id, similarity: 0.9, verdict: 'match' })]);
      await writer.write([event('deleted-2', { collectionId: c.id, personId: kept.id, similarity: 0.7, verdict: 'match' })]);
      await persons.deletePerson(db, p.id); // deletes the face too
      await writer.flush();
      const rows = await eventsOf(db, 'deleted-');
      assert.deepEqual(
        rows.map((r) => [r.request_id, r.face_id, r.person_id]),
        [
          ['deleted-1', null, null],
          ['deleted-2', null, kept.id],
        ],
      );
      assert.equal((await persons.getPerson(db, kept.id))?.recognitionCount, 1);
    });

    it('logs a row the database refuses (request id and SQLSTATE only) and writes the rest', async () => {
      const log = new KeptLog();
      const metrics = new ServerMetrics();
      const writer = new EventWriter(db, { log, delayMs: 30_000, ...metrics.eventWriterHooks });
      const bad = randomUnit(3);
      bad[7] = Number.NaN; // pgvector refuses NaN
      await writer.write([event('refused-1')]);
      await writer.write([event('refused-2', { embedding: bad })]);
      await writer.write([event('refused-3')]);
      await writer.flush();
      assert.deepEqual(
        (await eventsOf(db, 'refused-')).map((r) => r.request_id),
        ['refused-1', 'refused-3'],
      );
      assert.equal(log.lines.length, 1);
      const [line] = log.lines;
      assert.equal(line.level, 'error');
      assert.equal(line.details.requestId, 'refused-2');
      assert.match(String((line.details.err as { sqlState: string }).sqlState), /^22/);
      const text = JSON.stringify(line);
      assert.ok(!text.includes(String(bad[0]).slice(0, 8)), 'no embedding values in the log');
      assert.ok(!/embedding|box/i.test(Object.keys(line.details).join()), 'no biometric fields in the log');
      // The /metrics figures of the writer say the same.
      assert.equal(await metricValue(metrics, 'faceserver_events_dropped_total'), 1);
      assert.equal(await metricValue(metrics, 'faceserver_events_written_total'), 2);
    });

    it('close() writes the queue; on a database gone away it logs the events it lost, past its deadline', async () => {
      const writer = new EventWriter(db, { log: new KeptLog(), delayMs: 30_000 });
      await writer.write([event('close-1'), event('close-1')]);
      await writer.close(5_000);
      assert.equal((await eventsOf(db, 'close-')).length, 2);
      await writer.write([event('close-2')]);
      assert.equal((await eventsOf(db, 'close-')).length, 3, 'after close, callers write their own events');

      // A second connection that goes away under the recorder (one process per embedded data folder at a time).
      if (name === 'embedded') await db.close();
      const doomed = await store.open();
      const log = new KeptLog();
      const metrics = new ServerMetrics();
      const lost = new EventWriter(doomed, { log, delayMs: 30_000, maxRetryDelayMs: 50, ...metrics.eventWriterHooks });
      await lost.write([event('lost-1'), event('lost-1'), event('lost-1')]);
      await doomed.close();
      const t0 = Date.now();
      await lost.close(300);
      assert.ok(Date.now() - t0 < 5_000);
      assert.equal(lost.pending, 0);
      const gaveUp = log.lines.find((l) => l.level === 'error');
      assert.ok(gaveUp, JSON.stringify(log.lines));
      assert.equal(gaveUp.details.lost, 3);
      assert.deepEqual(gaveUp.details.requestIds, ['lost-1']);
      assert.ok((await metricValue(metrics, 'faceserver_events_write_retries_total')) >= 1, 'the retries are counted');
      if (name === 'embedded') db = await store.open();
      assert.equal((await eventsOf(db, 'lost-')).length, 0);
    });
  });
});

describe('recognition events through a running server', function () {
  this.timeout(180_000);
  for (const storeName of ['embedded', 'postgres'] as const) {
    it(`a recognize is readable in SQL after a flush, and a graceful shutdown writes what is queued (${storeName})`, async function () {
      requireFacedata(this);
      const temp = storeName === 'postgres' ? await createTempDatabase(requirePostgres(this)) : undefined;
      const dataDir = await migratedDataDir();
      const env: Record<string, string> = temp ? { DATABASE_URL: temp.url, DATA_DIR: dataDir } : { DATA_DIR: dataDir };
      const server = await startTestServer(env);
      try {
        const keys = await createKeys(server);
        const api = new Api(server.url, keys.recognition);
        const { people } = identificationSet(1);
        await api.enrol(people[0].name, photo(people[0].gallery));
        const res = await fetch(`${server.url}/api/v1/recognition/recognize`, {
          method: 'POST',
          headers: { 'x-api-key': keys.recognition, 'x-request-id': `probe-${storeName}` },
          body: (() => {
            const form = new FormData();
            form.append('file', new Blob([new Uint8Array(photo(people[0].probes[0]))]), 'probe.jpg');
            return form;
          })(),
        });
        assert.equal(res.status, 200);
        const faces = ((await res.json()) as { result: unknown[] }).result.length;
        await server.services.events.flush();
        const r = await server.db.query<{ endpoint: string; verdict: string; name: string | null }>(
          `SELECT e.endpoint, e.verdict, p.name FROM recognition_events e LEFT JOIN persons p ON p.id = e.person_id
            WHERE e.request_id = $1 ORDER BY e.id`,
          [`probe-${storeName}`],
        );
        assert.equal(r.rows.length, faces, 'one event per face found');
        // The biggest face (the first) is the enrolled person; LFW portraits may show bystanders too.
        assert.deepEqual(r.rows[0], { endpoint: 'recognize', verdict: 'match', name: people[0].name });

        // Queued, not yet written, when the server is asked to stop.
        await server.events.write([event(`at-shutdown-${storeName}`)]);
        assert.equal(server.events.pending, 1);
      } finally {
        await server.close();
      }
      const db = await openDb({ databaseUrl: temp?.url, dataDir });
      try {
        assert.equal((await eventsOf(db, `at-shutdown-${storeName}`)).length, 1);
      } finally {
        await db.close();
        await temp?.drop();
        removeTempDir(dataDir);
      }
    });
  }
});
