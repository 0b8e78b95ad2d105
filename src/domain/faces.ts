// Enrolled faces: enrolment (analyse first, write nothing unless the selection rule accepts the photo; person
// and faces then go in one transaction), lookups, collection memberships, persons, photos and deletion. Every
// call takes the caller's scope (the collections its key may see): a face outside it does not exist for it.
// Committed changes are handed to the change sink (the in-memory index) before a call returns, so a search that
// starts afterwards sees them.
import type { Db, Queryable } from '../store/db';
import * as store from '../store/faces';
import { createPerson, ensurePersonByName, getPerson, isUniqueViolation, type NewPerson, type Person } from '../store/persons';
import { getFacePhoto } from '../store/photos';
import { imageMimeType } from '../engine/image-type';
import { detectionLimit, facesInBoxes, selectFaces, type FaceSelection } from './analysis';
import { DomainError } from './errors';
import type { FaceAnalyzer } from './face-analyzer';
import type { FaceChangeSink } from './face-search';
import type { AnalyzedFace, AttributeName, Box, ImageAnalysis } from './types';

export type Face = store.Face;
export type FaceFilter = Omit<store.FaceFilter, 'collectionIds'>;
export type FacePage = store.FacePage;

/** Whose face it is: an existing person, a new one, a namespace's person by name (created if absent), or nobody. */
export type FaceOwner = { personId: number } | { newPerson: NewPerson } | { namedIn: { namespaceId: number; name: string } } | null;

export interface EnrolOptions {
  /** The collections the faces join (at least one). */
  collectionIds: readonly number[];
  owner: FaceOwner;
  /** Which faces of the photo to enrol (default: the dominant one). Ignored when `boxes` are given. */
  select?: FaceSelection;
  /** Enrol the detected faces in these boxes (image pixels). */
  boxes?: readonly Box[];
  minScore?: number;
  /** Attributes to estimate and keep with each face. */
  attributes?: AttributeName[];
  /** Face-level data a dialect keeps (e.g. its own labels); never photos or embeddings. */
  data?: Record<string, unknown>;
  cameraId?: number | null;
  autoCreated?: boolean;
  /** Refuses the photo (by throwing) before anything is written, given the faces chosen (e.g. a quality rule). */
  check?: (faces: AnalyzedFace[], analysis: ImageAnalysis) => void;
}

/** Told of the faces just enrolled from a photo that is not kept (SAVE_IMAGES off), so a crop can be kept. */
export type UnkeptPhotoSink = (image: Buffer, faces: { id: number; box: Box }[]) => void;

export interface EnrolledFace {
  face: Face;
  analyzed: AnalyzedFace;
}

export interface Enrolment {
  analysis: ImageAnalysis;
  faces: EnrolledFace[];
  person: Person | null;
}

const notFound = (face: string | number) => new DomainError('FACE_NOT_FOUND', `face ${face} not found`, { face });

export class FaceService {
  constructor(
    private readonly db: Db,
    private readonly analyzer: FaceAnalyzer,
    /** Keep the original photo of each enrolled face. */
    private readonly keepPhotos: boolean,
    private readonly changes: FaceChangeSink,
    private readonly unkeptPhotos?: UnkeptPhotoSink,
  ) {}

  async enrol(image: Buffer, opts: EnrolOptions): Promise<Enrolment> {
    if (!opts.collectionIds.length) throw new DomainError('INVALID_ARGUMENT', 'a face must join at least one collection', { param: 'collection' });
    const select = opts.select ?? 'dominant';
    const analysis = await this.analyzer.analyze(image, {
      detectFaces: true,
      minScore: opts.minScore,
      maxFaces: opts.boxes ? 0 : detectionLimit(select),
      template: true,
      attributes: opts.attributes ?? [],
    });
    const chosen = opts.boxes ? facesInBoxes(analysis, opts.boxes) : selectFaces(analysis, select);
    opts.check?.(chosen, analysis);
    return { analysis, ...(await this.store(image, chosen, opts)) };
  }

  /**
   * Enrols faces of an analysis the caller already made (with templates) without analysing the image again,
   * e.g. a face a search found unknown. Options about detection (select, boxes, minScore, check) do not apply.
   */
  async enrolAnalyzed(image: Buffer, analyzed: AnalyzedFace[], opts: Omit<EnrolOptions, 'select' | 'boxes' | 'minScore' | 'check'>): Promise<Omit<Enrolment, 'analysis'>> {
    if (!opts.collectionIds.length) throw new DomainError('INVALID_ARGUMENT', 'a face must join at least one collection', { param: 'collection' });
    if (analyzed.some((f) => !f.template.length)) throw new DomainError('INVALID_ARGUMENT', 'an analysed face without a template cannot be enrolled', { param: 'faces' });
    return this.store(image, analyzed, opts);
  }

