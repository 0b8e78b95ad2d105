// FindFace's routes (seed 001 and NtechLab's docs), each served under /v0 and /v1: the table below is what the
// router serves and what the OpenAPI document describes.
import type Koa from 'koa';
import type Router from '@koa/router';
import { boxOverlap, SAME_FACE_OVERLAP } from '../../domain/analysis';
import { DomainError } from '../../domain/errors';
import type { Scope } from '../../domain/keys';
import type { AttributeName } from '../../domain/types';
import { keyAuth } from '../../http/auth';
import { params } from '../../http/params';
import { faceThumbnail, saveFaceThumbnail } from '../../console/queries';
import { countFaces, facesByPersonName, getFace } from '../../store/faces';
import type { Face } from '../../domain/faces';
import {
  analysing,
  boxKey,
  bboxJson,
  pathId,
  readBool,
  readBoxes,
  readCamId,
  readInt,
  readMeta,
  readMfSelector,
  readPhoto,
  readProbeBox,
  readThreshold,
  callContext,
  signatureMatches,
  unversioned,
  versionOf,
  VERSIONS,
  type FindFace,
  type Version,
} from './context';
import { attributesJson, friendsAmong, PHOTO_URL } from './face-json';
import { assignPersons, chooseFaces, detectionLimit, renderFaces } from './faces';
import { createGallery, DEFAULT_GALLERY, galleriesOf, type Galleries } from './galleries';
import { badParam } from './errors';
import { historyRoute, personHistoryRoute } from './history';

export type Method = 'get' | 'post' | 'put' | 'delete';

export interface RouteSpec {
  method: Method;
  /** After the version prefix, koa-router style. */
  path: string;
  /** The scope the token needs; null: no token (the docs). */
  scope: Scope | null;
  summary: string;
  op: Op;
  /** Also opened by a signature in the URL (`sig`) instead of a token. */
  signed?: boolean;
}

export type Op =
  | 'detect' | 'verify' | 'identify' | 'identifyGallery' | 'createFace' | 'getFace' | 'updateFace' | 'deleteFace' | 'facePhoto'
  | 'faceThumbnail' | 'facesByMeta' | 'deleteByMeta' | 'galleryFacesByMeta' | 'faces' | 'galleryFaces' | 'meta' | 'faceMetaList' | 'galleryMeta'
  | 'galleries' | 'createGalleryByBody' | 'createGallery' | 'deleteGallery' | 'persons' | 'person' | 'personHistory' | 'historySearch'
  | 'historySearchGet' | 'docs' | 'docsVersion'; // prettier-ignore

