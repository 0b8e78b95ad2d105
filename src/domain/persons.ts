// Persons: whoever owns enrolled faces. A person may live in a collection's namespace, where names are unique
// (a key's own persons); other persons may share names. Every lookup takes the collections the caller may see
// (its scope): a person is visible when it is in a visible namespace or owns a face in a visible collection.
import type { Db } from '../store/db';
import * as store from '../store/persons';
import { listFaceIds } from '../store/faces';
import { DomainError } from './errors';
import type { FaceChangeSink } from './face-search';

export type Person = store.Person;
export type NewPerson = store.NewPerson;
export type PersonChanges = store.PersonChanges;
export type PersonOrder = store.PersonOrder;

export const MAX_NAME_LENGTH = 255;

/** Which visible persons a listing returns: a namespace's, of one name, with these attributes (JSON containment). */
export interface PersonListFilter {
  namespaceId?: number;
  name?: string;
  attributes?: Record<string, unknown>;
}

/** A usable person name, or INVALID_ARGUMENT / MISSING_ARGUMENT naming the parameter. */
export function checkPersonName(name: unknown, param = 'name'): string {
  if (name === undefined || name === null) throw new DomainError('MISSING_ARGUMENT', `${param} is required`, { param });
  if (typeof name !== 'string' || name.trim() === '') {
    throw new DomainError('INVALID_ARGUMENT', `${param} must be a non-empty string`, { param, expected: 'a non-empty string', value: name });
  }
  if (name.length > MAX_NAME_LENGTH) {
    throw new DomainError('INVALID_ARGUMENT', `${param} is longer than ${MAX_NAME_LENGTH} characters`, { param, expected: `at most ${MAX_NAME_LENGTH} characters` });
  }
  return name;
}

const notFound = (person: string | number) => new DomainError('PERSON_NOT_FOUND', `person ${person} not found`, { person });

export class PersonService {
  constructor(
    private readonly db: Db,
    private readonly changes: FaceChangeSink,
  ) {}

  /** A new person; PERSON_EXISTS when its namespace already has that name. */
  async create(p: NewPerson): Promise<Person> {
    checkPersonName(p.name);
    try {
      return await store.createPerson(this.db, p);
    } catch (err) {
      if (store.isUniqueViolation(err)) throw new DomainError('PERSON_EXISTS', `person ${p.name} already exists`, { person: p.name });
      throw err;
    }
  }

  /** A person without a name (yet): e.g. one a camera saw, to be named later. */
  createUnnamed(attributes: Record<string, unknown> = {}): Promise<Person> {
    return store.createPerson(this.db, { name: '', attributes });
  }

  async get(id: number, scope: readonly number[]): Promise<Person> {
    const person = await store.getPerson(this.db, id);
    if (!person || !(await this.visible(person, scope))) throw notFound(id);
    return person;
  }

  async getByUuid(uuid: string, scope: readonly number[]): Promise<Person> {
    const person = await store.getPersonByUuid(this.db, uuid);
    if (!person || !(await this.visible(person, scope))) throw notFound(uuid);
    return person;
  }

  /** The namespace's person of this name (ignoreCase: an exact match wins), or undefined. */
  findByName(namespaceId: number, name: string, opts: { ignoreCase?: boolean } = {}): Promise<Person | undefined> {
    return store.findPersonByName(this.db, namespaceId, name, opts);
  }

  /** The visible persons matching the filter, in the given order, optionally one page. */
  list(scope: readonly number[], filter: PersonListFilter = {}, page?: store.Page, order?: PersonOrder): Promise<Person[]> {
    return store.listPersons(this.db, this.scoped(scope, filter), page, order);
  }

  count(scope: readonly number[], filter: PersonListFilter = {}): Promise<number> {
    return store.countPersons(this.db, this.scoped(scope, filter));
  }

  /** Changes the given fields; PERSON_EXISTS when a rename collides within the namespace. */
  async update(id: number, changes: PersonChanges): Promise<Person> {
    if (changes.name !== undefined) checkPersonName(changes.name);
    let person: Person | undefined;
    try {
      person = await store.updatePerson(this.db, id, changes);
    } catch (err) {
      if (store.isUniqueViolation(err)) throw new DomainError('PERSON_EXISTS', `person ${changes.name} already exists`, { person: changes.name });
      throw err;
    }
    if (!person) throw notFound(id);
    if (changes.name !== undefined) this.changes.personsChanged([id]); // search results carry cached names
    return person;
  }

  /** Moves every face and event of `fromId` to `intoId` and deletes `fromId`. */
  async merge(fromId: number, intoId: number): Promise<void> {
    if (fromId === intoId) return;
    const faceIds = await this.db.transaction(async (tx) => {
      const ids = await listFaceIds(tx, { personId: fromId });
      await store.mergePersons(tx, fromId, intoId);
      return ids;
    });
    await this.changes.facesChanged(faceIds);
  }

  /** Deletes the person and its faces. */
  async delete(id: number): Promise<void> {
    const faceIds = await this.db.transaction(async (tx) => {
      const ids = await listFaceIds(tx, { personId: id });
      if (!(await store.deletePerson(tx, id))) throw notFound(id);
      return ids;
    });
    await this.changes.facesChanged(faceIds);
  }

  /** Deletes the person when it has no face left and lives in no namespace; true when it went. */
  deleteIfFaceless(id: number): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const person = await store.getPerson(tx, id);
      if (!person || person.ownerCollectionId !== null || (await listFaceIds(tx, { personId: id })).length) return false;
      return store.deletePerson(tx, id);
    });
  }

  /** Deletes every person of the namespace and their faces; returns how many persons. */
  async deleteNamespace(namespaceId: number): Promise<number> {
    const { n, faceIds } = await this.db.transaction(async (tx) => {
      const ids = await listFaceIds(tx, { ownerCollectionId: namespaceId });
      return { n: await store.deletePersonsOwnedBy(tx, namespaceId), faceIds: ids };
    });
    await this.changes.facesChanged(faceIds);
    return n;
  }

  private scoped(scope: readonly number[], filter: PersonListFilter): store.PersonFilter {
    return {
      visibleIn: scope,
      ...(filter.namespaceId !== undefined ? { ownerCollectionId: filter.namespaceId } : {}),
      ...(filter.name !== undefined ? { name: filter.name } : {}),
      ...(filter.attributes !== undefined ? { attributes: filter.attributes } : {}),
    };
  }

  private async visible(person: Person, scope: readonly number[]): Promise<boolean> {
    if (person.ownerCollectionId !== null && scope.includes(person.ownerCollectionId)) return true;
    return (await store.countPersons(this.db, { ids: [person.id], visibleIn: scope })) > 0;
  }
}