  private async store(image: Buffer, chosen: AnalyzedFace[], opts: EnrolOptions): Promise<Omit<Enrolment, 'analysis'>> {
    const mimeType = imageMimeType(image) ?? null;
    const { faces, person } = await this.db.transaction(async (tx) => {
      const owner = await resolveOwner(tx, opts.owner);
      const stored: EnrolledFace[] = [];
      for (const analyzed of chosen) {
        const face = await store.insertFace(tx, {
          personId: owner?.id ?? null,
          box: analyzed.box,
          photo: { bytes: image, mimeType, store: this.keepPhotos },
          template: analyzed.template,
          embedding: analyzed.embedding,
          quality: qualityTotal(analyzed.attributes.quality),
          attributes: { ...opts.data, ...(opts.attributes?.length ? { estimated: analyzed.attributes } : {}) },
          cameraId: opts.cameraId ?? null,
          autoCreated: opts.autoCreated ?? false,
          collectionIds: [...opts.collectionIds],
        });
        stored.push({ face, analyzed });
      }
      return { faces: stored, person: owner };
    });
    await this.changes.facesChanged(faces.map((f) => f.face.id));
    if (!this.keepPhotos) this.unkeptPhotos?.(image, faces.map((f) => ({ id: f.face.id, box: f.analyzed.box })));
    return { faces, person };
  }

  async get(id: number, scope: readonly number[]): Promise<Face> {
    const face = await store.getFace(this.db, id);
    if (!face || !inScope(face, scope)) throw notFound(id);
    return face;
  }

  async getByUuid(uuid: string, scope: readonly number[]): Promise<Face> {
    const face = await store.getFaceByUuid(this.db, uuid);
    if (!face || !inScope(face, scope)) throw notFound(uuid);
    return face;
  }

  /** The faces in the scope (narrowed by `within`, a subset of it) matching the filter, optionally one page. */
  list(scope: readonly number[], filter: FaceFilter = {}, page?: FacePage, within?: readonly number[]): Promise<Face[]> {
    return store.listFaces(this.db, { ...filter, collectionIds: narrow(scope, within) }, page);
  }

  count(scope: readonly number[], filter: FaceFilter = {}, within?: readonly number[]): Promise<number> {
    return store.countFaces(this.db, { ...filter, collectionIds: narrow(scope, within) });
  }

  /** Deletes the faces among `ids` that are in the scope (others are ignored); returns the deleted faces. */
  async delete(ids: readonly number[], scope: readonly number[]): Promise<Face[]> {
    if (!ids.length) return [];
    const deleted = await this.db.transaction(async (tx) => {
      const visible = await store.listFaceIds(tx, { ids, collectionIds: scope });
      return store.deleteFaces(tx, visible);
    });
    await this.changes.facesChanged(deleted.map((f) => f.id));
    const order = new Map(ids.map((id, i) => [id, i]));
    return deleted.sort((a, b) => order.get(a.id)! - order.get(b.id)!);
  }

  /**
   * Takes faces out of one collection: a face only there is deleted, a face also in other collections stays in
   * those (one dialect's delete never removes what another collection holds).
   */
  async removeFromCollection(collectionId: number, faces: readonly Pick<Face, 'id' | 'collectionIds'>[]): Promise<void> {
    const onlyHere = faces.filter((f) => f.collectionIds.every((c) => c === collectionId)).map((f) => f.id);
    for (const f of faces) if (!onlyHere.includes(f.id)) await this.setCollections(f.id, [collectionId], { remove: [collectionId] });
    await this.delete(onlyHere, [collectionId]);
  }

  /** Deletes every face in the scope matching the filter; returns the deleted faces. */
  async deleteWhere(scope: readonly number[], filter: FaceFilter, within?: readonly number[]): Promise<Face[]> {
    const deleted = await this.db.transaction(async (tx) => {
      const ids = await store.listFaceIds(tx, { ...filter, collectionIds: narrow(scope, within) });
      return store.deleteFaces(tx, ids);
    });
    await this.changes.facesChanged(deleted.map((f) => f.id));
    return deleted;
  }

