// The console's read-only SQL: lists with counts and thumbnails, the history timeline with its filters and
// charts, status figures. Every write goes through the domain services; these only read (and keep the
// face-thumbnail cache, face_thumbnails).
import type { Queryable } from '../store/db';
import type { Box } from '../domain/types';

/** A recognition counts as "known" when it names a person and its verdict does not say otherwise. */
const KNOWN_SQL = `(e.person_id IS NOT NULL AND coalesce(e.verdict, '') NOT IN ('no_match', 'unknown'))`;

/** Escapes LIKE's wildcards so a search for "50%" finds "50%". */
const likePattern = (s: string) => `%${s.replace(/[\\%_]/g, (c) => '\\' + c)}%`;

export interface PersonRow {
  id: number;
  name: string;
  surname: string | null;
  ownerCollectionId: number | null;
  faces: number;
  /** A face to show as the person's thumbnail (the first enrolled), or null. */
  thumbnailFaceId: number | null;
  collectionIds: number[];
  recognitionCount: number;
  lastRecognizedAt: Date | null;
  createdAt: Date;
}

export interface PersonQuery {
  collectionId?: number;
  search?: string;
  page: number;
  size: number;
}

function personWhere(q: PersonQuery): { where: string; params: unknown[] } {
  const conds: string[] = [];
  const params: unknown[] = [];
  if (q.collectionId !== undefined) {
    params.push(q.collectionId);
    const n = params.length;
    conds.push(`(p.owner_collection_id = $${n} OR EXISTS (SELECT 1 FROM faces f JOIN face_collections fc ON fc.face_id = f.id
                  WHERE f.person_id = p.id AND fc.collection_id = $${n}))`);
  }
  if (q.search) {
    params.push(likePattern(q.search));
    const n = params.length;
    conds.push(`(p.name ILIKE $${n} OR p.surname ILIKE $${n} OR p.uuid::text = lower(trim($${n}, '%')))`);
  }
  return { where: conds.length ? `WHERE ${conds.join(' AND ')}` : '', params };
}

export async function listPersonRows(db: Queryable, q: PersonQuery): Promise<{ persons: PersonRow[]; total: number }> {
  const { where, params } = personWhere(q);
  const total = (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM persons p ${where}`, params)).rows[0].n;
  const r = await db.query<{
    id: number;
    name: string;
    surname: string | null;
    owner_collection_id: number | null;
    faces: number;
    first_face: number | null;
    collection_ids: number[];
    recognition_count: number;
    last_recognized_at: Date | null;
    created_at: Date;
  }>(
    `SELECT p.id, p.name, p.surname, p.owner_collection_id, p.recognition_count, p.last_recognized_at, p.created_at,
            (SELECT count(*)::int FROM faces f WHERE f.person_id = p.id) AS faces,
            (SELECT min(f.id) FROM faces f WHERE f.person_id = p.id) AS first_face,
            ARRAY(SELECT DISTINCT fc.collection_id FROM faces f JOIN face_collections fc ON fc.face_id = f.id WHERE f.person_id = p.id) AS collection_ids
       FROM persons p ${where}
      ORDER BY lower(p.name), p.id
      LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
    [...params, q.size, q.page * q.size],
  );
  return {
    total,
    persons: r.rows.map((row) => ({
      id: row.id,
      name: row.name,
      surname: row.surname,
      ownerCollectionId: row.owner_collection_id,
      faces: row.faces,
      thumbnailFaceId: row.first_face,
      collectionIds: row.collection_ids.map(Number),
      recognitionCount: Number(row.recognition_count),
      lastRecognizedAt: row.last_recognized_at,
      createdAt: row.created_at,
    })),
  };
}

export interface EventFilter {
  collectionId?: number;
  cameraId?: number;
  personId?: number;
  dialect?: string;
  verdict?: string;
  /** known: a person was recognised; unknown: nobody was. */
  known?: boolean;
  from?: Date;
  to?: Date;
}

export interface EventRow {
  id: number;
  occurredAt: Date;
  /** The paging cursor of this event: microseconds since the epoch and id. */
  cursor: string;
  cameraId: number | null;
  cameraName: string | null;
  collectionId: number | null;
  collectionName: string | null;
  faceId: number | null;
  personId: number | null;
  personName: string | null;
  cosine: number | null;
  far: number | null;
  verdict: string | null;
  known: boolean;
  box: Box | null;
  dialect: string | null;
  endpoint: string | null;
  requestId: string | null;
  hasThumbnail: boolean;
}

