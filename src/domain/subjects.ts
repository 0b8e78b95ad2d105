// Subjects (persons) of a collection: add, rename (merging into an existing subject of the new name), delete,
// delete all, list. Names match case-insensitively within a collection.
import type { Db } from '../store/db';
import { countOwnedFaces, findSubject, listSubjectNames, ownedFaceIds } from '../store/compreface-queries';
import { createPerson, deletePerson, deletePersonsOwnedBy, isUniqueViolation, mergePersons, updatePerson } from '../store/persons';
import { DomainError } from './errors';
import type { FaceChangeSink } from './face-search';

export const MAX_SUBJECT_LENGTH = 255;

/** A usable subject name, or a domain error naming what is wrong. */
export function checkSubjectName(name: unknown, field = 'subject'): string {
  if (name === undefined || name === null) throw new DomainError('MISSING_ARGUMENT', `${field} is required`, { param: field });
  if (typeof name !== 'string' || name.trim() === '') throw new DomainError('INVALID_ARGUMENT', `${field} must be a non-empty string`, { param: field });
  if (name.length > MAX_SUBJECT_LENGTH) throw new DomainError('INVALID_ARGUMENT', `${field} is longer than ${MAX_SUBJECT_LENGTH} characters`, { param: field });
  return name;
}

export class SubjectService {
  constructor(
    private readonly db: Db,
    private readonly changes: FaceChangeSink,
  ) {}

  async create(collectionId: number, name: string): Promise<string> {
    checkSubjectName(name);
    return this.db.transaction(async (tx) => {
      if (await findSubject(tx, collectionId, name)) throw new DomainError('PERSON_EXISTS', 'Subject already exists', { person: name });
      try {
        return (await createPerson(tx, { ownerCollectionId: collectionId, name })).name;
      } catch (err) {
        if (isUniqueViolation(err)) throw new DomainError('PERSON_EXISTS', 'Subject already exists', { person: name });
        throw err;
      }
    });
  }

  /** Renames `from` to `to`; when `to` already exists the two are merged into it. */
  async rename(collectionId: number, from: string, to: string): Promise<boolean> {
    checkSubjectName(to);
    const renamed = await this.db.transaction(async (tx) => {
      const source = await findSubject(tx, collectionId, from);
      if (!source) throw new DomainError('PERSON_NOT_FOUND', `Subject ${from} not found`, { person: from });
      const target = await findSubject(tx, collectionId, to);
      if (target && target.id !== source.id) await mergePersons(tx, source.id, target.id);
      else await updatePerson(tx, source.id, { name: to });
      return source.id;
    });
    this.changes.personsChanged([renamed]); // recognize answers with subject names from a cache
    return true;
  }

  /** Deletes the subject and its examples; returns the stored name. */
  async delete(collectionId: number, name: string): Promise<string> {
    const { subjectName, faceIds } = await this.db.transaction(async (tx) => {
      const subject = await findSubject(tx, collectionId, name);
      if (!subject) throw new DomainError('PERSON_NOT_FOUND', `Subject ${name} not found`, { person: name });
      const ids = await ownedFaceIds(tx, collectionId, subject.id);
      await deletePerson(tx, subject.id);
      return { subjectName: subject.name, faceIds: ids };
    });
    await this.changes.facesChanged(faceIds);
    return subjectName;
  }

  /** Deletes every subject of the collection (and their examples); returns how many subjects. */
  async deleteAll(collectionId: number): Promise<number> {
    const { n, faceIds } = await this.db.transaction(async (tx) => {
      const ids = await ownedFaceIds(tx, collectionId);
      return { n: await deletePersonsOwnedBy(tx, collectionId), faceIds: ids };
    });
    await this.changes.facesChanged(faceIds);
    return n;
  }

  list(collectionId: number): Promise<string[]> {
    return listSubjectNames(this.db, collectionId);
  }

  async exampleCount(collectionId: number, name?: string): Promise<number> {
    if (name === undefined) return countOwnedFaces(this.db, collectionId);
    const subject = await findSubject(this.db, collectionId, name);
    return subject ? countOwnedFaces(this.db, collectionId, subject.id) : 0;
  }
}