  /**
   * Changes which of the scope's collections the face is in (collections outside the scope keep their
   * memberships). A face must stay in at least one collection: INVALID_ARGUMENT otherwise. Returns the face as
   * it is now, which may be outside the scope.
   */
  async setCollections(id: number, scope: readonly number[], change: { add?: readonly number[]; remove?: readonly number[]; set?: readonly number[] }): Promise<Face> {
    const outside = [...(change.add ?? []), ...(change.remove ?? []), ...(change.set ?? [])].find((c) => !scope.includes(c));
    if (outside !== undefined) throw new DomainError('COLLECTION_NOT_FOUND', `collection ${outside} not found`, { collection: outside });
    await this.db.transaction(async (tx) => {
      const face = await store.getFace(tx, id);
      if (!face || !inScope(face, scope)) throw notFound(id);
      const remove = change.set ? face.collectionIds.filter((c) => scope.includes(c) && !change.set!.includes(c)) : (change.remove ?? []);
      const add = change.set ?? change.add ?? [];
      if (remove.length) await store.removeFaceFromCollections(tx, id, remove);
      if (add.length) await store.addFaceToCollections(tx, id, add);
      if (!(await store.getFaceCollectionIds(tx, id)).length) {
        throw new DomainError('INVALID_ARGUMENT', 'a face must stay in at least one collection', { param: 'collections' });
      }
    });
    await this.changes.facesChanged([id]);
    // As it is now: possibly no longer in the scope (it left the scope's collections for others).
    const face = await store.getFace(this.db, id);
    if (!face) throw notFound(id);
    return face;
  }

  /** Gives the face to another person (or to nobody). */
  async setPerson(id: number, scope: readonly number[], personId: number | null): Promise<Face> {
    await this.get(id, scope);
    if (personId !== null && !(await getPerson(this.db, personId))) {
      throw new DomainError('PERSON_NOT_FOUND', `person ${personId} not found`, { person: personId });
    }
    await store.setFacePerson(this.db, id, personId);
    await this.changes.facesChanged([id]);
    return this.get(id, scope);
  }

  /** Replaces the face's dialect data (what enrol kept in `data`). */
  async setData(id: number, scope: readonly number[], data: Record<string, unknown>): Promise<Face> {
    const face = await this.get(id, scope);
    const { estimated } = face.attributes as { estimated?: unknown };
    await store.setFaceAttributes(this.db, id, { ...data, ...(estimated ? { estimated } : {}) });
    return this.get(id, scope);
  }

  /** The face's stored photo, or undefined when photos are not kept. */
  async photo(id: number, scope: readonly number[]): Promise<{ bytes: Buffer; mimeType: string } | undefined> {
    await this.get(id, scope);
    const photo = await getFacePhoto(this.db, id);
    return photo && { bytes: photo.bytes, mimeType: photo.mimeType ?? imageMimeType(photo.bytes) ?? 'application/octet-stream' };
  }

  /** The embedding of a face the caller found through get / getByUuid / list (so within its scope). */
  async embeddingOf(face: Face): Promise<Float32Array> {
    const t = (await store.getFaceTemplates(this.db, [face.id])).get(face.id);
    if (!t) throw notFound(face.uuid); // deleted since it was found
    return t.embedding;
  }
}

async function resolveOwner(tx: Queryable, owner: FaceOwner): Promise<Person | null> {
  if (owner === null) return null;
  if ('personId' in owner) {
    const person = await getPerson(tx, owner.personId);
    if (!person) throw new DomainError('PERSON_NOT_FOUND', `person ${owner.personId} not found`, { person: owner.personId });
    return person;
  }
  if ('newPerson' in owner) {
    try {
      return await createPerson(tx, owner.newPerson);
    } catch (err) {
      if (isUniqueViolation(err)) throw new DomainError('PERSON_EXISTS', `person ${owner.newPerson.name} already exists`, { person: owner.newPerson.name });
      throw err;
    }
  }
  return ensurePersonByName(tx, owner.namedIn.namespaceId, owner.namedIn.name);
}

/** The engine's overall quality score: `total` is {score, ok} (native/core/attributes/quality.h), or a plain number. */
function qualityTotal(q: Record<string, unknown> | undefined): number | null {
  const total = q?.total as number | { score?: unknown } | undefined;
  const score = typeof total === 'object' && total !== null ? total.score : total;
  return typeof score === 'number' && Number.isFinite(score) ? score : null;
}

const inScope = (face: Face, scope: readonly number[]) => face.collectionIds.some((c) => scope.includes(c));

/** The scope, or the part of it the caller narrowed to (collections outside the scope are dropped). */
function narrow(scope: readonly number[], within?: readonly number[]): readonly number[] {
  return within ? within.filter((c) => scope.includes(c)) : scope;
}
