// Subject and example queries the CompreFace dialect's semantics need beyond the shared repositories:
// subject names are matched case-insensitively within a collection (as CompreFace does), and "all examples of
// a collection" are the faces of the persons that collection owns.
import type { Queryable } from './db';
import { findPersonByName, type Person } from './persons';

/** The collection's subject whose name equals `name` ignoring case (an exact match wins). */
export async function findSubject(q: Queryable, collectionId: number, name: string): Promise<Person | undefined> {
  const exact = await findPersonByName(q, collectionId, name);
  if (exact) return exact;
  const r = await q.query<{ name: string }>(
    `SELECT name FROM persons WHERE owner_collection_id = $1 AND lower(name) = lower($2) ORDER BY id LIMIT 1`,
    [collectionId, name],
  );
  return r.rows[0] ? findPersonByName(q, collectionId, r.rows[0].name) : undefined;
}

/** Subject names of the collection, in creation order. */
export async function listSubjectNames(q: Queryable, collectionId: number): Promise<string[]> {
  const r = await q.query<{ name: string }>(`SELECT name FROM persons WHERE owner_collection_id = $1 ORDER BY id`, [collectionId]);
  return r.rows.map((row) => row.name);
}

/** Number of faces belonging to the persons the collection owns. */
export async function countOwnedFaces(q: Queryable, collectionId: number, personId?: number): Promise<number> {
  const r = await q.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM faces f JOIN persons p ON p.id = f.person_id
      WHERE p.owner_collection_id = $1 AND ($2::bigint IS NULL OR p.id = $2)`,
    [collectionId, personId ?? null],
  );
  return r.rows[0].n;
}

/** The face with this UUID if its person belongs to the collection. */
export async function findOwnedFaceId(q: Queryable, collectionId: number, uuid: string): Promise<number | undefined> {
  const r = await q.query<{ id: number }>(
    `SELECT f.id FROM faces f JOIN persons p ON p.id = f.person_id WHERE f.uuid = $1::uuid AND p.owner_collection_id = $2`,
    [uuid, collectionId],
  );
  return r.rows[0]?.id;
}

/** Ids of the faces with these UUIDs whose persons belong to the collection (unknown UUIDs are left out). */
export async function findOwnedFaceIds(q: Queryable, collectionId: number, uuids: string[]): Promise<number[]> {
  const r = await q.query<{ id: number }>(
    `SELECT f.id FROM faces f JOIN persons p ON p.id = f.person_id WHERE f.uuid = ANY($1::uuid[]) AND p.owner_collection_id = $2
      ORDER BY array_position($1::uuid[], f.uuid)`,
    [uuids, collectionId],
  );
  return r.rows.map((row) => row.id);
}

/** Ids of the faces of the persons the collection owns (one person's when personId is given). */
export async function ownedFaceIds(q: Queryable, collectionId: number, personId?: number): Promise<number[]> {
  const r = await q.query<{ id: number }>(
    `SELECT f.id FROM faces f JOIN persons p ON p.id = f.person_id
      WHERE p.owner_collection_id = $1 AND ($2::bigint IS NULL OR p.id = $2) ORDER BY f.id`,
    [collectionId, personId ?? null],
  );
  return r.rows.map((row) => row.id);
}
