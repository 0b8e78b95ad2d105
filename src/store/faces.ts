// Faces: one enrolled face each, with its template (the engine's versioned binary format), its embedding
// (pgvector, for the SQL search path and the in-memory index loader), and membership in collections.
import type { Box } from '../domain/types';
import type { Queryable } from './db';
import { isUuid } from './persons';
import { insertPhoto, sha256 } from './photos';
import { vectorFromSql, vectorToSql } from './vector';

export interface Face {
  id: number;
  uuid: string;
  personId: number | null;
  /** The person's name, when the face has a person. */
  personName: string | null;
  /** The collections the face is in, ascending. */
  collectionIds: number[];
  box: Box | null;
  photoId: number | null;
  photoSha256: Buffer | null;
  quality: number | null;
  attributes: Record<string, unknown>;
  cameraId: number | null;
  autoCreated: boolean;
  createdAt: Date;
}

export interface FaceTemplate {
  template: Buffer;
  embedding: Float32Array;
}

export interface NewFace {
  personId?: number | null;
  box?: Box | null;
  /** The photo the face came from: its hash is always kept, its bytes only when `store` is true (SAVE_IMAGES). */
  photo?: { bytes: Buffer; mimeType?: string | null; store: boolean };
  /** The photo's hash when the photo itself is not at hand (a face imported from an export). */
  photoSha256?: Buffer | null;
  template: Buffer;
  embedding: Float32Array;
  quality?: number | null;
  attributes?: Record<string, unknown>;
  cameraId?: number | null;
  autoCreated?: boolean;
  collectionIds?: readonly number[];
}

const COLUMNS = `f.id, f.uuid, f.person_id, p.name AS person_name,
  ARRAY(SELECT fc.collection_id FROM face_collections fc WHERE fc.face_id = f.id ORDER BY 1) AS collection_ids, f.box_x, f.box_y, f.box_width, f.box_height, f.photo_id,
  f.photo_sha256, f.quality, f.attributes, f.camera_id, f.auto_created, f.created_at`;
const FROM = 'faces f LEFT JOIN persons p ON p.id = f.person_id';

interface FaceRow {
  id: number;
  uuid: string;
  person_id: number | null;
  person_name: string | null;
  collection_ids: number[];
  box_x: number | null;
  box_y: number | null;
  box_width: number | null;
  box_height: number | null;
  photo_id: number | null;
  photo_sha256: Buffer | null;
  quality: number | null;
  attributes: Record<string, unknown>;
  camera_id: number | null;
  auto_created: boolean;
  created_at: Date;
}

function toFace(r: FaceRow): Face {
  return {
    id: r.id,
    uuid: r.uuid,
    personId: r.person_id,
    personName: r.person_name,
    collectionIds: r.collection_ids.map(Number),
    box: r.box_x === null ? null : { x: r.box_x, y: r.box_y!, width: r.box_width!, height: r.box_height! },
    photoId: r.photo_id,
    photoSha256: r.photo_sha256,
    quality: r.quality,
    attributes: r.attributes,
    cameraId: r.camera_id,
    autoCreated: r.auto_created,
    createdAt: r.created_at,
  };
}

/** Inserts the face (its photo too, when stored) and its collection memberships. */
export async function insertFace(q: Queryable, f: NewFace): Promise<Face> {
  const photoId = f.photo?.store ? await insertPhoto(q, f.photo.bytes, f.photo.mimeType) : null;
  const r = await q.query<{ id: number }>(
    `INSERT INTO faces (person_id, box_x, box_y, box_width, box_height, photo_id, photo_sha256, template, embedding,
                        quality, attributes, camera_id, auto_created)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id`,
    [
      f.personId ?? null,
      f.box ? Math.round(f.box.x) : null,
      f.box ? Math.round(f.box.y) : null,
      f.box ? Math.round(f.box.width) : null,
      f.box ? Math.round(f.box.height) : null,
      photoId,
      f.photo ? sha256(f.photo.bytes) : (f.photoSha256 ?? null),
      f.template,
      vectorToSql(f.embedding),
      f.quality ?? null,
      f.attributes ?? {},
      f.cameraId ?? null,
      f.autoCreated ?? false,
    ],
  );
  const id = r.rows[0].id;
  if (f.collectionIds?.length) await addFaceToCollections(q, id, f.collectionIds);
  return (await getFace(q, id))!;
}

export async function getFace(q: Queryable, id: number): Promise<Face | undefined> {
  const r = await q.query<FaceRow>(`SELECT ${COLUMNS} FROM ${FROM} WHERE f.id = $1`, [id]);
  return r.rows[0] && toFace(r.rows[0]);
}

