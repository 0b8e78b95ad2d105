// Persons: whoever owns enrolled faces. A person may belong to a collection's namespace (owner_collection_id),
// within which names are unique; persons outside any namespace may share names. Structured
// name fields (surname, patronymic, department) live beside the name.
import type { Queryable } from './db';

export interface Person {
  id: number;
  uuid: string;
  ownerCollectionId: number | null;
  name: string;
  surname: string | null;
  patronymic: string | null;
  department: string | null;
  comment: string | null;
  attributes: Record<string, unknown>;
  recognitionCount: number;
  lastRecognizedAt: Date | null;
  createdAt: Date;
}

export interface NewPerson {
  /** The person's id as clients see it; generated when absent. */
  uuid?: string;
  ownerCollectionId?: number | null;
  name: string;
  surname?: string | null;
  patronymic?: string | null;
  department?: string | null;
  comment?: string | null;
  attributes?: Record<string, unknown>;
}

export type PersonChanges = Partial<Omit<NewPerson, 'ownerCollectionId' | 'uuid'>>;

const COLUMNS = `id, uuid, owner_collection_id, name, surname, patronymic, department, comment, attributes,
  recognition_count, last_recognized_at, created_at`;

interface PersonRow {
  id: number;
  uuid: string;
  owner_collection_id: number | null;
  name: string;
  surname: string | null;
  patronymic: string | null;
  department: string | null;
  comment: string | null;
  attributes: Record<string, unknown>;
  recognition_count: number;
  last_recognized_at: Date | null;
  created_at: Date;
}

function toPerson(r: PersonRow): Person {
  return {
    id: r.id,
    uuid: r.uuid,
    ownerCollectionId: r.owner_collection_id,
    name: r.name,
    surname: r.surname,
    patronymic: r.patronymic,
    department: r.department,
    comment: r.comment,
    attributes: r.attributes,
    recognitionCount: r.recognition_count,
    lastRecognizedAt: r.last_recognized_at,
    createdAt: r.created_at,
  };
}

/** PostgreSQL's unique_violation: e.g. a person name that already exists in its namespace. */
export function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: string })?.code === '23505';
}

export async function createPerson(q: Queryable, p: NewPerson): Promise<Person> {
  const r = await q.query<PersonRow>(
    `INSERT INTO persons (uuid, owner_collection_id, name, surname, patronymic, department, comment, attributes)
     VALUES (coalesce($8::uuid, gen_random_uuid()), $1, $2, $3, $4, $5, $6, $7) RETURNING ${COLUMNS}`,
    [p.ownerCollectionId ?? null, p.name, p.surname ?? null, p.patronymic ?? null, p.department ?? null, p.comment ?? null, p.attributes ?? {}, p.uuid ?? null],
  );
  return toPerson(r.rows[0]);
}

/** The namespace's person of this name, created if absent (safe when two enrolments race). */
export async function ensurePersonByName(q: Queryable, ownerCollectionId: number, name: string): Promise<Person> {
  await q.query(
    `INSERT INTO persons (owner_collection_id, name) VALUES ($1, $2)
     ON CONFLICT (owner_collection_id, name) WHERE owner_collection_id IS NOT NULL DO NOTHING`,
    [ownerCollectionId, name],
  );
  return (await findPersonByName(q, ownerCollectionId, name))!;
}

export async function getPerson(q: Queryable, id: number): Promise<Person | undefined> {
  const r = await q.query<PersonRow>(`SELECT ${COLUMNS} FROM persons WHERE id = $1`, [id]);
  return r.rows[0] && toPerson(r.rows[0]);
}

export async function getPersonByUuid(q: Queryable, uuid: string): Promise<Person | undefined> {
  if (!isUuid(uuid)) return undefined;
  const r = await q.query<PersonRow>(`SELECT ${COLUMNS} FROM persons WHERE uuid = $1`, [uuid]);
  return r.rows[0] && toPerson(r.rows[0]);
}

/** The namespace's person of this name; with ignoreCase, an exact match wins, else the oldest case-insensitive one. */
export async function findPersonByName(
  q: Queryable,
  ownerCollectionId: number,
  name: string,
  opts: { ignoreCase?: boolean } = {},
): Promise<Person | undefined> {
  const r = await q.query<PersonRow>(
    opts.ignoreCase
      ? `SELECT ${COLUMNS} FROM persons WHERE owner_collection_id = $1 AND lower(name) = lower($2) ORDER BY name = $2 DESC, id LIMIT 1`
      : `SELECT ${COLUMNS} FROM persons WHERE owner_collection_id = $1 AND name = $2`,
    [ownerCollectionId, name],
  );
  return r.rows[0] && toPerson(r.rows[0]);
}

export async function getPersonsByIds(q: Queryable, ids: number[]): Promise<Map<number, Person>> {
  const r = await q.query<PersonRow>(`SELECT ${COLUMNS} FROM persons WHERE id = ANY($1::bigint[])`, [ids]);
  return new Map(r.rows.map((row) => [row.id, toPerson(row)]));
}

export interface PersonFilter {
  ids?: readonly number[];
  ownerCollectionId?: number;
  /** Persons in one of these namespaces or with a face in one of these collections. */
  visibleIn?: readonly number[];
  /** Persons with at least one face in one of these collections. */
  collectionIds?: readonly number[];
  name?: string;
  /** Persons whose attributes contain these (JSON containment). */
  attributes?: Record<string, unknown>;
}

