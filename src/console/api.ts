// The console's JSON API (/console/api/...), over the domain services like any dialect, as an operator who may
// see every collection. Every route but signing in needs a session (http.ts); changes need its CSRF token.
import Router from '@koa/router';
import type Koa from 'koa';
import type { DomainServices } from '../domain/services';
import { DomainError } from '../domain/errors';
import type { Face } from '../domain/faces';
import type { Person } from '../domain/persons';
import type { Db } from '../store/db';
import { listCameras } from '../store/cameras';
import { clientAddress } from '../http/client-address';
import { params } from '../http/params';
import { HttpError } from '../http/errors';
import type { Upload } from '../http/multipart';
import type { OperatorAccounts, Session, Sessions } from './accounts';
import { ENROL_ATTRIBUTES, enrolOutcomeOf, refuseLowQuality } from './enrolment';
import { ConsoleError } from './errors';
import { CONSOLE_PATH, publicPrefix, requireSession, sameOriginOnly, setSessionCookie } from './http';
import * as q from './queries';
import { SignInThrottle } from './sign-in';
import type { FaceCropper } from './thumbnails';
import type { StatusSource } from './status';

/** The false-accept rate at which the console calls a search or a comparison a match. */
export const MATCH_FAR = 1e-3;

export interface ConsoleApiOptions {
  services: DomainServices;
  db: Db;
  sessions: Sessions;
  operators: OperatorAccounts;
  /** sha-256 of the admin secret (signs in without an account). */
  adminSecretMatches: (secret: string) => boolean;
  /** CONSOLE_PATH_PREFIX. */
  pathPrefix: string;
  /** Cuts face crops from stored photos (null: no sharp at hand; faces without a kept crop show none). */
  cropper: FaceCropper | null;
  /** Keep crops cut from stored photos (THUMBNAILS). */
  keepCrops: boolean;
  status: StatusSource;
  /** The dialect names recognition events may carry (the history filter offers them). */
  dialectNames: readonly string[];
}

const API = `${CONSOLE_PATH}/api`;