export async function getFaceByUuid(q: Queryable, uuid: string): Promise<Face | undefined> {
  if (!isUuid(uuid)) return undefined;
  const r = await q.query<FaceRow>(`SELECT ${COLUMNS} FROM ${FROM} WHERE f.uuid = $1`, [uuid]);
  return r.rows[0] && toFace(r.rows[0]);
}

/** Faces by id (e.g. the ids a search returned), keyed by id; missing ids are simply absent. */
export async function getFacesByIds(q: Queryable, ids: number[]): Promise<Map<number, Face>> {
  const r = await q.query<FaceRow>(`SELECT ${COLUMNS} FROM ${FROM} WHERE f.id = ANY($1::bigint[])`, [ids]);
  return new Map(r.rows.map((row) => [row.id, toFace(row)]));
}

export async function getFacesByUuids(q: Queryable, uuids: string[]): Promise<Map<string, Face>> {
  const valid = uuids.filter(isUuid);
  const r = await q.query<FaceRow>(`SELECT ${COLUMNS} FROM ${FROM} WHERE f.uuid = ANY($1::uuid[])`, [valid]);
  return new Map(r.rows.map((row) => [row.uuid, toFace(row)]));
}

/** Templates and embeddings of the given faces, keyed by id. */
export async function getFaceTemplates(q: Queryable, ids: number[]): Promise<Map<number, FaceTemplate>> {
  const r = await q.query<{ id: number; template: Buffer; embedding: string }>(
    `SELECT id, template, embedding::text AS embedding FROM faces WHERE id = ANY($1::bigint[])`,
    [ids],
  );
  return new Map(r.rows.map((row) => [row.id, { template: row.template, embedding: vectorFromSql(row.embedding) }]));
}

export interface FaceFilter {
  ids?: readonly number[];
  /** Faces in at least one of these collections. */
  collectionIds?: readonly number[];
  personId?: number;
  /** Faces whose person has exactly this name. */
  personName?: string;
  /** Faces of any of these persons. */
  personIds?: readonly number[];
  /** Faces whose person's name is unique within this collection (the person's namespace). */
  ownerCollectionId?: number;
  cameraId?: number;
  uuids?: readonly string[];
  /** Keyset paging: ids above / below. */
  afterId?: number;
  beforeId?: number;
}

function faceWhere(filter: FaceFilter): { where: string; params: unknown[] } {
  const conds: string[] = [];
  const params: unknown[] = [];
  const add = (sql: string, value: unknown) => {
    params.push(value);
    conds.push(sql.replace('?', `$${params.length}`));
  };
  if (filter.collectionIds !== undefined)
    add('EXISTS (SELECT 1 FROM face_collections fc WHERE fc.face_id = f.id AND fc.collection_id = ANY(?::bigint[]))', filter.collectionIds);
  if (filter.ids !== undefined) add('f.id = ANY(?::bigint[])', filter.ids);
  if (filter.personId !== undefined) add('f.person_id = ?', filter.personId);
  if (filter.personName !== undefined) add('p.name = ?', filter.personName);
  if (filter.personIds !== undefined) add('f.person_id = ANY(?::bigint[])', filter.personIds);
  if (filter.ownerCollectionId !== undefined) add('p.owner_collection_id = ?', filter.ownerCollectionId);
  if (filter.cameraId !== undefined) add('f.camera_id = ?', filter.cameraId);
  if (filter.uuids !== undefined) add('f.uuid = ANY(?::uuid[])', filter.uuids.filter(isUuid));
  if (filter.afterId !== undefined) add('f.id > ?', filter.afterId);
  if (filter.beforeId !== undefined) add('f.id < ?', filter.beforeId);
  return { where: conds.length ? `WHERE ${conds.join(' AND ')}` : '', params };
}

export interface FacePage {
  /** 0-based page of `size` faces (offset paging), or just the first `size` (with afterId / beforeId: keyset). */
  page?: number;
  size: number;
  /** Enrolment order (default) or newest first. */
  order?: 'asc' | 'desc';
}

/** Faces in enrolment order (id), optionally one page of them. */
export async function listFaces(q: Queryable, filter: FaceFilter = {}, page?: FacePage): Promise<Face[]> {
  const { where, params } = faceWhere(filter);
  let limit = '';
  if (page) {
    params.push(page.size, (page.page ?? 0) * page.size);
    limit = `LIMIT $${params.length - 1} OFFSET $${params.length}`;
  }
  const order = page?.order === 'desc' ? 'DESC' : '';
  const r = await q.query<FaceRow>(`SELECT ${COLUMNS} FROM ${FROM} ${where} ORDER BY f.id ${order} ${limit}`, params);
  return r.rows.map(toFace);
}

