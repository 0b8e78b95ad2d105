// The in-memory face index: one matcher per collection kept in memory, always converging to what PostgreSQL
// holds. Rules that keep it equal to the database:
//  - Writes commit in PostgreSQL first; then the writer calls facesChanged(), and every instance (this one too)
//    gets a change notification (migrations/0002: channel faceserver_faces, sent at commit).
//  - Neither path trusts anything but the database: a change is applied by re-reading the face's current
//    memberships and embedding, never from the payload or the caller.
//  - All re-reads and reloads run one at a time, in order, on one queue; each starts after the previous was
//    applied and reads the database afresh, so a later re-read can never be overtaken by an older one (an enrol
//    racing a delete of the same face ends as the database ends).
//  - A (re)load records the collection's change version read before streaming; notifications with a version
//    at or below it are already in the load and are dropped. Notifications arrive in commit order per
//    collection, so a gap in versions means one was lost (e.g. a dropped LISTEN connection): the collection is
//    reloaded.
//  - A lost notification session (PostgreSQL restarted, its backend terminated) loses notifications without a
//    gap to show it: once the session listens again, every collection whose version moved is reloaded, and so
//    is every collection whose re-read or reload failed meanwhile (marked stale; the version checks retry them).
// Each loaded collection also keeps every face's person id, so search hits carry it; person names come from
// a cache (PersonNames) that renames invalidate through their own notifications.
import { countCollectionFaces } from '../store/collections';
import type { Db } from '../store/db';
import {
  getCollectionState,
  listInMemoryCollections,
  NO_PERSON,
  readFaceMemberships,
  readPersonNamesVersion,
} from '../store/face-index-queries';
import { searchCollectionSql } from '../store/vector-search';
import { EMBEDDING_DIM, type FaceHit, type SearchOptions } from '../domain/types';
import type { FaceChangeSink, FaceSearcher } from '../domain/face-search';
import type { CollectionMatcher, MatcherFactory } from './collection-matcher';
import { loadCollection, type LoadOptions } from './collection-loader';
import { parseFaceChange, FACE_CHANGES_CHANNEL, type FaceChange } from './face-change';
import { FacePersonMap } from './face-person-map';
import { parsePersonChange, PersonNames, PERSON_CHANGES_CHANNEL } from './person-names';

interface LoadedCollection {
  matcher: CollectionMatcher;
  /** Face id -> person id, for the faces that have a person. */
  persons: FacePersonMap;
  /** The collection's change version read just before it was streamed: older changes are in the load. */
  loadedVersion: number;
  /** The highest change version seen since (notifications carry consecutive versions per collection). */
  seenVersion: number;
}

type Work =
  | { kind: 'faces'; faceIds: number[]; done: Deferred }
  | { kind: 'reload'; collectionId: number; done: Deferred }
  | { kind: 'change'; change: FaceChange };

interface Deferred {
  resolve(): void;
  reject(err: Error): void;
}

export interface FaceIndexOptions {
  createMatcher: MatcherFactory;
  load?: LoadOptions;
  /** How often to compare collection versions with the database (catches lost notifications); 0 = never. */
  versionCheckMs?: number;
  onError?: (err: Error, context: string) => void;
  /** Called after a resynchronisation (the notification session re-established) with the collections reloaded. */
  onResync?: (reloaded: number[]) => void;
}

export interface IndexLoadReport {
  collections: number;
  faces: number;
  ms: number;
}

export class FaceIndex implements FaceSearcher, FaceChangeSink {
  private readonly collections = new Map<number, LoadedCollection>();
  private readonly queue: Work[] = [];
  private draining?: Promise<void>;
  private unlisten?: () => Promise<void>;
  private unlistenPersons?: () => Promise<void>;
  private readonly names: PersonNames;
  private versionTimer?: NodeJS.Timeout;
  /** Collections found behind the database at the previous version check. */
  private suspectedBehind = new Set<number>();
  /** The count of committed renames the cached names are known to include (read at start, then at each check). */
  private namesVersion = 0;
  private closed = false;
  /** Collections whose re-read or reload failed (the database unreachable): reloaded at the next chance. */
  private readonly stale = new Set<number>();
  private resyncTimer?: NodeJS.Timeout;

