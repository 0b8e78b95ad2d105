// Bulk enrolment and export (`faceserver import` / `faceserver export`), behind one interface with two ends
// like key management: LocalBulkAdmin works on a database (inside the server, behind the admin API; and in the
// CLI when no server runs), RemoteBulkAdmin (src/cli/bulk-client.ts) calls a running server's admin API.
// Photos are enrolled one per call, as the console enrols them (the dominant face, the same quality rule, the
// person named in the collection's namespace); exported faces come back as their templates, without the
// engine, so a collection recognizes identically after an export and an import.
import { DomainError } from '../domain/errors';
import type { FaceChangeSink } from '../domain/face-search';
import type { FaceService } from '../domain/faces';
import { checkPersonName } from '../domain/persons';
import { ENROL_ATTRIBUTES, enrolOutcomeOf, refuseLowQuality, type EnrolOutcome } from '../console/enrolment';
import { Engine } from '../engine/engine';
import { ensureCollection, getCollection, getCollectionByName } from '../store/collections';
import { COLLECTION_NAME_MAX } from '../domain/keys';
import type { Db } from '../store/db';
import { getFacesByIds, getFaceTemplates, insertFace } from '../store/faces';
import { getFacePhoto } from '../store/photos';
import { ensurePersonByName, getPersonsByIds, updatePerson } from '../store/persons';
import { EMBEDDING_DIM, type Box } from '../domain/types';

/** How many faces one export page or one import batch holds at most. */
export const BULK_PAGE_MAX = 500;

export interface BulkCapacity {
  /** Inference threads of the engine that enrols the photos. */
  workers: number;
  /** Requests that may wait for one; more are refused as busy. */
  queueSize: number;
}

/** A face already in the collection, as a re-run of an import recognizes it. */
export interface EnrolledFace {
  id: number;
  /** Hex SHA-256 of the photo it was enrolled from (null when it came from an embedding). */
  photoSha256: string | null;
  /** Hex SHA-256 of its template. */
  templateSha256: string;
  person: string | null;
}

export interface PhotoResult {
  outcome: EnrolOutcome;
  /** Why it was refused (no face, several faces, low quality, unreadable). */
  message?: string;
  face?: string;
}

/** A person as exported: the fields a collection's person carries. */
export interface ExportedPerson {
  uuid: string;
  name: string;
  surname: string | null;
  patronymic: string | null;
  department: string | null;
  comment: string | null;
  attributes: Record<string, unknown>;
}

export interface ExportedFace {
  uuid: string;
  /** The person's uuid (one of the page's persons), or null. */
  person: string | null;
  box: Box | null;
  quality: number | null;
  attributes: Record<string, unknown>;
  photoSha256: string | null;
  /** The engine's template, base64: the embedding with its model and layout (its values as halves). */
  template: string;
  /** The embedding as stored (searched), base64 of 512 little-endian float32. */
  embedding: string;
  /** The stored photo, base64, when asked for and kept. */
  photo?: { data: string; mimeType: string | null };
  createdAt: string;
}

export interface ExportPage {
  faces: ExportedFace[];
  persons: ExportedPerson[];
}

/** A face to import: an exported face with its person's fields instead of a reference. */
export interface ImportedFace {
  person: Omit<ExportedPerson, 'uuid'> | null;
  box: Box | null;
  quality: number | null;
  attributes: Record<string, unknown>;
  photoSha256: string | null;
  template: string;
  /** The exact embedding (base64 float32); absent: the template's. */
  embedding?: string;
  photo?: { data: string; mimeType: string | null };
}

