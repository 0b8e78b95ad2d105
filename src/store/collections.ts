// Face collections: named sets of enrolled faces (a key's own collection, a gallery, a recognition server).
import type { Queryable } from './db';

export interface Collection {
  id: number;
  name: string;
  /** false: searched through pgvector SQL instead of the in-memory matcher. */
  inMemory: boolean;
  /** Bumped by every change of the collection's faces. */
  version: number;
  attributes: Record<string, unknown>;
  createdAt: Date;
}

const COLUMNS = 'id, name, in_memory, version, attributes, created_at';

interface CollectionRow {
  id: number;
  name: string;
  in_memory: boolean;
  version: number;
  attributes: Record<string, unknown>;
  created_at: Date;
}

function toCollection(r: CollectionRow): Collection {
  return { id: r.id, name: r.name, inMemory: r.in_memory, version: r.version, attributes: r.attributes, createdAt: r.created_at };
}

export interface NewCollection {
  name: string;
  inMemory?: boolean;
  attributes?: Record<string, unknown>;
}

export async function createCollection(q: Queryable, c: NewCollection): Promise<Collection> {
  const r = await q.query<CollectionRow>(
    `INSERT INTO collections (name, in_memory, attributes) VALUES ($1, $2, $3) RETURNING ${COLUMNS}`,
    [c.name, c.inMemory ?? true, c.attributes ?? {}],
  );
  return toCollection(r.rows[0]);
}

/** Returns the collection with this name, creating it if absent (safe when two requests race). */
export async function ensureCollection(q: Queryable, c: NewCollection): Promise<Collection> {
  await q.query(`INSERT INTO collections (name, in_memory, attributes) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING`, [
    c.name,
    c.inMemory ?? true,
    c.attributes ?? {},
  ]);
  return (await getCollectionByName(q, c.name))!;
}

export async function getCollection(q: Queryable, id: number): Promise<Collection | undefined> {
  const r = await q.query<CollectionRow>(`SELECT ${COLUMNS} FROM collections WHERE id = $1`, [id]);
  return r.rows[0] && toCollection(r.rows[0]);
}

export async function getCollectionByName(q: Queryable, name: string): Promise<Collection | undefined> {
  const r = await q.query<CollectionRow>(`SELECT ${COLUMNS} FROM collections WHERE name = $1`, [name]);
  return r.rows[0] && toCollection(r.rows[0]);
}

export async function listCollections(q: Queryable): Promise<Collection[]> {
  const r = await q.query<CollectionRow>(`SELECT ${COLUMNS} FROM collections ORDER BY id`);
  return r.rows.map(toCollection);
}

/**
 * Moves a collection into or out of memory. Bumps its version and tells every instance to reload it (or
 * drop it from memory) when the change commits.
 */
export async function setCollectionInMemory(q: Queryable, id: number, inMemory: boolean): Promise<boolean> {
  const r = await q.query(
    `WITH changed AS (UPDATE collections SET in_memory = $2, version = version + 1 WHERE id = $1 RETURNING id, version)
     SELECT pg_notify('faceserver_faces', json_build_object('c', id, 'op', 'reload', 'v', version)::text) FROM changed`,
    [id, inMemory],
  );
  return r.rows.length > 0;
}

export async function renameCollection(q: Queryable, id: number, name: string): Promise<boolean> {
  const r = await q.query(`UPDATE collections SET name = $2 WHERE id = $1`, [id, name]);
  return r.rowCount > 0;
}

/** Deletes the collection and its memberships; faces stay (they may be in other collections). */
export async function deleteCollection(q: Queryable, id: number): Promise<boolean> {
  const r = await q.query(`DELETE FROM collections WHERE id = $1`, [id]);
  return r.rowCount > 0;
}

export async function countCollectionFaces(q: Queryable, id: number): Promise<number> {
  const r = await q.query<{ n: number }>(`SELECT count(*)::int AS n FROM face_collections WHERE collection_id = $1`, [id]);
  return r.rows[0].n;
}

/** Collections (the given ones, or all) with their face and person counts, oldest first. */
export async function listCollectionSummaries(
  q: Queryable,
  ids?: readonly number[],
): Promise<(Collection & { faces: number; persons: number })[]> {
  const r = await q.query<CollectionRow & { faces: number; persons: number }>(
    `SELECT ${COLUMNS},
            (SELECT count(*)::int FROM face_collections fc WHERE fc.collection_id = c.id) AS faces,
            (SELECT count(DISTINCT f.person_id)::int FROM face_collections fc JOIN faces f ON f.id = fc.face_id
              WHERE fc.collection_id = c.id) AS persons
       FROM collections c WHERE $1::bigint[] IS NULL OR c.id = ANY($1::bigint[]) ORDER BY c.id`,
    [ids ?? null],
  );
  return r.rows.map((row) => ({ ...toCollection(row), faces: row.faces, persons: row.persons }));
}
