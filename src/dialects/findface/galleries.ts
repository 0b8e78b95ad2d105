// FindFace's galleries over the key's collections. "default" always exists and holds every face: it is the
// whole of what the token may see, and faces created here are written to the key's first (default)
// collection. Each other collection the key may see is a gallery: one created here (POST /galleries/<g>) is a
// new collection granted to the key and shown by the name it was created with; a collection granted by an
// administrator (e.g. shared with a CompreFace key) is shown by its own name.
import type Koa from 'koa';
import type { Collection } from '../../domain/collections';
import { DomainError } from '../../domain/errors';
import { grantOf } from '../../http/auth';
import type { FindFace } from './context';
import { badParam } from './errors';

export const DEFAULT_GALLERY = 'default';
export const GALLERY_NAME_RE = /^[a-zA-Z0-9_-]{1,48}$/;
/** Where a gallery created through this dialect keeps the name it was created with. */
const NAME_ATTRIBUTE = 'findface_gallery';

export class Galleries {
  private readonly byId = new Map<number, string>();

  constructor(
    /** The key's collections, its default first. */
    readonly collections: readonly Collection[],
  ) {
    for (const c of collections.slice(1)) this.byId.set(c.id, galleryName(c));
  }

  /** Every collection the key may see. */
  get scope(): number[] {
    return this.collections.map((c) => c.id);
  }

  get defaultId(): number {
    return this.collections[0].id;
  }

  /** Gallery names, default first. */
  names(): string[] {
    return [DEFAULT_GALLERY, ...[...this.byId.values()].sort()];
  }

  /** A face's galleries: default, then the others it is in. */
  of(collectionIds: readonly number[]): string[] {
    const names = collectionIds.flatMap((id) => this.byId.get(id) ?? []);
    return [DEFAULT_GALLERY, ...[...new Set(names)].sort()];
  }

  /** The collection of a gallery other than default; NOT_FOUND for unknown names, BAD_PARAM for bad ones. */
  idOf(name: string, param = 'gallery'): number {
    for (const [id, n] of this.byId) if (n === name) return id;
    if (!GALLERY_NAME_RE.test(name) && name !== DEFAULT_GALLERY) throw badParam(param, name, 'a gallery name is 1 to 48 letters, digits, "_" or "-"');
    throw new DomainError('COLLECTION_NOT_FOUND', `gallery ${name} not found`, { collection: name });
  }

  /** The collections a gallery named in the path stands for: all of them for default. */
  within(name: string): number[] {
    return name === DEFAULT_GALLERY ? this.scope : [this.idOf(name)];
  }

  /** Whether the collection was made through this dialect (and may be deleted through it). */
  ownsGallery(id: number): boolean {
    const c = this.collections.find((x) => x.id === id);
    return typeof c?.attributes[NAME_ATTRIBUTE] === 'string';
  }
}

function galleryName(c: Collection): string {
  const own = c.attributes[NAME_ATTRIBUTE];
  return typeof own === 'string' ? own : c.name;
}

/** The request's galleries (its key's collections). */
export async function galleriesOf(ff: FindFace, ctx: Koa.Context): Promise<Galleries> {
  const ids = grantOf(ctx).collectionIds;
  if (!ids.length) throw new DomainError('KEY_INVALID', 'this token has no face collection');
  const collections: Collection[] = [];
  for (const id of ids) {
    try {
      collections.push(await ff.services.collections.get(id));
    } catch (err) {
      if (!(err instanceof DomainError && err.code === 'COLLECTION_NOT_FOUND')) throw err; // deleted since the grant was read
    }
  }
  if (!collections.length || collections[0].id !== ids[0]) throw new DomainError('KEY_INVALID', 'this token\'s face collection is gone');
  return new Galleries(collections);
}

/** A new gallery granted to the key: its collection is named after the key's default one, so names never clash. */
export async function createGallery(ff: FindFace, ctx: Koa.Context, g: Galleries, name: string): Promise<void> {
  if (name === DEFAULT_GALLERY || g.names().includes(name)) throw badParam('name', name, `gallery ${name} already exists`);
  if (!GALLERY_NAME_RE.test(name)) throw badParam('name', name, 'a gallery name is 1 to 48 letters, digits, "_" or "-"');
  await ff.services.keys.createCollectionFor(grantOf(ctx).keyId, `${g.collections[0].name}/${name}`, { [NAME_ATTRIBUTE]: name });
}
