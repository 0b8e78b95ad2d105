// Cameras that recognition events come from.
import type { Queryable } from './db';
import { isUuid } from './persons';

export interface Camera {
  id: number;
  uuid: string;
  name: string;
  url: string | null;
  comment: string | null;
  attributes: Record<string, unknown>;
  createdAt: Date;
}

export interface NewCamera {
  name: string;
  url?: string | null;
  comment?: string | null;
  attributes?: Record<string, unknown>;
}

const COLUMNS = 'id, uuid, name, url, comment, attributes, created_at';

interface CameraRow {
  id: number;
  uuid: string;
  name: string;
  url: string | null;
  comment: string | null;
  attributes: Record<string, unknown>;
  created_at: Date;
}

const toCamera = (r: CameraRow): Camera => ({
  id: r.id,
  uuid: r.uuid,
  name: r.name,
  url: r.url,
  comment: r.comment,
  attributes: r.attributes,
  createdAt: r.created_at,
});

export async function createCamera(q: Queryable, c: NewCamera): Promise<Camera> {
  const r = await q.query<CameraRow>(`INSERT INTO cameras (name, url, comment, attributes) VALUES ($1, $2, $3, $4) RETURNING ${COLUMNS}`, [
    c.name,
    c.url ?? null,
    c.comment ?? null,
    c.attributes ?? {},
  ]);
  return toCamera(r.rows[0]);
}

/** The camera of this name, created if absent. */
export async function ensureCamera(q: Queryable, name: string): Promise<Camera> {
  await q.query(`INSERT INTO cameras (name) VALUES ($1) ON CONFLICT (name) DO NOTHING`, [name]);
  const r = await q.query<CameraRow>(`SELECT ${COLUMNS} FROM cameras WHERE name = $1`, [name]);
  return toCamera(r.rows[0]);
}

export async function getCamera(q: Queryable, id: number): Promise<Camera | undefined> {
  const r = await q.query<CameraRow>(`SELECT ${COLUMNS} FROM cameras WHERE id = $1`, [id]);
  return r.rows[0] && toCamera(r.rows[0]);
}

export async function getCameraByUuid(q: Queryable, uuid: string): Promise<Camera | undefined> {
  if (!isUuid(uuid)) return undefined;
  const r = await q.query<CameraRow>(`SELECT ${COLUMNS} FROM cameras WHERE uuid = $1`, [uuid]);
  return r.rows[0] && toCamera(r.rows[0]);
}

export async function listCameras(q: Queryable): Promise<Camera[]> {
  const r = await q.query<CameraRow>(`SELECT ${COLUMNS} FROM cameras ORDER BY id`);
  return r.rows.map(toCamera);
}

export async function deleteCamera(q: Queryable, id: number): Promise<boolean> {
  const r = await q.query(`DELETE FROM cameras WHERE id = $1`, [id]);
  return r.rowCount > 0;
}
