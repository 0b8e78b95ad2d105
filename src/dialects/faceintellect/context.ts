// What every Face Intellect route needs: the domain services, image input limits, the settings (anonymous
// servers, automatic persons), the Sim scale; and the request helpers: the operation wrapper that gives errors
// their product code, the credentials (HTTP Basic, or none on a trusted network), and the server a request names.
import type Koa from 'koa';
import type { Config } from '../../config';
import { DomainError } from '../../domain/errors';
import type { CallContext } from '../../domain/events';
import { checkScope, SCOPES, type KeyGrant, type Scope } from '../../domain/keys';
import type { DomainServices } from '../../domain/services';
import { authenticateRequest, grantOf, readCredential } from '../../http/auth';
import { readImage, type ImageInputOptions } from '../../http/image-input';
import { params } from '../../http/params';
import type { Queryable } from '../../store/db';
import { FaceIntellectError, type Operation } from './errors';
import { simScale, type SimScale } from './similarity';

export const DIALECT = 'faceintellect';
export const KEY_KIND = 'faceintellect';

export interface FaceIntellectSettings {
  /** Servers (collection names) requests without credentials may use; empty: every request needs a key. */
  anonymousServers: string[];
  /** Servers (collection names) where FindFaces adds unrecognized faces as automatic persons; '*': all. */
  autoPersons: string[];
  /** The Sim of a recognition: FindFaces lists persons at or above it, and counts a recognition. */
  matchSim: number;
  /** FindFaces' quality from the engine's quality block (else the detector's confidence). */
  quality: boolean;
}

export function faceIntellectSettings(config: Config): FaceIntellectSettings {
  return { anonymousServers: config.faceintellectAnonymousServers, autoPersons: config.faceintellectAutoPersons, matchSim: config.faceintellectMatchSim, quality: config.faceintellectQuality };
}

export interface FaceIntellectDeps {
  services: DomainServices;
  /** The crops of enrolled faces (face_thumbnails), which GetImage answers when photos are not kept. */
  db: Queryable;
  image: ImageInputOptions;
  settings: FaceIntellectSettings;
}

export interface FaceIntellect extends FaceIntellectDeps {
  scale: SimScale;
  /** The cosine at the configured match Sim. */
  matchCosine: number;
}

export function faceIntellect(deps: FaceIntellectDeps): FaceIntellect {
  const scale = simScale(deps.services.calibration);
  return { ...deps, image: { ...deps.image, valueSources: ['json', 'form', 'multipart'] }, scale, matchCosine: scale.cosine(deps.settings.matchSim) };
}

export function callContext(ctx: Koa.Context, endpoint: string): CallContext {
  return { dialect: DIALECT, endpoint, requestId: ctx.requestId };
}

/** Route middleware: the request's failures are this operation's (see errors.ts), and it needs this scope. */
export function operation(op: Operation, scope: Scope): Koa.Middleware {
  return async (ctx, next) => {
    try {
      checkScope(grantOf(ctx), scope);
      await next();
    } catch (err) {
      throw err instanceof FaceIntellectError ? err : new FaceIntellectError(op, err);
    }
  };
}

/**
 * Authentication: HTTP Basic (user and password of a faceintellect key; Face PSIM puts them in the URL, which
 * clients send as Basic). A request without any credentials may use the anonymous servers when some are
 * configured (FACEINTELLECT_ANONYMOUS_SERVERS, a trusted network: Face Intellect 8.x sends none).
 */
export function faceIntellectAuth(fi: FaceIntellect): Koa.Middleware {
  let anonymous: Promise<KeyGrant> | undefined;
  const anonymousGrant = () =>
    (anonymous ??= (async () => {
      const ids: number[] = [];
      for (const name of fi.settings.anonymousServers) ids.push((await fi.services.collections.ensure(name)).id);
      return { keyId: 0, kind: KEY_KIND, scopes: [...SCOPES], collectionIds: ids };
    })().catch((err: unknown) => {
      anonymous = undefined;
      throw err;
    }));
  return async (ctx, next) => {
    if (fi.settings.anonymousServers.length && !readCredential(ctx, ['basic'])) ctx.state.grant = await anonymousGrant();
    else ctx.state.grant = await authenticateRequest(ctx, { keys: fi.services.keys, schemes: ['basic'], kinds: [KEY_KIND] });
    await next();
  };
}

export interface Server {
  id: number;
  name: string;
  /** FindFaces adds unrecognized faces here as automatic persons. */
  autoPersons: boolean;
}

/**
 * The recognition server `server_id` names, among the collections the credentials may see: the collection of
 * that name, else (a number n) the n-th of them, the key's default first. Face Intellect numbers its servers
 * from 1, so a key made with one collection answers to server_id "1" whatever the collection is called.
 */
export async function serverOf(ctx: Koa.Context, fi: FaceIntellect): Promise<Server> {
  const asked = params(ctx).string('server_id', { required: true, missingMessage: 'server_id is required' });
  const ids = grantOf(ctx).collectionIds;
  const collections = await fi.services.collections.list(ids);
  const byId = new Map(collections.map((c) => [c.id, c]));
  const ordered = ids.map((id) => byId.get(id)).filter((c) => c !== undefined);
  let found = ordered.find((c) => c.name === asked);
  if (!found && /^\d{1,6}$/.test(asked)) found = ordered[Number(asked) - 1];
  if (!found) throw new DomainError('COLLECTION_NOT_FOUND', `no Face Recognition Server "${asked}" for these credentials`, { collection: asked });
  const auto = fi.settings.autoPersons;
  return { id: found.id, name: found.name, autoPersons: auto.includes('*') || auto.includes(found.name) };
}

/** The base64 image of the request's `image`; MISSING_IMAGE when absent. */
export async function requireImage(ctx: Koa.Context, fi: FaceIntellect): Promise<Buffer> {
  const image = await readImage(ctx, 'image', fi.image);
  if (!image) throw new DomainError('MISSING_IMAGE', 'image is required (a base64 JPEG)', { param: 'image' });
  return image;
}