export interface BulkAdmin {
  readonly where: string;
  capacity(): Promise<BulkCapacity>;
  /** The collection of this name; created if absent when `create`, else COLLECTION_NOT_FOUND. */
  collection(name: string, create: boolean): Promise<{ id: number; name: string }>;
  /** One page of the collection's faces (ids above `afterId`), for a re-run to skip what is enrolled. */
  enrolled(collectionId: number, afterId: number, limit: number): Promise<EnrolledFace[]>;
  /** Enrols the photo's dominant face for the named person; refusals are outcomes, not errors. */
  enrolPhoto(collectionId: number, name: string, image: Buffer): Promise<PhotoResult>;
  /** Imports exported faces (their templates); returns how many were written. */
  importFaces(collectionId: number, faces: ImportedFace[]): Promise<number>;
  /** One page of the collection's faces (ids above `afterId`) with templates, their persons, photos if asked. */
  exportPage(collectionId: number, afterId: number, limit: number, photos: boolean): Promise<ExportPage & { lastId: number }>;
  close(): Promise<void>;
}

/** The engine's workers and queue size. */
export function engineCapacity(engine: Engine): BulkCapacity {
  const { workers, queueSize } = engine.info();
  return { workers, queueSize };
}

const hex = (b: Buffer | null) => (b ? b.toString('hex') : null);

function checkLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > BULK_PAGE_MAX) {
    throw new DomainError('INVALID_ARGUMENT', `limit must be 1 to ${BULK_PAGE_MAX}`, { param: 'limit', value: limit });
  }
}

function encodeEmbedding(e: Float32Array): string {
  const b = Buffer.alloc(e.length * 4);
  for (let i = 0; i < e.length; i++) b.writeFloatLE(e[i], i * 4);
  return b.toString('base64');
}

function decodeEmbedding(text: unknown, param: string): Float32Array {
  const b = typeof text === 'string' ? Buffer.from(text, 'base64') : Buffer.alloc(0);
  if (b.length !== EMBEDDING_DIM * 4) throw new DomainError('EMBEDDING_SIZE', `${param} must be ${EMBEDDING_DIM} float32 values in base64`, { param });
  const e = new Float32Array(EMBEDDING_DIM);
  let norm = 0;
  for (let i = 0; i < EMBEDDING_DIM; i++) {
    e[i] = b.readFloatLE(i * 4);
    norm += e[i] * e[i];
  }
  if (!Number.isFinite(norm) || Math.abs(norm - 1) > 1e-3) throw new DomainError('INVALID_ARGUMENT', `${param} must be a unit vector`, { param });
  return e;
}

/** Checks an imported face's fields (they come from a file or a request) and decodes its template. */
function decodeImported(f: ImportedFace, i: number): { template: Buffer; embedding: Float32Array; photo?: Buffer } {
  const at = `faces[${i}]`;
  if (!f || typeof f !== 'object') throw new DomainError('INVALID_ARGUMENT', `${at} must be an object`, { param: at });
  if (typeof f.template !== 'string') throw new DomainError('MISSING_ARGUMENT', `${at}.template is required`, { param: `${at}.template` });
  if (f.person !== null && f.person !== undefined) {
    if (typeof f.person !== 'object') throw new DomainError('INVALID_ARGUMENT', `${at}.person must be an object or null`, { param: `${at}.person` });
    checkPersonName(f.person.name, `${at}.person.name`);
  }
  if (f.photo !== undefined && (typeof f.photo !== 'object' || f.photo === null || typeof f.photo.data !== 'string')) {
    throw new DomainError('INVALID_ARGUMENT', `${at}.photo must be {data: base64, mimeType}`, { param: `${at}.photo` });
  }
  const box = f.box as unknown as Record<string, unknown> | null | undefined;
  if (box !== null && box !== undefined && !(typeof box === 'object' && ['x', 'y', 'width', 'height'].every((k) => Number.isFinite(box[k])))) {
    throw new DomainError('INVALID_ARGUMENT', `${at}.box must be {x, y, width, height} or null`, { param: `${at}.box` });
  }
  if (f.quality !== null && f.quality !== undefined && !Number.isFinite(f.quality)) {
    throw new DomainError('INVALID_ARGUMENT', `${at}.quality must be a number or null`, { param: `${at}.quality` });
  }
  if (f.attributes !== undefined && (typeof f.attributes !== 'object' || f.attributes === null || Array.isArray(f.attributes))) {
    throw new DomainError('INVALID_ARGUMENT', `${at}.attributes must be an object`, { param: `${at}.attributes` });
  }
  if (f.photoSha256 !== null && f.photoSha256 !== undefined && !(typeof f.photoSha256 === 'string' && /^[0-9a-f]{64}$/.test(f.photoSha256))) {
    throw new DomainError('INVALID_ARGUMENT', `${at}.photoSha256 must be 64 hex digits or null`, { param: `${at}.photoSha256` });
  }
  const template = Buffer.from(f.template, 'base64');
  let embedding: Float32Array;
  try {
    embedding = Engine.embeddingFromTemplate(template);
  } catch (err) {
    throw new DomainError('TEMPLATE_MISMATCH', `${at}.template is not a template of this engine's model: ${(err as Error).message}`, { param: `${at}.template` });
  }
  if (f.embedding !== undefined) {
    const exact = decodeEmbedding(f.embedding, `${at}.embedding`);
    // The template holds the same embedding with less precision: anything else is another face's.
    let dot = 0;
    for (let k = 0; k < EMBEDDING_DIM; k++) dot += exact[k] * embedding[k];
    if (!(dot > 0.999)) throw new DomainError('TEMPLATE_MISMATCH', `${at}: the embedding is not the template's`, { param: `${at}.embedding` });
    embedding = exact;
  }
  const photo = f.photo ? Buffer.from(f.photo.data, 'base64') : undefined;
  return { template, embedding, photo };
}