export const ROUTES: readonly RouteSpec[] = [
  { method: 'post', path: '/detect', scope: 'detect', op: 'detect', summary: 'Faces on a photo (v1: gender, age, emotions on request)' },
  { method: 'post', path: '/verify', scope: 'verify', op: 'verify', summary: 'Whether the faces of two photos are the same person' },
  { method: 'post', path: '/identify', scope: 'identify', op: 'identify', summary: 'The most similar faces of every gallery' },
  { method: 'post', path: '/faces/gallery/:gallery/identify', scope: 'identify', op: 'identifyGallery', summary: 'The most similar faces of one gallery' },
  { method: 'post', path: '/face', scope: 'write', op: 'createFace', summary: 'Adds the faces of a photo (meta, galleries, bbox, mf_selector, cam_id)' },
  { method: 'get', path: '/face/id/:id', scope: 'read', op: 'getFace', summary: 'One face' },
  { method: 'put', path: '/face/id/:id', scope: 'write', op: 'updateFace', summary: 'Changes a face\'s meta, person_id or galleries (add / del / set)' },
  { method: 'delete', path: '/face/id/:id', scope: 'write', op: 'deleteFace', summary: 'Deletes a face' },
  { method: 'get', path: '/face/id/:id/photo', scope: 'read', op: 'facePhoto', signed: true, summary: 'The photo a face was uploaded in (kept with SAVE_IMAGES)' },
  { method: 'get', path: '/face/id/:id/thumbnail', scope: 'read', op: 'faceThumbnail', signed: true, summary: 'A JPEG crop of the face' },
  { method: 'get', path: '/face/meta/:meta', scope: 'read', op: 'facesByMeta', summary: 'The faces with this meta' },
  { method: 'delete', path: '/face/meta/:meta', scope: 'write', op: 'deleteByMeta', summary: 'Deletes the faces with this meta' },
  { method: 'get', path: '/face/gallery/:gallery/meta/:meta', scope: 'read', op: 'galleryFacesByMeta', summary: 'The faces of a gallery with this meta' },
  { method: 'get', path: '/faces', scope: 'read', op: 'faces', summary: 'All faces, newest first, paged by max_id / min_id' },
  { method: 'get', path: '/faces/gallery/:gallery', scope: 'read', op: 'galleryFaces', summary: 'The faces of a gallery, paged by max_id / min_id' },
  { method: 'get', path: '/meta', scope: 'read', op: 'meta', summary: 'Every meta with its face count and first face' },
  { method: 'get', path: '/face/meta', scope: 'read', op: 'faceMetaList', summary: 'As /meta (the path some FindFace clients list metas on)' },
  { method: 'get', path: '/meta/gallery/:gallery', scope: 'read', op: 'galleryMeta', summary: 'Every meta of a gallery with its face count and first face' },
  { method: 'get', path: '/galleries', scope: 'read', op: 'galleries', summary: 'The token\'s galleries, default first' },
  { method: 'post', path: '/galleries', scope: 'write', op: 'createGalleryByBody', summary: 'Creates the gallery named in the body ({"name"})' },
  { method: 'post', path: '/galleries/:gallery', scope: 'write', op: 'createGallery', summary: 'Creates a gallery' },
  { method: 'delete', path: '/galleries/:gallery', scope: 'write', op: 'deleteGallery', summary: 'Deletes a gallery and its faces' },
  { method: 'get', path: '/persons', scope: 'read', op: 'persons', summary: 'Every person' },
  { method: 'get', path: '/person/id/:id', scope: 'read', op: 'person', summary: 'One person with its faces' },
  { method: 'get', path: '/person/history/id/:id', scope: 'read', op: 'personHistory', summary: 'A person\'s camera history (cam_ids, start, end)' },
  { method: 'post', path: '/history/search', scope: 'read', op: 'historySearch', summary: 'Camera history (person_id, cam_ids, start, end, friend, limit), paged by next_page' },
  { method: 'get', path: '/history/search', scope: 'read', op: 'historySearchGet', summary: 'Camera history, the parameters in the query string (next_page)' },
  { method: 'get', path: '/docs', scope: null, op: 'docs', summary: 'The documented API versions (no token)' },
  { method: 'get', path: '/docs/:version', scope: null, op: 'docsVersion', summary: 'One API version\'s methods (no token)' },
];

export const MAX_N = 1000;
const PAGE_DEFAULT = 100;
const PAGE_MAX = 1000;

/**
 * The face of a photo or thumbnail URL: opened by the URL's signature (as the face objects hand it out: the URL
 * works without a token, like FindFace's own static photo URLs, and cannot be guessed), or by a token that may
 * see the face.
 */
async function photoFace(ff: FindFace, ctx: Koa.Context): Promise<{ face: Face; scope: readonly number[] }> {
  const id = pathId(ctx.params.id, 'face');
  if (ctx.state.grant) {
    const g = await galleriesOf(ff, ctx);
    return { face: await ff.services.faces.get(id, g.scope), scope: g.scope };
  }
  const face = await getFace(ff.db, id);
  if (!face || !(await signatureMatches(ff, face, ctx.query.sig))) throw new DomainError('FACE_NOT_FOUND', `face ${id} not found`, { face: id });
  return { face, scope: face.collectionIds };
}

/** Answers 200 with an empty body (FindFace answers deletes with an empty body; some clients take only 200). */
function empty(ctx: Koa.Context): void {
  ctx.body = '';
  ctx.status = 200;
}

function roundConfidence(c: number): number {
  return Math.round(c * 1e6) / 1e6;
}

function v1Attributes(ctx: Koa.Context): AttributeName[] {
  if (versionOf(ctx) !== 'v1') return [];
  const out: AttributeName[] = [];
  if (readBool(ctx, 'gender')) out.push('gender');
  if (readBool(ctx, 'age')) out.push('age');
  if (readBool(ctx, 'emotions')) out.push('emotion');
  return out;
}