  constructor(
    private readonly db: Db,
    private readonly opts: FaceIndexOptions,
  ) {
    this.names = new PersonNames(db);
  }

  /** Subscribes to change notifications, then streams every in-memory collection from the database. */
  async start(): Promise<IndexLoadReport> {
    // Listen first: a write committed during the load then either is in the load or arrives as a notification.
    this.unlisten = await this.db.listen(
      FACE_CHANGES_CHANNEL,
      (payload) => this.onNotification(payload),
      () => void this.resync(),
    );
    this.unlistenPersons = await this.db.listen(PERSON_CHANGES_CHANNEL, (payload) => {
      const id = parsePersonChange(payload);
      if (id === undefined) this.names.clear();
      else this.names.forget([id]);
    });
    this.namesVersion = await readPersonNamesVersion(this.db); // after listening: a later rename also notifies
    const t0 = performance.now();
    let faces = 0;
    const collections = await listInMemoryCollections(this.db);
    for (const c of collections) faces += await this.enqueueReload(c.id);
    if (this.opts.versionCheckMs) {
      this.versionTimer = setInterval(() => void this.checkVersions(), this.opts.versionCheckMs);
      this.versionTimer.unref();
    }
    return { collections: collections.length, faces, ms: performance.now() - t0 };
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.versionTimer);
    clearTimeout(this.resyncTimer);
    await this.unlisten?.().catch(() => {}); // the database may be closed already
    await this.unlistenPersons?.().catch(() => {});
    await this.draining;
    for (const work of this.queue.splice(0)) if (work.kind !== 'change') work.done.reject(new Error('the face index is closed'));
    for (const c of this.collections.values()) c.matcher.dispose();
    this.collections.clear();
  }

  /**
   * Brings the given faces up to date in every in-memory collection after a committed write (enrol, delete,
   * move between collections, template change). Resolves once applied: a search that starts afterwards sees it.
   */
  facesChanged(faceIds: readonly number[]): Promise<void> {
    if (!faceIds.length) return Promise.resolve();
    return new Promise((resolve, reject) => this.push({ kind: 'faces', faceIds: [...new Set(faceIds)], done: { resolve, reject } }));
  }

  /** Re-streams one collection from the database (or drops it from memory when it is no longer in memory). */
  async reloadCollection(collectionId: number): Promise<void> {
    await this.enqueueReload(collectionId);
  }

  /**
   * Top-k faces of the collection, best first, each with its person id: from memory (no query), or through
   * pgvector SQL for a collection kept out of memory. An in-memory collection without faces yet answers [].
   */
  async search(collectionId: number, query: Float32Array, opts: SearchOptions & { sqlMode?: 'exact' | 'hnsw' }): Promise<FaceHit[]> {
    if (query.length !== EMBEDDING_DIM) throw new RangeError(`query must have ${EMBEDDING_DIM} values`);
    const loaded = this.collections.get(collectionId);
    if (loaded) {
      const hits = await loaded.matcher.search(query, opts);
      for (const h of hits) h.personId = loaded.persons.get(h.faceId) ?? null;
      return hits;
    }
    const state = await getCollectionState(this.db, collectionId);
    if (!state || state.inMemory) return [];
    return searchCollectionSql(this.db, collectionId, query, { k: opts.k, threshold: opts.threshold, mode: opts.sqlMode ?? 'hnsw' });
  }

  /**
   * Names of the given persons (e.g. the personIds of search hits): from a cache kept in step with renames, a
   * query only for names not cached. Deleted persons are absent.
   */
  personNames(personIds: readonly number[]): Promise<Map<number, string>> {
    return this.names.resolve(personIds);
  }

  /**
   * Drops cached names after a committed rename, so this instance's next search shows the new name at once
   * (other instances learn through the notification the rename sends).
   */
  personsChanged(personIds: readonly number[]): void {
    this.names.forget(personIds);
  }

  /** The person of a face held in memory for the collection (null: none, or the face is not held). */
  personOf(collectionId: number, faceId: number): number | null {
    return this.collections.get(collectionId)?.persons.get(faceId) ?? null;
  }

  /** Faces held in memory for the collection (0 when none or not in memory). */
  size(collectionId: number): number {
    return this.collections.get(collectionId)?.matcher.size ?? 0;
  }

  /** Faces a search of the collection compares, when it is held in memory (undefined: it is searched in SQL). */
  comparedCount(collectionId: number): number | undefined {
    return this.collections.get(collectionId)?.matcher.size;
  }

  has(collectionId: number, faceId: number): boolean {
    return this.collections.get(collectionId)?.matcher.has(faceId) ?? false;
  }

  loadedCollectionIds(): number[] {
    return [...this.collections.keys()].sort((a, b) => a - b);
  }

  /** The matchers' memory plus the face -> person maps. */
  memoryBytes(): number {
    let total = 0;
    for (const c of this.collections.values()) total += c.matcher.memoryBytes() + c.persons.memoryBytes();
    return total;
  }

  /** Collections waiting to be reloaded after a failed re-read or reload. */
  staleCollections(): number[] {
    return [...this.stale].sort((a, b) => a - b);
  }

  /** Resolves when every change queued so far has been applied (tests, graceful stop). */
  async idle(): Promise<void> {
    while (this.draining) await this.draining;
  }

  private enqueueReload(collectionId: number): Promise<number> {
    return new Promise<void>((resolve, reject) => this.push({ kind: 'reload', collectionId, done: { resolve, reject } })).then(
      () => this.size(collectionId),
    );
  }

  private onNotification(payload: string): void {
    const change = parseFaceChange(payload);
    if (!change) {
      this.reportError(new Error('unreadable face change notification'), 'notification');
      return;
    }
    this.push({ kind: 'change', change });
  }

  private push(work: Work): void {
    if (this.closed) {
      if (work.kind !== 'change') work.done.reject(new Error('the face index is closed'));
      return;
    }
    this.queue.push(work);
    this.kick();
  }

  /** Starts draining unless a drain is running; work pushed while a drain was finishing starts a new one. */
  private kick(): void {
    if (this.draining) return;
    this.draining = this.drain().then(() => {
      this.draining = undefined;
      if (this.queue.length && !this.closed) this.kick();
    });
  }

  /** Applies queued work in order; consecutive face re-reads are merged into one query. Never rejects. */
  private async drain(): Promise<void> {
    while (this.queue.length && !this.closed) {
      const work = this.queue.shift()!;
      if (work.kind === 'reload') {
        await this.settle(work.done, () => this.reload(work.collectionId));
        continue;
      }
      // Merge the run of face re-reads and notifications at the head of the queue.
      const batch: Work[] = [work];
      while (this.queue.length && this.queue[0].kind !== 'reload' && batch.length < 1000) batch.push(this.queue.shift()!);
      const waiters = batch.flatMap((w) => (w.kind === 'faces' ? [w.done] : []));
      try {
        await this.applyBatch(batch);
        waiters.forEach((w) => w.resolve());
      } catch (err) {
        waiters.forEach((w) => w.reject(err as Error));
        this.reportError(err as Error, 'applying face changes');
        // The notified collections may now be behind without a version gap to show it: reload them.
        // Faces re-read for a local write may be in any collection: all of them are suspect then.
        const notified = new Set(batch.flatMap((w) => (w.kind === 'change' ? [w.change.collectionId] : [])));
        if (waiters.length) for (const id of this.collections.keys()) notified.add(id);
        for (const collectionId of notified) {
          this.stale.add(collectionId);
          this.queue.push({ kind: 'reload', collectionId, done: { resolve: () => {}, reject: (e) => this.reportError(e, 'reload') } });
        }
      }
    }
  }

  private async settle(done: Deferred, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
      done.resolve();
    } catch (err) {
      done.reject(err as Error);
    }
  }

  private async reload(collectionId: number): Promise<void> {
    try {
      await this.reloadNow(collectionId);
      this.stale.delete(collectionId);
    } catch (err) {
      this.stale.add(collectionId);
      throw err;
    }
  }

  private async reloadNow(collectionId: number): Promise<void> {
    const state = await getCollectionState(this.db, collectionId);
    const old = this.collections.get(collectionId);
    if (!state || !state.inMemory) {
      this.collections.delete(collectionId);
      old?.matcher.dispose();
      return;
    }
    // Build aside and swap, so searches keep answering from the old matcher meanwhile.
    const matcher = this.opts.createMatcher();
    const count = await countCollectionFaces(this.db, collectionId);
    const persons = new FacePersonMap(count);
    try {
      // Sized up front: growing a 1M-face matcher while it streams re-copies and re-faults its arrays.
      matcher.reserve?.(count);
      await loadCollection(
        this.db,
        collectionId,
        (batch) => {
          matcher.upsert(batch.ids, batch.embeddings);
          for (let i = 0; i < batch.ids.length; i++) if (batch.personIds[i] !== NO_PERSON) persons.set(batch.ids[i], batch.personIds[i]);
        },
        this.opts.load,
      );
    } catch (err) {
      matcher.dispose();
      throw err;
    }
    this.collections.set(collectionId, { matcher, persons, loadedVersion: state.version, seenVersion: state.version });
    old?.matcher.dispose();
  }

  private async applyBatch(batch: Work[]): Promise<void> {
    // Which (collection, face) pairs to re-read: from facesChanged, the face in every collection; from a
    // notification, the face in its collection. Whole-collection notifications become reloads.
    const everywhere = new Set<number>();
    const scoped = new Map<number, Set<number>>();
    const reloads = new Set<number>();
    for (const w of batch) {
      if (w.kind === 'faces') w.faceIds.forEach((id) => everywhere.add(id));
      if (w.kind !== 'change') continue;
      const { collectionId, faceId, op, version } = w.change;
      const loaded = this.collections.get(collectionId);
      if (op === 'drop') {
        reloads.add(collectionId);
        continue;
      }
      if (loaded && version !== undefined) {
        if (version <= loaded.loadedVersion) continue; // already in the load
        // One statement's changes share a version; versions advance by one per statement in commit order.
        if (version > loaded.seenVersion + 1) {
          reloads.add(collectionId); // a notification was lost
          continue;
        }
        loaded.seenVersion = Math.max(loaded.seenVersion, version);
      }
      if (op === 'reload' || faceId === undefined) reloads.add(collectionId);
      else {
        let faces = scoped.get(collectionId);
        if (!faces) scoped.set(collectionId, (faces = new Set()));
        faces.add(faceId);
      }
    }
    const faceIds = new Set([...everywhere, ...[...scoped.values()].flatMap((s) => [...s])]);
    if (faceIds.size) await this.reread([...faceIds], everywhere, scoped, reloads);
    for (const collectionId of reloads) await this.reload(collectionId);
  }

  private async reread(faceIds: number[], everywhere: Set<number>, scoped: Map<number, Set<number>>, reloads: Set<number>): Promise<void> {
    const { members, embeddings } = await readFaceMemberships(this.db, faceIds);
    const present = new Set<string>();
    const upserts = new Map<number, { ids: number[]; rows: number[]; persons: (number | null)[] }>();
    members.forEach((m, row) => {
      const wanted = everywhere.has(m.faceId) || scoped.get(m.collectionId)?.has(m.faceId);
      if (!wanted || reloads.has(m.collectionId)) return;
      present.add(`${m.collectionId}:${m.faceId}`);
      let u = upserts.get(m.collectionId);
      if (!u) upserts.set(m.collectionId, (u = { ids: [], rows: [], persons: [] }));
      u.ids.push(m.faceId);
      u.rows.push(row);
      u.persons.push(m.personId);
    });
    // Removals: a face the index holds where the database no longer has the membership.
    for (const [collectionId, loaded] of this.collections) {
      if (reloads.has(collectionId)) continue;
      const removeIfGone = (faceId: number) => {
        if (present.has(`${collectionId}:${faceId}`)) return;
        loaded.matcher.remove(faceId);
        loaded.persons.delete(faceId);
      };
      everywhere.forEach(removeIfGone);
      scoped.get(collectionId)?.forEach(removeIfGone);
    }
    for (const [collectionId, u] of upserts) {
      const loaded = this.collections.get(collectionId);
      if (!loaded) {
        // First face of a collection this instance has not loaded: load it whole rather than guess its version.
        reloads.add(collectionId);
        continue;
      }
      const vectors = new Float32Array(u.ids.length * EMBEDDING_DIM);
      u.rows.forEach((row, i) => vectors.set(embeddings.subarray(row * EMBEDDING_DIM, (row + 1) * EMBEDDING_DIM), i * EMBEDDING_DIM));
      loaded.matcher.upsert(u.ids, vectors);
      u.ids.forEach((faceId, i) => {
        const personId = u.persons[i];
        if (personId === null) loaded.persons.delete(faceId);
        else loaded.persons.set(faceId, personId);
      });
    }
  }

  /**
   * After the notification session was re-established: reloads every collection whose version differs from the
   * database's, every stale one, and any in-memory collection not loaded yet; clears the name cache. Retried
   * until it succeeds (the database may still be coming up).
   */
  async resync(): Promise<void> {
    if (this.closed) return;
    clearTimeout(this.resyncTimer);
    try {
      this.names.clear();
      this.namesVersion = await readPersonNamesVersion(this.db);
      const rows = await listInMemoryCollections(this.db);
      const ids = new Set<number>(this.stale);
      const inMemory = new Set(rows.map((c) => c.id));
      for (const c of rows) {
        const loaded = this.collections.get(c.id);
        if (!loaded || loaded.seenVersion !== c.version) ids.add(c.id);
      }
      for (const id of this.collections.keys()) if (!inMemory.has(id)) ids.add(id);
      await Promise.all([...ids].map((id) => this.enqueueReload(id)));
      this.opts.onResync?.([...ids]);
    } catch (err) {
      this.reportError(err as Error, 'resynchronising after the notification session was lost');
      if (!this.closed) {
        this.resyncTimer = setTimeout(() => void this.resync(), 1000);
        this.resyncTimer.unref();
      }
    }
  }

  /** Compares versions with the database; a collection behind on two checks in a row is reloaded. */
  private async checkVersions(): Promise<void> {
    if (this.closed) return;
    try {
      // A rename whose notification was lost would leave a stale name: start afresh when renames were committed.
      const namesVersion = await readPersonNamesVersion(this.db);
      if (namesVersion !== this.namesVersion) {
        this.names.clear();
        this.namesVersion = namesVersion;
      }
      const rows = await listInMemoryCollections(this.db);
      const behind = new Set<number>();
      for (const c of rows) {
        const loaded = this.collections.get(c.id);
        if (loaded && loaded.seenVersion < c.version) behind.add(c.id);
      }
      for (const id of behind) if (this.suspectedBehind.has(id)) void this.enqueueReload(id).catch((err) => this.reportError(err, 'reload'));
      for (const id of this.stale) if (!behind.has(id)) void this.enqueueReload(id).catch((err) => this.reportError(err, 'reload'));
      this.suspectedBehind = behind;
    } catch (err) {
      this.reportError(err as Error, 'version check');
    }
  }

  private reportError(err: Error, context: string): void {
    this.opts.onError?.(err, context);
  }
}