export class LocalBulkAdmin implements BulkAdmin {
  constructor(
    private readonly db: Db,
    /** Enrols photos (its analyzer's engine); created when the first photo comes, if a function. */
    private readonly faces: FaceService | (() => Promise<FaceService>),
    private readonly changes: FaceChangeSink,
    private readonly capacityOf: () => BulkCapacity,
    readonly where: string,
    /** Keep the photos of imported faces that carry one (SAVE_IMAGES). */
    private readonly keepPhotos = true,
  ) {}

  async capacity(): Promise<BulkCapacity> {
    return this.capacityOf();
  }

  async collection(name: string, create: boolean): Promise<{ id: number; name: string }> {
    if (typeof name !== 'string' || name.trim() === '' || name.length > COLLECTION_NAME_MAX) {
      throw new DomainError('INVALID_ARGUMENT', `a collection name is 1 to ${COLLECTION_NAME_MAX} characters, not blank`, { param: 'collection', value: name });
    }
    const c = create ? await ensureCollection(this.db, { name }) : await getCollectionByName(this.db, name);
    if (!c) throw new DomainError('COLLECTION_NOT_FOUND', `collection "${name}" not found`, { collection: name });
    return { id: c.id, name: c.name };
  }

  private async collectionById(id: number) {
    const c = await getCollection(this.db, id);
    if (!c) throw new DomainError('COLLECTION_NOT_FOUND', `collection ${id} not found`, { collection: id });
    return c;
  }

  async enrolled(collectionId: number, afterId: number, limit: number): Promise<EnrolledFace[]> {
    checkLimit(limit);
    await this.collectionById(collectionId);
    const r = await this.db.query<{ id: number; photo_sha256: Buffer | null; template_sha256: Buffer; name: string | null }>(
      `SELECT f.id, f.photo_sha256, sha256(f.template) AS template_sha256, p.name FROM faces f
         JOIN face_collections fc ON fc.face_id = f.id AND fc.collection_id = $1
         LEFT JOIN persons p ON p.id = f.person_id
        WHERE f.id > $2 ORDER BY f.id LIMIT $3`,
      [collectionId, afterId, limit],
    );
    return r.rows.map((row) => ({ id: Number(row.id), photoSha256: hex(row.photo_sha256), templateSha256: row.template_sha256.toString('hex'), person: row.name }));
  }