async function identify(ff: FindFace, ctx: Koa.Context, gallery?: string): Promise<void> {
  const g = await galleriesOf(ff, ctx);
  const within = gallery === undefined ? g.scope : g.within(gallery);
  const select = readMfSelector(ctx);
  const box = readProbeBox(ctx);
  const threshold = readThreshold(ff, ctx);
  const n = readInt(ctx, 'n', 1, 1, MAX_N);
  readBool(ctx, 'strict'); // one store, always whole: nothing to be strict about
  const photo = await readPhoto(ff, ctx, 'photo');
  const analysis = await analysing('photo', photo.url, () =>
    ff.services.analysis.analyze(photo.bytes, { embeddings: true, limit: detectionLimit(select, box && [box]) }),
  );
  const faces = chooseFaces(analysis, select, box && [box], 'photo', photo.url);
  const matches = await ff.services.identification.identify(
    faces.map((f) => ({ embedding: f.embedding, box: f.box, image: photo.bytes, crop: f.crop })),
    { collectionIds: within, limit: n, by: 'face', minCosine: threshold.cosine, matchCosine: threshold.cosine },
    callContext(ctx, gallery === undefined ? 'identify' : 'gallery/identify'),
  );
  const ids = [...new Set(matches.flat().map((m) => m.faceId))];
  const found = ids.length ? await ff.services.faces.list(g.scope, { ids }) : [];
  const rendered = new Map((await renderFaces(ff, ctx, g, found)).map((j) => [j.id as number, j]));
  const perFace = faces.map((f, i) => ({
    key: boxKey(f.box),
    matches: matches[i].filter((m) => rendered.has(m.faceId)).map((m) => ({ confidence: roundConfidence(ff.scale.confidence(m.cosine)), face: rendered.get(m.faceId) })),
  }));
  ctx.set('X-Live-Servers', '1/1');
  // The pre-v0 API answered one list of matches (its clients read results[0].face); v0 keys them by probe box.
  ctx.body = { results: unversioned(ctx) ? perFace.flatMap((f) => f.matches) : Object.fromEntries(perFace.map((f) => [f.key, f.matches])) };
}

async function listFaces(ff: FindFace, ctx: Koa.Context, gallery?: string): Promise<void> {
  const g = await galleriesOf(ff, ctx);
  const within = gallery === undefined ? undefined : g.within(gallery);
  const limit = readInt(ctx, 'limit', PAGE_DEFAULT, 1, PAGE_MAX);
  const maxId = readInt(ctx, 'max_id', 0, 0, Number.MAX_SAFE_INTEGER) || undefined;
  const minId = readInt(ctx, 'min_id', 0, 0, Number.MAX_SAFE_INTEGER) || undefined;
  let faces =
    minId !== undefined
      ? (await ff.services.faces.list(g.scope, { afterId: minId }, { size: limit + 1, order: 'asc' }, within)).reverse()
      : await ff.services.faces.list(g.scope, maxId !== undefined ? { beforeId: maxId } : {}, { size: limit + 1, order: 'desc' }, within);
  let more: boolean;
  let newer: boolean;
  if (minId !== undefined) {
    newer = faces.length > limit;
    faces = faces.slice(faces.length > limit ? 1 : 0);
    more = true;
  } else {
    more = faces.length > limit;
    faces = faces.slice(0, limit);
    newer = maxId !== undefined;
  }
  const page = (q: string) => `${ctx.path}?${q}${ctx.query.limit !== undefined ? `&limit=${limit}` : ''}`;
  ctx.body = {
    next_page: more && faces.length ? page(`max_id=${faces[faces.length - 1].id}`) : null,
    prev_page: newer && faces.length ? page(`min_id=${faces[0].id}`) : null,
    results: await renderFaces(ff, ctx, g, faces),
  };
}

async function facesByMeta(ff: FindFace, ctx: Koa.Context, gallery?: string): Promise<void> {
  const g = await galleriesOf(ff, ctx);
  const within = gallery === undefined ? undefined : g.within(gallery);
  const faces = await ff.services.faces.list(g.scope, { personName: ctx.params.meta }, undefined, within);
  ctx.body = { results: await renderFaces(ff, ctx, g, faces) };
}