export function consoleApi(o: ConsoleApiOptions): Router {
  const { services, db } = o;
  const router = new Router();
  const throttle = new SignInThrottle();
  const matchCosine = services.calibration.cosineAtFar(MATCH_FAR);
  /** Every collection: the console's operator sees them all. */
  const everything = async () => (await services.collections.list()).map((c) => c.id);
  const noStore: Koa.Middleware = async (ctx, next) => {
    ctx.set('Cache-Control', 'no-store');
    await next();
  };

  router.use(API, noStore, sameOriginOnly());

  // ---- session
  router.post(`${API}/session`, async (ctx) => {
    if (!ctx.is('application/json')) throw new ConsoleError('CSRF', 'sign in with a JSON body');
    const p = params(ctx, ['json']);
    const secret = p.string('secret', { trim: false });
    const username = p.string('username');
    const address = clientAddress(ctx); // behind a proxy in TRUSTED_PROXIES, the client it forwards
    const who = secret !== undefined ? 'admin' : (username ?? '');
    throttle.check(address, who);
    let operatorId: number | null;
    if (secret !== undefined) {
      if (!o.adminSecretMatches(secret)) return signInFailed(ctx, address, who, 'wrong admin secret');
      operatorId = null;
    } else {
      const password = p.string('password', { required: true, trim: false });
      if (!username) throw new DomainError('MISSING_ARGUMENT', 'give the admin secret, or a user name and password', { param: 'username' });
      const operator = await o.operators.verify(username, password);
      if (!operator) return signInFailed(ctx, address, who, 'wrong user name or password');
      operatorId = operator.id;
    }
    throttle.succeeded(address, who);
    const { token, session } = await o.sessions.open(operatorId);
    setSessionCookie(ctx, publicPrefix(ctx, o.pathPrefix), token);
    ctx.log.info({ user: session.user }, 'console sign-in');
    ctx.body = sessionJson(o.sessions, session);
  });
  function signInFailed(ctx: Koa.Context, address: string, who: string, message: string): never {
    throttle.failed(address, who);
    ctx.log.warn({ user: who === 'admin' ? 'admin' : 'operator' }, 'console sign-in failed');
    throw new ConsoleError('SIGN_IN_FAILED', message);
  }

  // Everything below needs a live session.
  router.use(API, requireSession(o.sessions));
  router.get(`${API}/session`, (ctx) => {
    ctx.body = sessionJson(o.sessions, ctx.state.consoleSession!);
  });
  router.delete(`${API}/session`, async (ctx) => {
    await o.sessions.close(ctx.state.consoleSession!.token);
    setSessionCookie(ctx, publicPrefix(ctx, o.pathPrefix), null);
    ctx.status = 204;
  });

  // ---- collections
  router.get(`${API}/collections`, async (ctx) => {
    const sizes = o.status.matcherSizes();
    ctx.body = {
      collections: (await services.collections.list()).map((c) => ({
        id: c.id,
        name: c.name,
        faces: c.faces,
        persons: c.persons,
        inMemory: c.inMemory,
        matcherSize: sizes.get(c.id) ?? null,
        createdAt: c.createdAt,
      })),
    };
  });
  router.post(`${API}/collections`, async (ctx) => {
    const name = collectionName(ctx);
    ctx.status = 201;
    ctx.body = { collection: await services.collections.create(name) };
  });
  router.patch(`${API}/collections/:id`, async (ctx) => {
    ctx.body = { collection: await services.collections.rename(idParam(ctx), collectionName(ctx)) };
  });
  router.delete(`${API}/collections/:id`, async (ctx) => {
    const id = idParam(ctx);
    const c = await services.collections.get(id);
    // The name typed again: a confirmation the server checks too, not only the page.
    const confirm = params(ctx, ['query']).string('confirm', { trim: false });
    if (confirm !== c.name) throw new DomainError('INVALID_ARGUMENT', `type the collection's name to delete it`, { param: 'confirm' });
    await services.collections.delete(id);
    ctx.status = 204;
  });

  // ---- persons
  router.get(`${API}/persons`, async (ctx) => {
    const p = params(ctx, ['query']);
    const size = p.int('size', { min: 1, max: 200 }) ?? 24;
    const page = p.int('page', { min: 0, max: 1_000_000 }) ?? 0;
    const result = await q.listPersonRows(db, { collectionId: p.int('collection', { min: 1 }), search: p.string('q'), page, size });
    ctx.body = { ...result, page, size };
  });
  router.post(`${API}/persons`, async (ctx) => {
    const p = params(ctx, ['json']);
    const collectionId = p.int('collection', { required: true, min: 1 });
    await services.collections.get(collectionId);
    ctx.status = 201;
    ctx.body = { person: await services.persons.create({ name: p.string('name', { required: true }), ownerCollectionId: collectionId }) };
  });
  router.get(`${API}/persons/:id`, async (ctx) => {
    const scope = await everything();
    const person = await services.persons.get(idParam(ctx), scope);
    const faces = await services.faces.list(scope, { personId: person.id });
    const events = await q.listEventRows(db, { personId: person.id }, { limit: 50 });
    ctx.body = { person: personJson(person), faces: faces.map(faceJson), events };
  });
  router.patch(`${API}/persons/:id`, async (ctx) => {
    const p = params(ctx, ['json']);
    const id = idParam(ctx);
    await services.persons.get(id, await everything());
    const text = (name: string) => {
      const v = p.find(name) ? p.string(name, { blankIsAbsent: false }) : undefined;
      return v === undefined ? undefined : v === '' ? null : v;
    };
    const name = p.string('name');
    const person = await services.persons.update(id, {
      ...(name !== undefined ? { name } : {}),
      ...optional('surname', text('surname')),
      ...optional('department', text('department')),
      ...optional('comment', text('comment')),
    });
    ctx.body = { person: personJson(person) };
  });
  router.post(`${API}/persons/:id/merge`, async (ctx) => {
    const scope = await everything();
    const from = await services.persons.get(idParam(ctx), scope);
    const into = await services.persons.get(params(ctx, ['json']).int('into', { required: true, min: 1 }), scope);
    if (from.id === into.id) throw new DomainError('INVALID_ARGUMENT', 'a person cannot be merged into itself', { param: 'into' });
    await services.persons.merge(from.id, into.id);
    ctx.body = { person: personJson(await services.persons.get(into.id, scope)) };
  });
  router.delete(`${API}/persons/:id`, async (ctx) => {
    const id = idParam(ctx);
    await services.persons.get(id, await everything());
    await services.persons.delete(id);
    ctx.status = 204;
  });

  // ---- enrolment: one photo per request (the page sends several, showing each one's progress and outcome)
  router.post(`${API}/enrol`, async (ctx) => {
    const p = params(ctx, ['multipart', 'query']);
    const collectionId = p.int('collection', { required: true, min: 1 });
    const personId = p.int('person', { min: 1 });
    const name = p.string('name');
    await services.collections.get(collectionId);
    if (personId !== undefined) await services.persons.get(personId, await everything());
    else if (name === undefined) throw new DomainError('MISSING_ARGUMENT', 'name the person (person or name)', { param: 'person' });
    const image = oneFile(ctx, 'file');
    try {
      const r = await services.faces.enrol(image.bytes, {
        collectionIds: [collectionId],
        owner: personId !== undefined ? { personId } : { namedIn: { namespaceId: collectionId, name: name! } },
        select: 'dominant',
        attributes: [...ENROL_ATTRIBUTES],
        check: refuseLowQuality,
      });
      ctx.status = 201;
      ctx.body = { outcome: 'enrolled', face: faceJson(r.faces[0].face), person: r.person && personJson(r.person) };
    } catch (err) {
      const outcome = enrolOutcomeOf(err);
      if (!outcome || outcome === 'failed') throw err;
      ctx.status = 422;
      ctx.body = { outcome, message: (err as Error).message, file: image.filename };
    }
  });
  router.delete(`${API}/faces/:id`, async (ctx) => {
    const deleted = await services.faces.delete([idParam(ctx)], await everything());
    if (!deleted.length) throw new DomainError('FACE_NOT_FOUND', `face ${ctx.params.id} not found`, { face: ctx.params.id });
    ctx.status = 204;
  });
  router.get(`${API}/faces/:id/thumbnail`, async (ctx) => {
    const id = idParam(ctx);
    let jpeg = await q.faceThumbnail(db, id);
    if (!jpeg) {
      const scope = await everything();
      const face = await services.faces.get(id, scope);
      const photo = face.box && o.cropper ? await services.faces.photo(id, scope) : undefined;
      if (!photo || !face.box || !o.cropper) throw new DomainError('FACE_NOT_FOUND', 'no crop of this face is kept, nor its photo', { face: id });
      jpeg = await o.cropper.crop(photo.bytes, face.box);
      if (o.keepCrops) await q.saveFaceThumbnail(db, id, jpeg);
    }
    sendJpeg(ctx, jpeg);
  });

  // ---- search and compare
  router.post(`${API}/search`, async (ctx) => {
    const p = params(ctx, ['multipart', 'query']);
    const scope = await everything();
    const only = p.int('collection', { min: 1 });
    if (only !== undefined) await services.collections.get(only);
    const image = oneFile(ctx, 'file');
    const r = await services.identification.identifyImage(
      image.bytes,
      {},
      { collectionIds: only !== undefined ? [only] : scope, limit: p.int('limit', { min: 1, max: 20 }) ?? 5, by: 'person', matchCosine },
      { dialect: 'console', endpoint: 'search', requestId: ctx.requestId },
    );
    ctx.body = {
      width: r.analysis.width,
      height: r.analysis.height,
      matchCosine,
      matchFar: MATCH_FAR,
      faces: r.faces.map(({ face, matches }) => ({
        box: face.box,
        matches: matches.map((m) => ({ ...m, match: m.cosine >= matchCosine })),
      })),
    };
  });
  router.post(`${API}/verify`, async (ctx) => {
    const a = oneFile(ctx, 'a');
    const b = oneFile(ctx, 'b');
    const r = await services.verification.compareImages(
      a.bytes,
      b.bytes,
      {},
      { matchCosine, sourceSelect: 'all', targetSelect: 'all' },
      { dialect: 'console', endpoint: 'verify', requestId: ctx.requestId },
    );
    const side = (s: typeof r.source) => ({ width: s.analysis.width, height: s.analysis.height, faces: s.faces.map((f) => f.box) });
    ctx.body = {
      a: side(r.source),
      b: side(r.target),
      matchCosine,
      matchFar: MATCH_FAR,
      scores: r.scores.map((row) => row.map((s) => ({ ...s, match: s.cosine >= matchCosine }))),
    };
  });

  // ---- history
  router.get(`${API}/events`, async (ctx) => {
    const p = params(ctx, ['query']);
    const before = p.string('before');
    if (before !== undefined && !q.validCursor(before)) throw new DomainError('INVALID_ARGUMENT', 'before must be a cursor from a previous page', { param: 'before' });
    const limit = p.int('limit', { min: 1, max: 200 }) ?? 50;
    const events = await q.listEventRows(db, eventFilter(ctx), { before, limit: limit + 1 });
    ctx.body = { events: events.slice(0, limit), next: events.length > limit ? events[limit - 1].cursor : null };
  });
  router.get(`${API}/events/stats`, async (ctx) => {
    const p = params(ctx, ['query']);
    const timeZone = p.string('tz') ?? 'UTC';
    if (!validTimeZone(timeZone)) throw new DomainError('INVALID_ARGUMENT', `unknown time zone "${timeZone}"`, { param: 'tz', value: timeZone });
    const filter = eventFilter(ctx);
    const bucket = p.enum('bucket', ['hour', 'day'] as const) ?? 'hour';
    const from = filter.from?.getTime() ?? Date.now() - 7 * 86_400_000;
    const to = filter.to?.getTime() ?? Date.now();
    if ((to - from) / (bucket === 'hour' ? 3_600_000 : 86_400_000) > 5000) {
      throw new DomainError('INVALID_ARGUMENT', 'too many buckets: narrow the time range or count per day', { param: 'bucket' });
    }
    ctx.body = await q.eventStats(db, { ...filter, from: new Date(from), to: new Date(to) }, bucket, timeZone);
  });
  router.get(`${API}/events/facets`, async (ctx) => {
    const seen = await q.eventFacets(db);
    const cameras = await listCameras(db);
    ctx.body = {
      dialects: [...new Set([...o.dialectNames, ...seen.dialects])].sort(),
      verdicts: [...new Set(['match', 'no_match', ...seen.verdicts])].sort(),
      cameras: cameras.map((c) => ({ id: c.id, name: c.name })),
    };
  });
  router.get(`${API}/events/:id/thumbnail`, async (ctx) => {
    const jpeg = await q.eventThumbnail(db, idParam(ctx));
    if (!jpeg) throw new HttpError('NOT_FOUND', 'this event has no thumbnail');
    sendJpeg(ctx, jpeg);
  });

  // ---- keys
  router.get(`${API}/keys`, async (ctx) => {
    const all = params(ctx, ['query']).boolean('all') ?? false;
    ctx.body = { keys: await services.keys.list({ includeRevoked: all }), kinds: services.keys.kindRules() };
  });
  router.post(`${API}/keys`, async (ctx) => {
    const p = params(ctx, ['json']);
    const { key, info } = await services.keys.create(p.string('kind', { required: true }), {
      scopes: p.list('scopes'),
      collections: p.list('collections'),
      name: p.string('name'),
      user: p.string('user'),
    });
    ctx.log.info({ kind: info.kind, prefix: info.prefix, user: ctx.state.consoleSession!.user }, 'console created a key');
    ctx.status = 201;
    ctx.body = { key, info };
  });
  router.post(`${API}/keys/:id/revoke`, async (ctx) => {
    const id = idParam(ctx);
    const target = (await services.keys.list()).find((k) => k.id === id);
    if (!target) throw new DomainError('INVALID_ARGUMENT', `no active key ${id}`, { param: 'id', value: id });
    const revoked = await services.keys.revoke(target.user ?? target.prefix);
    if (!revoked.some((k) => k.id === id)) {
      throw new DomainError('INVALID_ARGUMENT', `another active key shares the prefix ${target.prefix}: revoke this one with the CLI and its whole secret`, { param: 'id' });
    }
    ctx.log.info({ kind: target.kind, prefix: target.prefix, user: ctx.state.consoleSession!.user }, 'console revoked a key');
    ctx.body = { revoked };
  });

  // ---- status
  router.get(`${API}/status`, async (ctx) => {
    ctx.body = await o.status.report();
  });

  return router;
}

