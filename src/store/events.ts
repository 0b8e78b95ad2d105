// Recognition history: one row per recognize / verify / identify call (per probe face), reportable in SQL.
import { BinaryCopyWriter } from './binary-copy';
import type { Db, Queryable } from './db';
import type { Box } from '../domain/types';
import { EMBEDDING_DIM } from '../domain/types';
import { vectorToSql } from './vector';

export interface NewRecognitionEvent {
  occurredAt?: Date;
  cameraId?: number | null;
  collectionId?: number | null;
  /** The best match, or null when nobody matched. */
  faceId?: number | null;
  personId?: number | null;
  /** Cosine of the probe and the matched face. */
  similarity?: number | null;
  /** Calibrated false-accept rate of that cosine. */
  far?: number | null;
  /** friend / foe / unknown, match / no_match, or a dialect's own word. */
  verdict?: string | null;
  box?: Box | null;
  /** The probe's embedding, kept for "faces like this one" reporting; omit to keep none. */
  embedding?: Float32Array | null;
  thumbnailRef?: string | null;
  /** A small JPEG crop of the probe face (THUMBNAILS), written with the row and deleted with it. */
  thumbnail?: Buffer | null;
  /**
   * The image the probe face was found in, for the thumbnail maker (src/console/event-thumbnails.ts), which
   * cuts `thumbnail` from it and drops it. Never written, never logged.
   */
  probeImage?: Buffer | null;
  dialect?: string | null;
  endpoint?: string | null;
  requestId?: string | null;
  attributes?: Record<string, unknown>;
}

export interface RecognitionEvent {
  id: number;
  occurredAt: Date;
  cameraId: number | null;
  collectionId: number | null;
  faceId: number | null;
  personId: number | null;
  similarity: number | null;
  far: number | null;
  verdict: string | null;
  box: Box | null;
  thumbnailRef: string | null;
  dialect: string | null;
  endpoint: string | null;
  requestId: string | null;
  attributes: Record<string, unknown>;
}

const COLUMNS = `id, occurred_at, camera_id, collection_id, face_id, person_id, similarity, far, verdict, box_x, box_y, box_width,
  box_height, thumbnail_ref, dialect, endpoint, request_id, attributes`;

interface EventRow {
  id: number;
  occurred_at: Date;
  camera_id: number | null;
  collection_id: number | null;
  face_id: number | null;
  person_id: number | null;
  similarity: number | null;
  far: number | null;
  verdict: string | null;
  box_x: number | null;
  box_y: number | null;
  box_width: number | null;
  box_height: number | null;
  thumbnail_ref: string | null;
  dialect: string | null;
  endpoint: string | null;
  request_id: string | null;
  attributes: Record<string, unknown>;
}

const toEvent = (r: EventRow): RecognitionEvent => ({
  id: r.id,
  occurredAt: r.occurred_at,
  cameraId: r.camera_id,
  collectionId: r.collection_id,
  faceId: r.face_id,
  personId: r.person_id,
  similarity: r.similarity,
  far: r.far,
  verdict: r.verdict,
  box: r.box_x === null ? null : { x: r.box_x, y: r.box_y!, width: r.box_width!, height: r.box_height! },
  thumbnailRef: r.thumbnail_ref,
  dialect: r.dialect,
  endpoint: r.endpoint,
  requestId: r.request_id,
  attributes: r.attributes,
});

/** The columns both write paths fill, in the order of eventParams and of copyEvents' fields. */
const WRITE_TARGET = `recognition_events (occurred_at, camera_id, collection_id, face_id, person_id, similarity, far, verdict,
  box_x, box_y, box_width, box_height, embedding, thumbnail_ref, dialect, endpoint, request_id, attributes, thumbnail)`;
const EVENT_FIELDS = 19;

function eventParams(e: NewRecognitionEvent): unknown[] {
  return [
    e.occurredAt ?? new Date(),
    e.cameraId ?? null,
    e.collectionId ?? null,
    e.faceId ?? null,
    e.personId ?? null,
    e.similarity ?? null,
    e.far ?? null,
    e.verdict ?? null,
    e.box ? Math.round(e.box.x) : null,
    e.box ? Math.round(e.box.y) : null,
    e.box ? Math.round(e.box.width) : null,
    e.box ? Math.round(e.box.height) : null,
    e.embedding ? vectorToSql(e.embedding) : null,
    e.thumbnailRef ?? null,
    e.dialect ?? null,
    e.endpoint ?? null,
    e.requestId ?? null,
    e.attributes ?? {},
    e.thumbnail ?? null,
  ];
}

/** Inserts events (one per probe face) in one statement; the person statistics are updated by a trigger. */
export async function insertEvents(q: Queryable, events: NewRecognitionEvent[]): Promise<number[]> {
  if (!events.length) return [];
  const params: unknown[] = [];
  const tuples = events.map((e, i) => {
    params.push(...eventParams(e));
    const base = i * EVENT_FIELDS;
    return `(${Array.from({ length: EVENT_FIELDS }, (_, j) => `$${base + j + 1}`).join(', ')})`;
  });
  const r = await q.query<{ id: number }>(
    `INSERT INTO ${WRITE_TARGET} VALUES ${tuples.join(', ')} RETURNING id`,
    params,
  );
  return r.rows.map((row) => row.id);
}