async function metaList(ff: FindFace, ctx: Koa.Context, gallery?: string): Promise<void> {
  const g = await galleriesOf(ff, ctx);
  const within = gallery === undefined ? g.scope : g.within(gallery);
  const { limit, page, next } = offsetPage(ctx);
  const all = await facesByPersonName(ff.db, { collectionIds: within });
  const groups = all.slice(page * limit, (page + 1) * limit);
  const firsts = groups.length ? await ff.services.faces.list(g.scope, { ids: groups.map((x) => x.firstFaceId) }) : [];
  const rendered = new Map((await renderFaces(ff, ctx, g, firsts)).map((j) => [j.id as number, j]));
  ctx.body = {
    ...next(all.length > (page + 1) * limit),
    results: groups.filter((x) => rendered.has(x.firstFaceId)).map((x) => ({ meta: x.name, count: x.count, face: rendered.get(x.firstFaceId) })),
  };
}

/** Offset paging of lists FindFace does not page by id (meta, persons): `limit` (1000) and `page` (0). */
function offsetPage(ctx: Koa.Context): { limit: number; page: number; next: (more: boolean) => { next_page?: string } } {
  const limit = readInt(ctx, 'limit', PAGE_MAX, 1, PAGE_MAX);
  const page = readInt(ctx, 'page', 0, 0, 1_000_000);
  return { limit, page, next: (more) => (more ? { next_page: `${ctx.path}?page=${page + 1}&limit=${limit}` } : {}) };
}

/** The face's person by meta: the key's default collection's person of that name (created when absent). */
async function personForMeta(ff: FindFace, g: Galleries, meta: string): Promise<number> {
  if (meta === '') return (await ff.services.persons.createUnnamed()).id;
  const found = await ff.services.persons.findByName(g.defaultId, meta);
  if (found) return found.id;
  try {
    return (await ff.services.persons.create({ ownerCollectionId: g.defaultId, name: meta })).id;
  } catch (err) {
    if (err instanceof DomainError && err.code === 'PERSON_EXISTS') return (await ff.services.persons.findByName(g.defaultId, meta))!.id;
    throw err;
  }
}

/**
 * Gives a face to another person. A face that was the only face of a person without a name (one a camera or an
 * upload without meta started) takes that person's history along: the two persons merge.
 */
async function movePerson(ff: FindFace, g: Galleries, faceId: number, personId: number): Promise<void> {
  const face = await ff.services.faces.get(faceId, g.scope);
  if (face.personId === personId) return;
  if (face.personId !== null && face.personName === '') {
    const from = await ff.services.persons.get(face.personId, g.scope);
    // Its faces anywhere, not only those this token sees: a person shared with others is never merged away.
    if (from.ownerCollectionId === null && (await countFaces(ff.db, { personId: from.id })) === 1) {
      await ff.services.persons.merge(from.id, personId);
      return;
    }
  }
  await ff.services.faces.setPerson(faceId, g.scope, personId);
}

function galleryChange(g: Galleries, v: unknown): { add?: number[]; remove?: number[]; set?: number[] } | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const fail = () => badParam('galleries', v, 'galleries should be {"add": [...]}, {"del": [...]} or {"set": [...]}');
  if (typeof v !== 'object' || Array.isArray(v)) throw fail();
  const entries = Object.entries(v as Record<string, unknown>);
  if (entries.length !== 1) throw fail();
  const [op, names] = entries[0];
  if (!['add', 'del', 'set'].includes(op) || !Array.isArray(names) || !names.every((n) => typeof n === 'string')) throw fail();
  if (op === 'del' && names.includes(DEFAULT_GALLERY)) throw badParam('galleries', v, 'a face cannot leave the default gallery');
  const ids = [...new Set((names as string[]).filter((n) => n !== DEFAULT_GALLERY).map((n) => g.idOf(n, 'galleries')))];
  if (op === 'add') return { add: ids };
  if (op === 'del') return { remove: ids, add: [g.defaultId] };
  return { set: [g.defaultId, ...ids] };
}