function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}

function idParam(ctx: Koa.Context): number {
  const raw = ctx.params.id as string;
  if (!/^\d{1,15}$/.test(raw)) throw new DomainError('INVALID_ARGUMENT', `"${raw}" is not an id`, { param: 'id', value: raw });
  return Number(raw);
}

function collectionName(ctx: Koa.Context): string {
  const name = params(ctx, ['json']).string('name', { required: true });
  if (name.length > 200) throw new DomainError('INVALID_ARGUMENT', 'a collection name has at most 200 characters', { param: 'name' });
  return name;
}

function oneFile(ctx: Koa.Context, field: string): Upload {
  const file = ctx.request.uploads?.[field]?.[0];
  if (!file || !file.bytes.length) throw new DomainError('MISSING_IMAGE', `send the photo as the multipart file "${field}"`, { param: field });
  return file;
}

function eventFilter(ctx: Koa.Context): q.EventFilter {
  const p = params(ctx, ['query']);
  const date = (name: string) => {
    const raw = p.string(name);
    if (raw === undefined) return undefined;
    const d = new Date(raw);
    if (Number.isNaN(d.getTime())) throw new DomainError('INVALID_ARGUMENT', `${name} must be a date and time (ISO 8601)`, { param: name, value: raw });
    return d;
  };
  const known = p.enum('known', ['known', 'unknown'] as const);
  return {
    collectionId: p.int('collection', { min: 1 }),
    cameraId: p.int('camera', { min: 1 }),
    personId: p.int('person', { min: 1 }),
    dialect: p.string('dialect'),
    verdict: p.string('verdict'),
    known: known === undefined ? undefined : known === 'known',
    from: date('from'),
    to: date('to'),
  };
}