/**
 * Writes events in one binary COPY (the bulk path of the write-behind recorder): the same rows and trigger as
 * insertEvents, without returning ids, and without the server parsing each embedding's text form (in PGlite
 * that parse is ~1 ms per 512-d vector; vector_recv is a copy).
 */
export async function copyEvents(db: Db, events: NewRecognitionEvent[]): Promise<number> {
  if (!events.length) return 0;
  const w = new BinaryCopyWriter(events.length * 2300);
  for (const e of events) {
    if (e.embedding && e.embedding.length !== EMBEDDING_DIM) throw new RangeError(`embedding must have ${EMBEDDING_DIM} values, got ${e.embedding.length}`);
    w.row(EVENT_FIELDS)
      .timestamptz(e.occurredAt ?? new Date())
      .int8(e.cameraId)
      .int8(e.collectionId)
      .int8(e.faceId)
      .int8(e.personId)
      .float4(e.similarity)
      .float4(e.far)
      .text(e.verdict)
      .int4(e.box ? Math.round(e.box.x) : null)
      .int4(e.box ? Math.round(e.box.y) : null)
      .int4(e.box ? Math.round(e.box.width) : null)
      .int4(e.box ? Math.round(e.box.height) : null)
      .vector(e.embedding)
      .text(e.thumbnailRef)
      .text(e.dialect)
      .text(e.endpoint)
      .text(e.requestId)
      .jsonb(e.attributes ?? {})
      .bytea(e.thumbnail);
  }
  return db.copyIn(WRITE_TARGET, w.finish());
}

/**
 * The events with their references to rows deleted since (face, person, collection, camera) cleared, as ON
 * DELETE SET NULL would have cleared them had the events been written first.
 */
export async function clearDeletedReferences(q: Queryable, events: NewRecognitionEvent[]): Promise<NewRecognitionEvent[]> {
  const ids = (pick: (e: NewRecognitionEvent) => number | null | undefined) => [
    ...new Set(events.map(pick).filter((id): id is number => id !== null && id !== undefined)),
  ];
  const r = await q.query<{ kind: string; id: number }>(
    `SELECT 'face' AS kind, id FROM faces WHERE id = ANY($1::bigint[])
     UNION ALL SELECT 'person', id FROM persons WHERE id = ANY($2::bigint[])
     UNION ALL SELECT 'collection', id FROM collections WHERE id = ANY($3::bigint[])
     UNION ALL SELECT 'camera', id FROM cameras WHERE id = ANY($4::bigint[])`,
    [ids((e) => e.faceId), ids((e) => e.personId), ids((e) => e.collectionId), ids((e) => e.cameraId)],
  );
  const live = new Set(r.rows.map((row) => `${row.kind}:${Number(row.id)}`));
  const keep = (kind: string, id: number | null | undefined) => (id !== null && id !== undefined && live.has(`${kind}:${id}`) ? id : null);
  return events.map((e) => ({
    ...e,
    faceId: keep('face', e.faceId),
    personId: keep('person', e.personId),
    collectionId: keep('collection', e.collectionId),
    cameraId: keep('camera', e.cameraId),
  }));
}

export async function insertEvent(q: Queryable, e: NewRecognitionEvent): Promise<number> {
  return (await insertEvents(q, [e]))[0];
}

export interface EventFilter {
  from?: Date;
  to?: Date;
  cameraId?: number;
  personId?: number;
  collectionId?: number;
  limit?: number;
}

/** Newest first; `from` inclusive, `to` exclusive. */
export async function listEvents(q: Queryable, f: EventFilter = {}): Promise<RecognitionEvent[]> {
  const conds: string[] = [];
  const params: unknown[] = [];
  const add = (sql: string, v: unknown) => {
    params.push(v);
    conds.push(sql.replace('?', `$${params.length}`));
  };
  if (f.from) add('occurred_at >= ?', f.from);
  if (f.to) add('occurred_at < ?', f.to);
  if (f.cameraId !== undefined) add('camera_id = ?', f.cameraId);
  if (f.personId !== undefined) add('person_id = ?', f.personId);
  if (f.collectionId !== undefined) add('collection_id = ?', f.collectionId);
  params.push(Math.min(f.limit ?? 1000, 100_000));
  const where = conds.length ? `WHERE ${conds.join(' AND ')}` : '';
  const r = await q.query<EventRow>(`SELECT ${COLUMNS} FROM recognition_events ${where} ORDER BY occurred_at DESC, id DESC LIMIT $${params.length}`, params);
  return r.rows.map(toEvent);
}

/**
 * Deletes events older than `days` days in batches (so a large backlog never holds one long lock); returns how
 * many were deleted. days <= 0 keeps everything.
 */
export async function deleteEventsOlderThan(q: Queryable, days: number, batchSize = 10_000): Promise<number> {
  if (days <= 0) return 0;
  let total = 0;
  for (;;) {
    const r = await q.query(
      `DELETE FROM recognition_events WHERE id IN (
         SELECT id FROM recognition_events WHERE occurred_at < now() - make_interval(days => $1) LIMIT $2)`,
      [days, batchSize],
    );
    total += r.rowCount;
    if (r.rowCount < batchSize) return total;
  }
}