export interface Page {
  /** 0-based page number. */
  page: number;
  size: number;
}

/** name: by name, then id; created: oldest first; newest: newest first. */
export type PersonOrder = 'name' | 'created' | 'newest';

const PERSON_ORDER: Record<PersonOrder, string> = { name: 'p.name, p.id', created: 'p.id', newest: 'p.id DESC' };

function personWhere(f: PersonFilter): { where: string; params: unknown[] } {
  const conds: string[] = [];
  const params: unknown[] = [];
  if (f.ids !== undefined) {
    params.push(f.ids);
    conds.push(`p.id = ANY($${params.length}::bigint[])`);
  }
  if (f.ownerCollectionId !== undefined) {
    params.push(f.ownerCollectionId);
    conds.push(`p.owner_collection_id = $${params.length}`);
  }
  if (f.visibleIn !== undefined) {
    params.push(f.visibleIn);
    const n = params.length;
    conds.push(`(p.owner_collection_id = ANY($${n}::bigint[]) OR EXISTS (SELECT 1 FROM faces f JOIN face_collections fc ON fc.face_id = f.id
                   WHERE f.person_id = p.id AND fc.collection_id = ANY($${n}::bigint[])))`);
  }
  if (f.collectionIds !== undefined) {
    params.push(f.collectionIds);
    conds.push(`EXISTS (SELECT 1 FROM faces f JOIN face_collections fc ON fc.face_id = f.id
                         WHERE f.person_id = p.id AND fc.collection_id = ANY($${params.length}::bigint[]))`);
  }
  if (f.name !== undefined) {
    params.push(f.name);
    conds.push(`p.name = $${params.length}`);
  }
  if (f.attributes !== undefined) {
    params.push(JSON.stringify(f.attributes));
    conds.push(`p.attributes @> $${params.length}::jsonb`);
  }
  return { where: conds.length ? `WHERE ${conds.join(' AND ')}` : '', params };
}

/** Persons in the given order (by name by default), optionally one page of them. */
export async function listPersons(q: Queryable, filter: PersonFilter = {}, page?: Page, order: PersonOrder = 'name'): Promise<Person[]> {
  const { where, params } = personWhere(filter);
  let limit = '';
  if (page) {
    params.push(page.size, page.page * page.size);
    limit = `LIMIT $${params.length - 1} OFFSET $${params.length}`;
  }
  const r = await q.query<PersonRow>(`SELECT ${COLUMNS} FROM persons p ${where} ORDER BY ${PERSON_ORDER[order]} ${limit}`, params);
  return r.rows.map(toPerson);
}

export async function countPersons(q: Queryable, filter: PersonFilter = {}): Promise<number> {
  const { where, params } = personWhere(filter);
  const r = await q.query<{ n: number }>(`SELECT count(*)::int AS n FROM persons p ${where}`, params);
  return r.rows[0].n;
}

/** Changes the given fields; throws a unique violation (see isUniqueViolation) if a rename collides. */
export async function updatePerson(q: Queryable, id: number, changes: PersonChanges): Promise<Person | undefined> {
  const columns: Record<keyof PersonChanges, string> = {
    name: 'name',
    surname: 'surname',
    patronymic: 'patronymic',
    department: 'department',
    comment: 'comment',
    attributes: 'attributes',
  };
  const sets: string[] = [];
  const params: unknown[] = [id];
  for (const [key, column] of Object.entries(columns) as [keyof PersonChanges, string][]) {
    if (changes[key] === undefined) continue;
    params.push(changes[key]);
    sets.push(`${column} = $${params.length}`);
  }
  if (!sets.length) return getPerson(q, id);
  const r = await q.query<PersonRow>(`UPDATE persons SET ${sets.join(', ')} WHERE id = $1 RETURNING ${COLUMNS}`, params);
  return r.rows[0] && toPerson(r.rows[0]);
}

/** Moves every face and event of `fromId` to `intoId` and deletes `fromId`; statistics are summed. Run it in a transaction. */
export async function mergePersons(q: Queryable, fromId: number, intoId: number): Promise<number> {
  const moved = await q.query(`UPDATE faces SET person_id = $2 WHERE person_id = $1`, [fromId, intoId]);
  await q.query(
    `UPDATE persons p SET recognition_count = p.recognition_count + f.recognition_count,
            last_recognized_at = greatest(p.last_recognized_at, f.last_recognized_at)
       FROM persons f WHERE p.id = $2 AND f.id = $1`,
    [fromId, intoId],
  );
  await q.query(`UPDATE recognition_events SET person_id = $2 WHERE person_id = $1`, [fromId, intoId]);
  await q.query(`DELETE FROM persons WHERE id = $1`, [fromId]);
  return moved.rowCount;
}

/** Deletes the person and, by cascade, the person's faces (and their photos). */
export async function deletePerson(q: Queryable, id: number): Promise<boolean> {
  const r = await q.query(`DELETE FROM persons WHERE id = $1`, [id]);
  return r.rowCount > 0;
}

/** Deletes every person of the collection's namespace (and, by cascade, their faces); returns how many. */
export async function deletePersonsOwnedBy(q: Queryable, ownerCollectionId: number): Promise<number> {
  const r = await q.query(`DELETE FROM persons WHERE owner_collection_id = $1`, [ownerCollectionId]);
  return r.rowCount;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True for a syntactically valid UUID; lookups by a malformed one return nothing instead of an SQL error. */
export function isUuid(s: string): boolean {
  return UUID_RE.test(s);
}