function eventWhere(f: EventFilter, params: unknown[]): string[] {
  const conds: string[] = [];
  const add = (sql: string, v: unknown) => {
    params.push(v);
    conds.push(sql.replaceAll('?', `$${params.length}`));
  };
  if (f.collectionId !== undefined) add('e.collection_id = ?', f.collectionId);
  if (f.cameraId !== undefined) add('e.camera_id = ?', f.cameraId);
  if (f.personId !== undefined) add('e.person_id = ?', f.personId);
  if (f.dialect !== undefined) add('e.dialect = ?', f.dialect);
  if (f.verdict !== undefined) add('e.verdict = ?', f.verdict);
  if (f.known !== undefined) conds.push(f.known ? KNOWN_SQL : `NOT ${KNOWN_SQL}`);
  if (f.from) add('e.occurred_at >= ?', f.from);
  if (f.to) add('e.occurred_at < ?', f.to);
  return conds;
}

const CURSOR_RE = /^(\d{1,17}):(\d{1,17})$/;

export function validCursor(cursor: string): boolean {
  return CURSOR_RE.test(cursor);
}

/** Newest first; `before` (a row's cursor) gives the page after that row. */
export async function listEventRows(db: Queryable, f: EventFilter, page: { before?: string; limit: number }): Promise<EventRow[]> {
  const params: unknown[] = [];
  const conds = eventWhere(f, params);
  const m = page.before ? CURSOR_RE.exec(page.before) : null;
  if (m) {
    params.push(m[1], m[2]);
    conds.push(`(e.occurred_at, e.id) < (timestamptz 'epoch' + $${params.length - 1}::bigint * interval '1 microsecond', $${params.length}::bigint)`);
  }
  params.push(page.limit);
  const r = await db.query<{
    id: number;
    occurred_at: Date;
    us: string;
    camera_id: number | null;
    camera_name: string | null;
    collection_id: number | null;
    collection_name: string | null;
    face_id: number | null;
    person_id: number | null;
    person_name: string | null;
    similarity: number | null;
    far: number | null;
    verdict: string | null;
    known: boolean;
    box_x: number | null;
    box_y: number | null;
    box_width: number | null;
    box_height: number | null;
    dialect: string | null;
    endpoint: string | null;
    request_id: string | null;
    has_thumbnail: boolean;
  }>(
    `SELECT e.id, e.occurred_at, ((extract(epoch FROM e.occurred_at - timestamptz 'epoch') * 1000000)::numeric(20, 0))::text AS us,
            e.camera_id, c.name AS camera_name, e.collection_id, col.name AS collection_name, e.face_id, e.person_id,
            p.name AS person_name, e.similarity, e.far, e.verdict, ${KNOWN_SQL} AS known,
            e.box_x, e.box_y, e.box_width, e.box_height, e.dialect, e.endpoint, e.request_id, e.thumbnail IS NOT NULL AS has_thumbnail
       FROM recognition_events e
       LEFT JOIN persons p ON p.id = e.person_id
       LEFT JOIN cameras c ON c.id = e.camera_id
       LEFT JOIN collections col ON col.id = e.collection_id
      ${conds.length ? `WHERE ${conds.join(' AND ')}` : ''}
      ORDER BY e.occurred_at DESC, e.id DESC
      LIMIT $${params.length}`,
    params,
  );
  return r.rows.map((row) => ({
    id: row.id,
    occurredAt: row.occurred_at,
    cursor: `${row.us}:${row.id}`,
    cameraId: row.camera_id,
    cameraName: row.camera_name,
    collectionId: row.collection_id,
    collectionName: row.collection_name,
    faceId: row.face_id,
    personId: row.person_id,
    personName: row.person_name,
    cosine: row.similarity,
    far: row.far,
    verdict: row.verdict,
    known: row.known,
    box: row.box_x === null ? null : { x: row.box_x, y: row.box_y!, width: row.box_width!, height: row.box_height! },
    dialect: row.dialect,
    endpoint: row.endpoint,
    requestId: row.request_id,
    hasThumbnail: row.has_thumbnail,
  }));
}

export interface EventStats {
  buckets: { start: Date; known: number; unknown: number }[];
  cameras: { cameraId: number | null; name: string | null; known: number; unknown: number }[];
}

