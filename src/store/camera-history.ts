// Camera history: the recognition events that came from a camera and were given a person, read back with the
// camera's name, the person's name and the captured face (reports of who was seen where and when), and the
// persons one camera has seen on many days (regular visitors).
import type { Box } from '../domain/types';
import type { Queryable } from './db';

export interface CameraEventFilter {
  /** Events of these collections only. */
  collectionIds: readonly number[];
  personId?: number;
  /** Cameras by name. */
  cameraNames?: readonly string[];
  /** occurred_at >= from, < to. */
  from?: Date;
  to?: Date;
  /** Keyset paging, newest first: events with a lower id. */
  beforeId?: number;
  /** Only persons who are (true) or are not (false) regulars (see regularPersons). */
  regular?: { is: boolean; minDays: number; since: Date };
  /** Most rows returned (absent: all). */
  limit?: number;
}

export interface CameraEvent {
  id: number;
  occurredAt: Date;
  cameraName: string;
  personId: number;
  personName: string | null;
  faceId: number | null;
  faceUuid: string | null;
  /** sha-256 of the photo of the event's face, when the face is still there. */
  photoSha256: Buffer | null;
  box: Box | null;
  similarity: number | null;
  attributes: Record<string, unknown>;
}

/** SQL for "persons one camera saw on at least $minDays days since $since" (parameters at the given positions). */
function regularsSql(minDays: string, since: string, collections: string): string {
  return `SELECT r.person_id FROM recognition_events r
           WHERE r.camera_id IS NOT NULL AND r.person_id IS NOT NULL AND r.occurred_at >= ${since}
             AND r.collection_id = ANY(${collections}::bigint[])
           GROUP BY r.person_id, r.camera_id
          HAVING count(DISTINCT (r.occurred_at AT TIME ZONE 'UTC')::date) >= ${minDays}`;
}

/** Newest first. */
export async function listCameraEvents(q: Queryable, f: CameraEventFilter): Promise<CameraEvent[]> {
  const params: unknown[] = [f.collectionIds];
  const conds = ['e.camera_id IS NOT NULL', 'e.person_id IS NOT NULL', 'e.collection_id = ANY($1::bigint[])'];
  const add = (sql: (p: string) => string, v: unknown) => {
    params.push(v);
    conds.push(sql(`$${params.length}`));
  };
  if (f.personId !== undefined) add((p) => `e.person_id = ${p}`, f.personId);
  if (f.cameraNames !== undefined) add((p) => `c.name = ANY(${p}::text[])`, f.cameraNames);
  if (f.from) add((p) => `e.occurred_at >= ${p}`, f.from);
  if (f.to) add((p) => `e.occurred_at < ${p}`, f.to);
  if (f.beforeId !== undefined) add((p) => `e.id < ${p}`, f.beforeId);
  if (f.regular) {
    params.push(f.regular.minDays, f.regular.since);
    const n = params.length;
    conds.push(`e.person_id ${f.regular.is ? '' : 'NOT '}IN (${regularsSql(`$${n - 1}`, `$${n}`, '$1')})`);
  }
  let limit = '';
  if (f.limit !== undefined) {
    params.push(f.limit);
    limit = `LIMIT $${params.length}`;
  }
  const r = await q.query<{
    id: number;
    occurred_at: Date;
    camera_name: string;
    person_id: number;
    person_name: string | null;
    face_id: number | null;
    face_uuid: string | null;
    photo_sha256: Buffer | null;
    box_x: number | null;
    box_y: number | null;
    box_width: number | null;
    box_height: number | null;
    similarity: number | null;
    attributes: Record<string, unknown>;
  }>(
    `SELECT e.id, e.occurred_at, c.name AS camera_name, e.person_id, p.name AS person_name, e.face_id, f.uuid AS face_uuid, f.photo_sha256,
            e.box_x, e.box_y, e.box_width, e.box_height, e.similarity, e.attributes
       FROM recognition_events e
       JOIN cameras c ON c.id = e.camera_id
       LEFT JOIN persons p ON p.id = e.person_id
       LEFT JOIN faces f ON f.id = e.face_id
      WHERE ${conds.join(' AND ')}
      ORDER BY e.id DESC ${limit}`,
    params,
  );
  return r.rows.map((row) => ({
    id: Number(row.id),
    occurredAt: row.occurred_at,
    cameraName: row.camera_name,
    personId: Number(row.person_id),
    personName: row.person_name,
    faceId: row.face_id === null ? null : Number(row.face_id),
    faceUuid: row.face_uuid,
    photoSha256: row.photo_sha256,
    box: row.box_x === null ? null : { x: row.box_x, y: row.box_y!, width: row.box_width!, height: row.box_height! },
    similarity: row.similarity,
    attributes: row.attributes,
  }));
}

/** Of `personIds`, those one camera saw (in events of these collections) on at least `minDays` days since `since`. */
export async function regularPersons(q: Queryable, personIds: readonly number[], collectionIds: readonly number[], minDays: number, since: Date): Promise<Set<number>> {
  if (!personIds.length) return new Set();
  const r = await q.query<{ person_id: number }>(
    `SELECT DISTINCT person_id FROM (${regularsSql('$1', '$2', '$3')}) x WHERE person_id = ANY($4::bigint[])`,
    [minDays, since, collectionIds, personIds],
  );
  return new Set(r.rows.map((row) => Number(row.person_id)));
}
