// What key management does, behind one interface with two ends: LocalKeyAdmin works on a database (the admin
// API inside the server, and the CLI when no server runs), RemoteKeyAdmin (src/cli/admin-client.ts) calls a
// running server's admin API. The CLI does not care which it has.
import { DomainError } from '../domain/errors';
import { COLLECTION_NAME_MAX, type KeyInfo, type KeyService, type NewKey } from '../domain/keys';
import { countCollectionFaces, createCollection, getCollectionByName, listCollections } from '../store/collections';
import type { Db } from '../store/db';

export interface KeyRequest extends NewKey {
  kind: string;
}

export interface CollectionInfo {
  id: number;
  name: string;
  faces: number;
  createdAt: Date;
}

export interface KeyAdmin {
  /** Where the operations run, for messages: "the server at http://..." or "the database ...". */
  readonly where: string;
  createKey(req: KeyRequest): Promise<{ key: string; info: KeyInfo }>;
  listKeys(opts?: { includeRevoked?: boolean }): Promise<KeyInfo[]>;
  /** A key by its whole secret, its prefix or its user; empty when nothing (or more than one) matched. */
  revokeKey(keyPrefixOrUser: string): Promise<KeyInfo[]>;
  listCollections(): Promise<CollectionInfo[]>;
  createCollection(name: string): Promise<CollectionInfo>;
  close(): Promise<void>;
}

export class LocalKeyAdmin implements KeyAdmin {
  constructor(
    private readonly keys: KeyService,
    private readonly db: Db,
    readonly where: string,
  ) {}

  createKey(req: KeyRequest): Promise<{ key: string; info: KeyInfo }> {
    const { kind, ...opts } = req;
    return this.keys.create(kind, opts);
  }

  listKeys(opts: { includeRevoked?: boolean } = {}): Promise<KeyInfo[]> {
    return this.keys.list(opts);
  }

  revokeKey(keyPrefixOrUser: string): Promise<KeyInfo[]> {
    return this.keys.revoke(keyPrefixOrUser);
  }

  async listCollections(): Promise<CollectionInfo[]> {
    const all = await listCollections(this.db);
    const out: CollectionInfo[] = [];
    for (const c of all) out.push({ id: c.id, name: c.name, faces: await countCollectionFaces(this.db, c.id), createdAt: c.createdAt });
    return out;
  }

  async createCollection(name: string): Promise<CollectionInfo> {
    if (name.trim() === '' || name.length > COLLECTION_NAME_MAX) {
      throw new DomainError('INVALID_ARGUMENT', `a collection name is 1 to ${COLLECTION_NAME_MAX} characters, not blank`, { param: 'name', value: name });
    }
    return this.db.transaction(async (tx) => {
      if (await getCollectionByName(tx, name)) throw new DomainError('COLLECTION_EXISTS', `a collection "${name}" exists`, { collection: name });
      const c = await createCollection(tx, { name });
      return { id: c.id, name: c.name, faces: 0, createdAt: c.createdAt };
    });
  }

  /** The database belongs to whoever opened it. */
  async close(): Promise<void> {}
}