  async enrolPhoto(collectionId: number, name: string, image: Buffer): Promise<PhotoResult> {
    checkPersonName(name);
    await this.collectionById(collectionId);
    const faces = typeof this.faces === 'function' ? await this.faces() : this.faces;
    try {
      const r = await faces.enrol(image, {
        collectionIds: [collectionId],
        owner: { namedIn: { namespaceId: collectionId, name } },
        select: 'dominant',
        attributes: [...ENROL_ATTRIBUTES],
        check: refuseLowQuality,
      });
      return { outcome: 'enrolled', face: r.faces[0].face.uuid };
    } catch (err) {
      const outcome = enrolOutcomeOf(err);
      if (!outcome || outcome === 'failed') throw err;
      return { outcome, message: (err as Error).message };
    }
  }

  async importFaces(collectionId: number, faces: ImportedFace[]): Promise<number> {
    if (!Array.isArray(faces) || faces.length > BULK_PAGE_MAX) {
      throw new DomainError('INVALID_ARGUMENT', `faces must be an array of at most ${BULK_PAGE_MAX}`, { param: 'faces' });
    }
    await this.collectionById(collectionId);
    const decoded = faces.map(decodeImported);
    const ids = await this.db.transaction(async (tx) => {
      const out: number[] = [];
      for (const [i, f] of faces.entries()) {
        const d = decoded[i];
        let personId: number | null = null;
        if (f.person) {
          const p = await ensurePersonByName(tx, collectionId, f.person.name);
          const { surname, patronymic, department, comment, attributes } = f.person;
          await updatePerson(tx, p.id, { surname, patronymic, department, comment, attributes: attributes ?? {} });
          personId = p.id;
        }
        const face = await insertFace(tx, {
          personId,
          box: f.box ?? null,
          photo: d.photo ? { bytes: d.photo, mimeType: f.photo?.mimeType ?? null, store: this.keepPhotos } : undefined,
          photoSha256: f.photoSha256 ? Buffer.from(f.photoSha256, 'hex') : null,
          template: d.template,
          embedding: d.embedding,
          quality: f.quality ?? null,
          attributes: f.attributes ?? {},
          collectionIds: [collectionId],
        });
        out.push(face.id);
      }
      return out;
    });
    await this.changes.facesChanged(ids);
    return ids.length;
  }

  async exportPage(collectionId: number, afterId: number, limit: number, photos: boolean): Promise<ExportPage & { lastId: number }> {
    checkLimit(limit);
    await this.collectionById(collectionId);
    const idRows = await this.db.query<{ id: number }>(
      `SELECT f.id FROM faces f JOIN face_collections fc ON fc.face_id = f.id AND fc.collection_id = $1 WHERE f.id > $2 ORDER BY f.id LIMIT $3`,
      [collectionId, afterId, limit],
    );
    const ids = idRows.rows.map((r) => Number(r.id));
    if (!ids.length) return { faces: [], persons: [], lastId: afterId };
    const [faces, templates] = await Promise.all([getFacesByIds(this.db, ids), getFaceTemplates(this.db, ids)]);
    const personIds = [...new Set([...faces.values()].map((f) => f.personId).filter((p): p is number => p !== null))];
    const persons = await getPersonsByIds(this.db, personIds);
    const out: ExportedFace[] = [];
    for (const id of ids) {
      const f = faces.get(id)!;
      const e: ExportedFace = {
        uuid: f.uuid,
        person: f.personId !== null ? persons.get(f.personId)!.uuid : null,
        box: f.box,
        quality: f.quality,
        attributes: f.attributes,
        photoSha256: hex(f.photoSha256),
        template: templates.get(id)!.template.toString('base64'),
        embedding: encodeEmbedding(templates.get(id)!.embedding),
        createdAt: f.createdAt.toISOString(),
      };
      if (photos) {
        const p = await getFacePhoto(this.db, id);
        if (p) e.photo = { data: p.bytes.toString('base64'), mimeType: p.mimeType };
      }
      out.push(e);
    }
    return {
      faces: out,
      persons: [...persons.values()].map((p) => ({
        uuid: p.uuid,
        name: p.name,
        surname: p.surname,
        patronymic: p.patronymic,
        department: p.department,
        comment: p.comment,
        attributes: p.attributes,
      })),
      lastId: ids[ids.length - 1],
    };
  }

  async close(): Promise<void> {}
}