function validTimeZone(tz: string): boolean {
  if (!/^[A-Za-z0-9_+\-/]{1,64}$/.test(tz)) return false;
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function sendJpeg(ctx: Koa.Context, jpeg: Buffer): void {
  ctx.type = 'image/jpeg';
  ctx.set('Cache-Control', 'private, no-store');
  ctx.body = jpeg;
}

function sessionJson(sessions: Sessions, s: Session) {
  return { user: s.user, csrfToken: s.csrfToken, signedInAt: s.createdAt, expiresAt: s.expiresAt, idleExpiresAt: sessions.idleDeadline(s) };
}

function personJson(p: Person) {
  return {
    id: p.id,
    uuid: p.uuid,
    name: p.name,
    surname: p.surname,
    patronymic: p.patronymic,
    department: p.department,
    comment: p.comment,
    ownerCollectionId: p.ownerCollectionId,
    attributes: p.attributes,
    recognitionCount: p.recognitionCount,
    lastRecognizedAt: p.lastRecognizedAt,
    createdAt: p.createdAt,
  };
}

function faceJson(f: Face) {
  const { estimated, ...data } = f.attributes as { estimated?: Record<string, unknown> } & Record<string, unknown>;
  return {
    id: f.id,
    uuid: f.uuid,
    personId: f.personId,
    collectionIds: f.collectionIds,
    box: f.box,
    photoKept: f.photoId !== null,
    quality: f.quality,
    estimated: estimated ? { age: estimated.age, gender: estimated.gender, pose: estimated.pose } : null,
    data,
    cameraId: f.cameraId,
    createdAt: f.createdAt,
  };
}
