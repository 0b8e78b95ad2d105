// Examples: the enrolled faces of a collection's subjects. Enrolment analyses the image first and writes
// nothing unless exactly one face was found; person and face are then stored in one transaction.
import type { Db } from '../store/db';
import { countOwnedFaces, findOwnedFaceId, findOwnedFaceIds, findSubject, ownedFaceIds } from '../store/compreface-queries';
import { deleteFaces, getFace, getFaceTemplates, insertFace, listFaces } from '../store/faces';
import { deletePersonsOwnedBy, deletePerson, ensurePersonByName, isUuid } from '../store/persons';
import { getFacePhoto } from '../store/photos';
import { DomainError } from './errors';
import type { FaceAnalyzer } from './face-analyzer';
import type { FaceChangeSink } from './face-search';
import { sniffImageType } from './image-type';
import { checkSubjectName } from './subjects';
import { dominantFace } from './detection';
import type { AnalyzedFace } from './types';

export interface Example {
  /** The face's UUID (CompreFace image_id). */
  id: string;
  subject: string;
}

export interface ExamplePage {
  items: Example[];
  page: number;
  size: number;
  total: number;
}

export interface EnrolOptions {
  minScore?: number;
}

export class ExampleService {
  constructor(
    private readonly db: Db,
    private readonly analyzer: FaceAnalyzer,
    private readonly saveImages: boolean,
    private readonly changes: FaceChangeSink,
  ) {}

  async enrol(collectionId: number, subjectName: string, image: Buffer, opts: EnrolOptions = {}): Promise<Example & { face: AnalyzedFace }> {
    checkSubjectName(subjectName);
    // The three biggest faces are enough to tell whether one face dominates the photo.
    const analysis = await this.analyzer.analyze(image, { detectFaces: true, minScore: opts.minScore, maxFaces: 3, template: true, attributes: [] });
    const face = dominantFace(analysis);
    const example = await this.db.transaction(async (tx) => {
      const existing = await findSubject(tx, collectionId, subjectName);
      const person = existing ?? (await ensurePersonByName(tx, collectionId, subjectName));
      const stored = await insertFace(tx, {
        personId: person.id,
        box: face.box,
        photo: { bytes: image, mimeType: sniffImageType(image) ?? null, store: this.saveImages },
        template: face.template,
        embedding: face.embedding,
        collectionIds: [collectionId],
      });
      return { id: stored.uuid, faceId: stored.id, subject: person.name, face };
    });
    await this.changes.facesChanged([example.faceId]);
    return { id: example.id, subject: example.subject, face: example.face };
  }

  async list(collectionId: number, opts: { subject?: string; page: number; size: number }): Promise<ExamplePage> {
    let personId: number | undefined;
    if (opts.subject !== undefined && opts.subject !== '') {
      const subject = await findSubject(this.db, collectionId, opts.subject);
      if (!subject) return { items: [], page: opts.page, size: opts.size, total: 0 };
      personId = subject.id;
    }
    const filter = { ownerCollectionId: collectionId, ...(personId !== undefined ? { personId } : {}) };
    const [faces, total] = await Promise.all([
      listFaces(this.db, filter, { page: opts.page, size: opts.size }),
      countOwnedFaces(this.db, collectionId, personId),
    ]);
    return { items: faces.map((f) => ({ id: f.uuid, subject: f.personName ?? '' })), page: opts.page, size: opts.size, total };
  }

  /** Deletes the examples of one subject (and the subject), or of every subject when none is given; returns how many. */
  async deleteBySubject(collectionId: number, subjectName?: string): Promise<number> {
    const removed = await this.db.transaction(async (tx) => {
      if (subjectName === undefined || subjectName === '') {
        const ids = await ownedFaceIds(tx, collectionId);
        await deletePersonsOwnedBy(tx, collectionId);
        return ids;
      }
      const subject = await findSubject(tx, collectionId, subjectName);
      if (!subject) return [];
      const ids = await ownedFaceIds(tx, collectionId, subject.id);
      await deletePerson(tx, subject.id);
      return ids;
    });
    await this.changes.facesChanged(removed);
    return removed.length;
  }

  async deleteById(collectionId: number, id: string): Promise<Example> {
    const deleted = await this.deleteMany(collectionId, [id]);
    if (!deleted.length) throw new DomainError('FACE_NOT_FOUND', `Image ${id} not found`, { face: id });
    return deleted[0];
  }

  /** Deletes the examples that exist among `ids`; unknown ids are ignored. */
  async deleteMany(collectionId: number, ids: string[]): Promise<Example[]> {
    const uuids = ids.filter(isUuid);
    if (!uuids.length) return [];
    const faces = await this.db.transaction(async (tx) => deleteFaces(tx, await findOwnedFaceIds(tx, collectionId, uuids)));
    await this.changes.facesChanged(faces.map((f) => f.id));
    return faces.map((f) => ({ id: f.uuid, subject: f.personName ?? '' }));
  }

  /** The example's stored photo, or undefined (unknown id, or photos are not kept). */
  async photo(collectionId: number, id: string): Promise<{ bytes: Buffer; mimeType: string } | undefined> {
    if (!isUuid(id)) return undefined;
    const faceId = await findOwnedFaceId(this.db, collectionId, id);
    if (faceId === undefined) return undefined;
    const photo = await getFacePhoto(this.db, faceId);
    return photo && { bytes: photo.bytes, mimeType: photo.mimeType ?? sniffImageType(photo.bytes) ?? 'application/octet-stream' };
  }

  /** The example's embedding and owner, for verification; FACE_NOT_FOUND when absent. */
  async embedding(collectionId: number, id: string): Promise<{ faceId: number; personId: number | null; embedding: Float32Array }> {
    const faceId = isUuid(id) ? await findOwnedFaceId(this.db, collectionId, id) : undefined;
    if (faceId === undefined) throw new DomainError('FACE_NOT_FOUND', `Image ${id} not found`, { face: id });
    const [face, templates] = await Promise.all([getFace(this.db, faceId), getFaceTemplates(this.db, [faceId])]);
    return { faceId, personId: face?.personId ?? null, embedding: templates.get(faceId)!.embedding };
  }
}