/** Counts per hour or day (in `timeZone`), known vs unknown, and per camera (the 20 busiest). */
export async function eventStats(db: Queryable, f: EventFilter, bucket: 'hour' | 'day', timeZone: string): Promise<EventStats> {
  const params: unknown[] = [];
  const conds = eventWhere(f, params);
  const where = conds.length ? `WHERE ${conds.join(' AND ')}` : '';
  params.push(bucket, timeZone);
  const series = await db.query<{ start: Date; known: number; unknown: number }>(
    `SELECT date_trunc($${params.length - 1}, e.occurred_at, $${params.length}) AS start,
            count(*) FILTER (WHERE ${KNOWN_SQL})::int AS known, count(*) FILTER (WHERE NOT ${KNOWN_SQL})::int AS unknown
       FROM recognition_events e ${where} GROUP BY 1 ORDER BY 1`,
    params,
  );
  const cameraParams = params.slice(0, -2);
  const cameras = await db.query<{ camera_id: number | null; name: string | null; known: number; unknown: number }>(
    `SELECT e.camera_id, c.name, count(*) FILTER (WHERE ${KNOWN_SQL})::int AS known, count(*) FILTER (WHERE NOT ${KNOWN_SQL})::int AS unknown
       FROM recognition_events e LEFT JOIN cameras c ON c.id = e.camera_id ${where}
      GROUP BY 1, 2 ORDER BY count(*) DESC, 1 LIMIT 20`,
    cameraParams,
  );
  return {
    buckets: series.rows,
    cameras: cameras.rows.map((r) => ({ cameraId: r.camera_id, name: r.name, known: r.known, unknown: r.unknown })),
  };
}

/** The dialects and verdicts seen in the last 30 days (the history filters' choices). */
export async function eventFacets(db: Queryable): Promise<{ dialects: string[]; verdicts: string[] }> {
  const r = await db.query<{ dialect: string | null; verdict: string | null }>(
    `SELECT DISTINCT dialect, verdict FROM recognition_events WHERE occurred_at >= now() - interval '30 days'`,
  );
  const sorted = (values: (string | null)[]) => [...new Set(values.filter((v): v is string => v !== null))].sort();
  return { dialects: sorted(r.rows.map((x) => x.dialect)), verdicts: sorted(r.rows.map((x) => x.verdict)) };
}

export async function eventThumbnail(db: Queryable, id: number): Promise<Buffer | undefined> {
  const r = await db.query<{ thumbnail: Buffer | null }>(`SELECT thumbnail FROM recognition_events WHERE id = $1`, [id]);
  return r.rows[0]?.thumbnail ?? undefined;
}

export async function faceThumbnail(db: Queryable, faceId: number): Promise<Buffer | undefined> {
  const r = await db.query<{ jpeg: Buffer }>(`SELECT jpeg FROM face_thumbnails WHERE face_id = $1`, [faceId]);
  return r.rows[0]?.jpeg;
}

/** Keeps a face's crop; a face deleted meanwhile is no error (its crop has nowhere to go). */
export async function saveFaceThumbnail(db: Queryable, faceId: number, jpeg: Buffer): Promise<void> {
  await db.query(
    `INSERT INTO face_thumbnails (face_id, jpeg) SELECT id, $2 FROM faces WHERE id = $1 ON CONFLICT (face_id) DO NOTHING`,
    [faceId, jpeg],
  );
}

export interface StoreFigures {
  collections: number;
  persons: number;
  faces: number;
  /** Events in the last 24 hours, and all of them (the planner's estimate above 100,000). */
  eventsLastDay: number;
  events: number;
  eventsWithThumbnail: number;
  databaseBytes: number | null;
}

export async function storeFigures(db: Queryable): Promise<StoreFigures> {
  const r = await db.query<{ collections: number; persons: number; faces: number; day: number; estimate: number }>(
    `SELECT (SELECT count(*)::int FROM collections) AS collections, (SELECT count(*)::int FROM persons) AS persons,
            (SELECT count(*)::int FROM faces) AS faces,
            (SELECT count(*)::int FROM recognition_events WHERE occurred_at >= now() - interval '1 day') AS day,
            (SELECT reltuples::float8 FROM pg_class WHERE oid = 'recognition_events'::regclass) AS estimate`,
  );
  const row = r.rows[0];
  let events = Number(row.estimate);
  let withThumbnail = -1;
  if (!(events > 100_000)) {
    const exact = await db.query<{ n: number; t: number }>(`SELECT count(*)::int AS n, count(thumbnail)::int AS t FROM recognition_events`);
    events = exact.rows[0].n;
    withThumbnail = exact.rows[0].t;
  }
  let databaseBytes: number | null;
  try {
    databaseBytes = Number((await db.query<{ n: string }>(`SELECT pg_database_size(current_database())::text AS n`)).rows[0].n);
  } catch {
    databaseBytes = null; // a role without the right to read it
  }
  return {
    collections: row.collections,
    persons: row.persons,
    faces: row.faces,
    eventsLastDay: row.day,
    events: Math.round(events),
    eventsWithThumbnail: withThumbnail,
    databaseBytes,
  };
}