export function handlers(ff: FindFace): Record<Op, (ctx: Koa.Context) => Promise<void>> {
  return {
    async detect(ctx) {
      const attributes = v1Attributes(ctx);
      const boxes = readBoxes(ctx, 'bbox');
      const photo = await readPhoto(ff, ctx, 'photo');
      const analysis = await analysing('photo', photo.url, () => ff.services.analysis.analyze(photo.bytes, { embeddings: false, attributes }));
      // Boxes given (the vendor's PHP and C# samples send one): the faces found in them.
      const faces = boxes ? analysis.faces.filter((f) => boxes.some((b) => boxOverlap(b, f.box) >= SAME_FACE_OVERLAP)) : analysis.faces;
      ctx.body = { faces: faces.map((f) => ({ ...bboxJson(f.box), ...attributesJson(f.attributes) })), orientation: 1 };
    },

    async verify(ctx) {
      const select = readMfSelector(ctx);
      const threshold = readThreshold(ff, ctx);
      const boxes1 = readBoxes(ctx, 'bbox1');
      const boxes2 = readBoxes(ctx, 'bbox2');
      const p1 = await readPhoto(ff, ctx, 'photo1');
      const p2 = await readPhoto(ff, ctx, 'photo2');
      const a1 = await analysing('photo1', p1.url, () => ff.services.analysis.analyze(p1.bytes, { embeddings: true, limit: detectionLimit(select, boxes1) }));
      const faces1 = chooseFaces(a1, select, boxes1, 'photo1', p1.url);
      const a2 = await analysing('photo2', p2.url, () => ff.services.analysis.analyze(p2.bytes, { embeddings: true, limit: detectionLimit(select, boxes2) }));
      const faces2 = chooseFaces(a2, select, boxes2, 'photo2', p2.url);
      const pairs = faces1.flatMap((f1) => faces2.map((f2) => ({ f1, f2 })));
      const scores = await ff.services.verification.compare(
        pairs.map(({ f1, f2 }) => ({ probe: f2.embedding, probeBox: f2.box, probeImage: p2.bytes, probeCrop: f2.crop, reference: f1.embedding })),
        { matchCosine: threshold.cosine },
        callContext(ctx, 'verify'),
      );
      const results = pairs.map(({ f1, f2 }, i) => ({
        bbox1: bboxJson(f1.box),
        bbox2: bboxJson(f2.box),
        confidence: roundConfidence(ff.scale.confidence(scores[i].cosine)),
        verified: scores[i].cosine >= threshold.cosine,
      }));
      const verified = faces1.every((f1) => results.some((r, i) => pairs[i].f1 === f1 && r.verified));
      ctx.body = { results, verified };
    },

    identify: (ctx) => identify(ff, ctx),
    identifyGallery: (ctx) => identify(ff, ctx, ctx.params.gallery),

    async createFace(ctx) {
      const g = await galleriesOf(ff, ctx);
      const meta = readMeta(ctx);
      const boxes = readBoxes(ctx, 'bbox');
      const select = readMfSelector(ctx);
      const camId = readCamId(ctx);
      const names = params(ctx).find('galleries') ? params(ctx).list('galleries') ?? [] : [];
      const galleryIds = names.filter((n) => n !== DEFAULT_GALLERY).map((n) => g.idOf(n, 'galleries'));
      const attributes = v1Attributes(ctx);
      const photo = await readPhoto(ff, ctx, 'photo');
      const owner = meta ? { namedIn: { namespaceId: g.defaultId, name: meta } } : null;
      const enrolment = await analysing('photo', photo.url, () =>
        ff.services.faces.enrol(photo.bytes, {
          collectionIds: [g.defaultId, ...new Set(galleryIds)],
          owner,
          select: select === 'biggest' ? 'biggest' : 'all',
          boxes,
          attributes,
          data: photo.url ? { [PHOTO_URL]: photo.url } : {},
          autoCreated: camId !== undefined,
          check: (_faces, analysis) => void chooseFaces(analysis, select, boxes, 'photo', photo.url),
        }),
      );
      const faces = await assignPersons(ff, ctx, g, enrolment.faces, photo.bytes, camId);
      const results = await renderFaces(ff, ctx, g, faces);
      // The pre-v0 API answered the (biggest) face itself, its clients read id, meta, thumbnail and the box at the
      // top level: it is there, beside the v0 `results`.
      ctx.body = unversioned(ctx) ? { ...results[0], results } : { results };
    },

    async getFace(ctx) {
      const g = await galleriesOf(ff, ctx);
      const face = await ff.services.faces.get(pathId(ctx.params.id, 'face'), g.scope);
      ctx.body = (await renderFaces(ff, ctx, g, [face]))[0];
    },

    async updateFace(ctx) {
      const g = await galleriesOf(ff, ctx);
      const id = pathId(ctx.params.id, 'face');
      await ff.services.faces.get(id, g.scope);
      const meta = readMeta(ctx);
      const personParam = params(ctx).find('person_id')?.value;
      let personId: number | undefined;
      if (personParam !== undefined && personParam !== null && personParam !== '') {
        personId = typeof personParam === 'number' ? personParam : /^\s*\d{1,15}\s*$/.test(String(personParam)) ? Number(personParam) : NaN;
        if (!Number.isSafeInteger(personId) || personId <= 0) throw badParam('person_id', personParam, 'person_id should be a person\'s id');
        await ff.services.persons.get(personId, g.scope);
      }
      const change = galleryChange(g, params(ctx).json('galleries'));
      if (personId !== undefined) await movePerson(ff, g, id, personId);
      if (meta !== undefined) {
        const face = await ff.services.faces.get(id, g.scope);
        if ((face.personName ?? '') !== meta || (meta === '' && face.personId === null)) await movePerson(ff, g, id, await personForMeta(ff, g, meta));
      }
      if (change) await ff.services.faces.setCollections(id, g.scope, change);
      ctx.body = (await renderFaces(ff, ctx, g, [await ff.services.faces.get(id, g.scope)]))[0];
    },

    async deleteFace(ctx) {
      const g = await galleriesOf(ff, ctx);
      const id = pathId(ctx.params.id, 'face');
      const deleted = await ff.services.faces.delete([id], g.scope);
      if (!deleted.length) throw new DomainError('FACE_NOT_FOUND', `face ${id} not found`, { face: id });
      empty(ctx);
    },

    async facePhoto(ctx) {
      const { face, scope } = await photoFace(ff, ctx);
      const photo = await ff.services.faces.photo(face.id, scope);
      if (!photo) throw new DomainError('FACE_NOT_FOUND', 'the photo of this face is not kept (SAVE_IMAGES=false)', { face: ctx.params.id });
      ctx.type = photo.mimeType;
      ctx.body = photo.bytes;
    },

    async faceThumbnail(ctx) {
      const { face, scope } = await photoFace(ff, ctx);
      let jpeg = await faceThumbnail(ff.db, face.id);
      if (!jpeg) {
        const photo = await ff.services.faces.photo(face.id, scope);
        if (!photo || !face.box) throw new DomainError('FACE_NOT_FOUND', 'no thumbnail of this face is kept', { face: face.id });
        jpeg = await ff.cropper.crop(photo.bytes, face.box);
        await saveFaceThumbnail(ff.db, face.id, jpeg);
      }
      ctx.type = 'image/jpeg';
      ctx.body = jpeg;
    },

    facesByMeta: (ctx) => facesByMeta(ff, ctx),
    galleryFacesByMeta: (ctx) => facesByMeta(ff, ctx, ctx.params.gallery),

    async deleteByMeta(ctx) {
      const g = await galleriesOf(ff, ctx);
      await ff.services.faces.deleteWhere(g.scope, { personName: ctx.params.meta });
      empty(ctx);
    },

    faces: (ctx) => listFaces(ff, ctx),
    galleryFaces: (ctx) => listFaces(ff, ctx, ctx.params.gallery),
    meta: (ctx) => metaList(ff, ctx),
    faceMetaList: (ctx) => metaList(ff, ctx),
    galleryMeta: (ctx) => metaList(ff, ctx, ctx.params.gallery),

    async galleries(ctx) {
      ctx.body = { results: (await galleriesOf(ff, ctx)).names() };
    },

    async createGalleryByBody(ctx) {
      const name = params(ctx).find('name')?.value;
      if (typeof name !== 'string') throw badParam('name', name, 'name (the gallery\'s name) is required');
      await createGallery(ff, ctx, await galleriesOf(ff, ctx), name);
      ctx.body = { name };
    },

    async createGallery(ctx) {
      await createGallery(ff, ctx, await galleriesOf(ff, ctx), ctx.params.gallery);
      ctx.body = { name: ctx.params.gallery };
    },

    async deleteGallery(ctx) {
      const g = await galleriesOf(ff, ctx);
      const name = ctx.params.gallery;
      if (name === DEFAULT_GALLERY) throw badParam('gallery', name, 'the default gallery cannot be deleted');
      const id = g.idOf(name);
      if (!g.ownsGallery(id)) throw badParam('gallery', name, `gallery ${name} is a collection shared with this token by an administrator; it is not deleted here`);
      // NtechLab: "Deletes the gallery and all faces in it" (docs/methods.rst).
      await ff.services.faces.deleteWhere(g.scope, {}, [id]);
      await ff.services.collections.delete(id);
      ff.services.keys.forgetGrants();
      empty(ctx);
    },

    async persons(ctx) {
      const g = await galleriesOf(ff, ctx);
      const { limit, page, next } = offsetPage(ctx);
      const persons = await ff.services.persons.list(g.scope, {}, { page, size: limit }, 'newest');
      const more = persons.length === limit && (await ff.services.persons.count(g.scope)) > (page + 1) * limit;
      const friends = await friendsAmong(ff, persons.map((p) => p.id), g.scope);
      ctx.body = { ...next(more), results: persons.map((p) => ({ id: p.id, meta: p.name, friend: friends.has(p.id) })) };
    },

    async person(ctx) {
      const g = await galleriesOf(ff, ctx);
      const person = await ff.services.persons.get(pathId(ctx.params.id, 'person'), g.scope);
      const faces = await ff.services.faces.list(g.scope, { personId: person.id });
      const rendered = await renderFaces(ff, ctx, g, faces);
      const friend = faces.length ? rendered[0].friend : (await friendsAmong(ff, [person.id], g.scope)).has(person.id);
      ctx.body = { id: person.id, meta: person.name, friend, faces: rendered };
    },

    personHistory: (ctx) => personHistoryRoute(ff, ctx),
    historySearch: (ctx) => historyRoute(ff, ctx),
    historySearchGet: (ctx) => historyRoute(ff, ctx),

    async docs(ctx) {
      ctx.body = {
        results: VERSIONS.map((v) => ({ version: v, description: VERSION_DESCRIPTIONS[v], url: `/${versionOf(ctx)}/docs/${v}` })),
        openapi: '/openapi/findface.json',
      };
    },

    async docsVersion(ctx) {
      const v = ctx.params.version as (typeof VERSIONS)[number];
      if (!VERSIONS.includes(v)) throw new DomainError('INVALID_ARGUMENT', `no API version ${ctx.params.version} (versions: ${VERSIONS.join(', ')})`, { param: 'version', value: ctx.params.version });
      ctx.body = {
        version: v,
        description: VERSION_DESCRIPTIONS[v],
        openapi: '/openapi/findface.json',
        methods: ROUTES.map((r) => ({ method: r.method.toUpperCase(), path: `/${v}${r.path.replace(/:(\w+)/g, '<$1>')}/`, description: r.summary, auth: r.scope !== null })),
      };
    },
  };
}

