// Collections: named sets of enrolled faces (a key's own collection, a gallery, a recognition server). A face
// may be in several; searches run over the collections a caller names and may see.
import type { Db } from '../store/db';
import * as store from '../store/collections';
import { isUniqueViolation } from '../store/persons';
import { DomainError } from './errors';
import type { FaceChangeSink } from './face-search';
import { listFaceIds } from '../store/faces';

export type Collection = store.Collection;

export interface CollectionSummary extends Collection {
  faces: number;
  persons: number;
}

export class CollectionService {
  constructor(
    private readonly db: Db,
    private readonly changes: FaceChangeSink,
  ) {}

  async create(name: string, attributes: Record<string, unknown> = {}): Promise<Collection> {
    try {
      return await store.createCollection(this.db, { name, attributes });
    } catch (err) {
      if (isUniqueViolation(err)) throw new DomainError('COLLECTION_EXISTS', `collection ${name} already exists`, { collection: name });
      throw err;
    }
  }

  /** The collection of this name, created if absent (safe when two callers race). */
  ensure(name: string): Promise<Collection> {
    return store.ensureCollection(this.db, { name });
  }

  async get(id: number): Promise<Collection> {
    const c = await store.getCollection(this.db, id);
    if (!c) throw new DomainError('COLLECTION_NOT_FOUND', `collection ${id} not found`, { collection: id });
    return c;
  }

  async byName(name: string): Promise<Collection> {
    const c = await store.getCollectionByName(this.db, name);
    if (!c) throw new DomainError('COLLECTION_NOT_FOUND', `collection ${name} not found`, { collection: name });
    return c;
  }

  /** The given collections (all when ids is absent), oldest first, with their face and person counts. */
  list(ids?: readonly number[]): Promise<CollectionSummary[]> {
    return store.listCollectionSummaries(this.db, ids);
  }

  async rename(id: number, name: string): Promise<Collection> {
    try {
      if (!(await store.renameCollection(this.db, id, name))) throw new DomainError('COLLECTION_NOT_FOUND', `collection ${id} not found`, { collection: id });
    } catch (err) {
      if (isUniqueViolation(err)) throw new DomainError('COLLECTION_EXISTS', `collection ${name} already exists`, { collection: name });
      throw err;
    }
    return this.get(id);
  }

  /**
   * Deletes the collection: its memberships go, and so do the persons of its namespace with their faces. Faces
   * of other persons stay enrolled in their other collections.
   */
  async delete(id: number): Promise<void> {
    const faceIds = await this.db.transaction(async (tx) => {
      const ids = await listFaceIds(tx, { collectionIds: [id] });
      if (!(await store.deleteCollection(tx, id))) throw new DomainError('COLLECTION_NOT_FOUND', `collection ${id} not found`, { collection: id });
      return ids;
    });
    await this.changes.facesChanged(faceIds);
  }
}