/** Ids of the matching faces, ascending (for deletes and index refreshes: no row decoding). */
export async function listFaceIds(q: Queryable, filter: FaceFilter): Promise<number[]> {
  const { where, params } = faceWhere(filter);
  const r = await q.query<{ id: number }>(`SELECT f.id FROM ${FROM} ${where} ORDER BY f.id`, params);
  return r.rows.map((row) => row.id);
}

export async function countFaces(q: Queryable, filter: FaceFilter = {}): Promise<number> {
  const { where, params } = faceWhere(filter);
  const r = await q.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${FROM} ${where}`, params);
  return r.rows[0].n;
}

export async function addFaceToCollections(q: Queryable, faceId: number, collectionIds: readonly number[]): Promise<void> {
  await q.query(
    `INSERT INTO face_collections (collection_id, face_id) SELECT c, $1 FROM unnest($2::bigint[]) AS c ON CONFLICT DO NOTHING`,
    [faceId, collectionIds],
  );
}

export async function removeFaceFromCollections(q: Queryable, faceId: number, collectionIds: readonly number[]): Promise<number> {
  const r = await q.query(`DELETE FROM face_collections WHERE face_id = $1 AND collection_id = ANY($2::bigint[])`, [faceId, collectionIds]);
  return r.rowCount;
}

export async function getFaceCollectionIds(q: Queryable, faceId: number): Promise<number[]> {
  const r = await q.query<{ collection_id: number }>(`SELECT collection_id FROM face_collections WHERE face_id = $1 ORDER BY 1`, [faceId]);
  return r.rows.map((row) => row.collection_id);
}

/** Replaces a face's template and embedding (the index is told through the change notification). */
export async function setFaceTemplate(q: Queryable, id: number, t: FaceTemplate): Promise<boolean> {
  const r = await q.query(`UPDATE faces SET template = $2, embedding = $3 WHERE id = $1`, [id, t.template, vectorToSql(t.embedding)]);
  return r.rowCount > 0;
}

export async function setFaceAttributes(q: Queryable, id: number, attributes: Record<string, unknown>): Promise<boolean> {
  const r = await q.query(`UPDATE faces SET attributes = $2 WHERE id = $1`, [id, attributes]);
  return r.rowCount > 0;
}

/** Records the camera a face was captured by. */
export async function setFaceCamera(q: Queryable, id: number, cameraId: number | null): Promise<boolean> {
  const r = await q.query(`UPDATE faces SET camera_id = $2 WHERE id = $1`, [id, cameraId]);
  return r.rowCount > 0;
}

export async function setFacePerson(q: Queryable, id: number, personId: number | null): Promise<boolean> {
  const r = await q.query(`UPDATE faces SET person_id = $2 WHERE id = $1`, [id, personId]);
  return r.rowCount > 0;
}

export async function deleteFace(q: Queryable, id: number): Promise<boolean> {
  const r = await q.query(`DELETE FROM faces WHERE id = $1`, [id]);
  return r.rowCount > 0;
}

/** Deletes the faces that exist among `ids` (unknown ids are ignored); returns the deleted faces. */
export async function deleteFaces(q: Queryable, ids: number[]): Promise<Face[]> {
  const faces = await getFacesByIds(q, ids);
  await q.query(`DELETE FROM faces WHERE id = ANY($1::bigint[])`, [[...faces.keys()]]);
  return [...new Set(ids)].filter((id) => faces.has(id)).map((id) => faces.get(id)!);
}

/** Deletes every face of the person (the person stays); returns how many. */
export async function deleteFacesOfPerson(q: Queryable, personId: number): Promise<number> {
  const r = await q.query(`DELETE FROM faces WHERE person_id = $1`, [personId]);
  return r.rowCount;
}

/** Per person name (blank names left out): how many matching faces, and the first of them (lowest id). */
export async function facesByPersonName(q: Queryable, filter: FaceFilter): Promise<{ name: string; count: number; firstFaceId: number }[]> {
  const { where, params } = faceWhere(filter);
  const r = await q.query<{ name: string; n: number; first: number }>(
    `SELECT p.name, count(*)::int AS n, min(f.id) AS first FROM ${FROM} ${where ? `${where} AND` : 'WHERE'} p.name <> ''
      GROUP BY p.name ORDER BY p.name`,
    params,
  );
  return r.rows.map((row) => ({ name: row.name, count: row.n, firstFaceId: Number(row.first) }));
}