export const VERSION_DESCRIPTIONS = {
  v0: 'FindFace REST API v0: detect, verify, identify, faces, meta, galleries, persons and camera history. Also served without a version, as the API before v0 answered.',
  v1: 'v0 with gender, age and emotions: on detect, and on faces created with gender / age / emotions true.',
} as const;

/**
 * The routes also served without a version, as the API before /v0 (api.findface.pro/face/, /identify/, /detect/):
 * all but the docs (/docs is this server's own documentation).
 */
export const UNVERSIONED_ROUTES = ROUTES.filter((r) => r.scope !== null);

/** The first path segments of the unversioned routes: the dialect's prefixes beside /v0 and /v1. */
export const UNVERSIONED_PREFIXES = [...new Set(UNVERSIONED_ROUTES.map((r) => `/${r.path.split('/')[1]}`))];

/** Each route's paths: /v0/..., /v1/... and, for the unversioned ones, the bare path. */
export function routePaths(r: RouteSpec): { path: string; version: Version | null }[] {
  const out: { path: string; version: Version | null }[] = VERSIONS.map((v) => ({ path: `/${v}${r.path}`, version: v }));
  if (UNVERSIONED_ROUTES.includes(r)) out.push({ path: r.path, version: null });
  return out;
}

export function registerRoutes(router: Router, ff: FindFace): void {
  const h = handlers(ff);
  for (const r of ROUTES) {
    for (const { path } of routePaths(r)) {
      const handler: Koa.Middleware = (ctx) => h[r.op](ctx);
      const auth = keyAuth({ keys: ff.services.keys, schemes: ['token'], kinds: ['findface'], scope: r.scope ?? undefined });
      if (r.scope === null) router[r.method](path, handler);
      // A signed photo or thumbnail URL needs no token (photoFace checks the signature).
      else if (r.signed) router[r.method](path, (ctx, next) => (ctx.query.sig !== undefined && !ctx.get('authorization') ? next() : auth(ctx, next)), handler);
      else router[r.method](path, auth, handler);
    }
  }
}
