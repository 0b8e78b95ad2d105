// Camera history (docs/persons.rst, docs/friend.rst): the recognition events of faces posted with a cam_id,
// each with its person, camera, face and time; searched by person, cameras, time range and 'friend or foe',
// newest first, paged by next_page (max_id). These are the rows of recognition_events, as SQL reports read them.
import type Koa from 'koa';
import { listCameraEvents, regularPersons } from '../../store/camera-history';
import { params } from '../../http/params';
import { bboxJson, baseUrl, pathId, readBool, readInt, readTime, timestamp, versionOf, type FindFace } from './context';
import { badParam, FindFaceError } from './errors';
import { galleriesOf } from './galleries';

/** Most events one page returns (limit 0, "unlimited", is this many). */
export const HISTORY_MAX = 10_000;
/** Largest JSON body read from a GET (the docs send person history's filter so). */
const GET_BODY_LIMIT = 64 * 1024;

/** A GET request's JSON body (koa-body reads bodies of POST, PUT and PATCH only). */
async function readGetJson(ctx: Koa.Context): Promise<void> {
  if (ctx.method !== 'GET' || !ctx.is('application/json') || ctx.request.bodyKind) return;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > GET_BODY_LIMIT) throw badParam('body', null, `the request body is larger than ${GET_BODY_LIMIT} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (!text) return;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw new FindFaceError(400, 'MALFORMED_JSON', `malformed JSON body: ${(err as Error).message}`);
  }
  (ctx.request as { body?: unknown }).body = body;
  ctx.request.bodyKind = 'json';
}

function readCamIds(ctx: Koa.Context): string[] | undefined {
  const found = params(ctx).find('cam_ids');
  if (!found) return undefined;
  let v = found.value;
  if (typeof v === 'string' && v.trim().startsWith('[')) {
    try {
      v = JSON.parse(v);
    } catch {
      throw badParam('cam_ids', found.value, 'cam_ids should be a list of camera ids');
    }
  }
  const list = Array.isArray(v) ? v : typeof v === 'string' || typeof v === 'number' ? String(v).split(',') : undefined;
  if (!list || !list.every((x) => typeof x === 'string' || typeof x === 'number')) throw badParam('cam_ids', found.value, 'cam_ids should be a list of camera ids');
  const ids = list.map((x) => String(x).trim()).filter(Boolean);
  return ids.length ? ids : undefined;
}

async function history(ff: FindFace, ctx: Koa.Context, personId: number | undefined, pageable: boolean): Promise<void> {
  await readGetJson(ctx);
  const g = await galleriesOf(ff, ctx);
  if (personId !== undefined) await ff.services.persons.get(personId, g.scope);
  const camIds = readCamIds(ctx);
  const start = readTime(ctx, 'start');
  const end = readTime(ctx, 'end');
  const friend = readBool(ctx, 'friend');
  const limit = pageable ? readInt(ctx, 'limit', 0, 0, HISTORY_MAX) || HISTORY_MAX : HISTORY_MAX;
  const maxId = readInt(ctx, 'max_id', 0, 0, Number.MAX_SAFE_INTEGER) || undefined;
  if (start && end && end < start) throw badParam('end', params(ctx).find('end')?.value, 'end is before start');
  await ff.services.events.flush(); // events are written behind the responses that made them
  const since = new Date(Date.now() - ff.settings.friendIntervalHours * 3600_000);
  const events = await listCameraEvents(ff.db, {
    collectionIds: g.scope,
    personId,
    cameraNames: camIds,
    from: start,
    to: end,
    beforeId: maxId,
    regular: friend === undefined ? undefined : { is: friend, minDays: ff.settings.friendDays, since },
    limit: limit + 1,
  });
  const more = events.length > limit;
  const page = events.slice(0, limit);
  const friends = await regularPersons(ff.db, [...new Set(page.map((e) => e.personId))], g.scope, ff.settings.friendDays, since);
  const base = `${baseUrl(ctx)}/${versionOf(ctx)}`;
  const signatures = new Map<number, string>();
  for (const e of page) if (e.faceId !== null && e.faceUuid !== null) signatures.set(e.faceId, await ff.signature({ id: e.faceId, uuid: e.faceUuid }));
  const results = page.map((e) => {
    const face = e.faceId === null || !e.faceUuid ? null : `${base}/face/id/${e.faceId}`;
    const sig = e.faceId === null ? '' : `?sig=${signatures.get(e.faceId)}`;
    return {
      id: e.id,
      person_id: e.personId,
      face_id: e.faceId,
      cam_id: e.cameraName,
      meta: e.personName ?? '',
      friend: friends.has(e.personId),
      photo: face ? `${face}/photo${sig}` : '',
      photo_hash: e.photoSha256 ? e.photoSha256.subarray(0, 16).toString('hex') : '',
      screenshot: face ? `${face}/thumbnail${sig}` : '',
      timestamp: timestamp(e.occurredAt),
      ...(e.box ? bboxJson(e.box) : { x1: 0, y1: 0, x2: 0, y2: 0 }),
    };
  });
  const body: Record<string, unknown> = { results };
  if (more && pageable) {
    const q = new URLSearchParams();
    q.set('max_id', String(page[page.length - 1].id));
    q.set('limit', String(limit));
    if (personId !== undefined) q.set('person_id', String(personId));
    if (camIds) q.set('cam_ids', JSON.stringify(camIds));
    if (start) q.set('start', timestamp(start));
    if (end) q.set('end', timestamp(end));
    if (friend !== undefined) q.set('friend', String(friend));
    body.next_page = `/${versionOf(ctx)}/history/search?${q.toString()}`;
  }
  ctx.body = body;
}

/** POST (and GET, for next_page) /history/search. */
export function historyRoute(ff: FindFace, ctx: Koa.Context): Promise<void> {
  const p = params(ctx).find('person_id')?.value;
  let personId: number | undefined;
  if (p !== undefined && p !== null && p !== '') {
    personId = typeof p === 'number' ? p : /^\s*\d{1,15}\s*$/.test(String(p)) ? Number(p) : NaN;
    if (!Number.isSafeInteger(personId) || personId <= 0) throw badParam('person_id', p, 'person_id should be a person\'s id');
  }
  return history(ff, ctx, personId, true);
}

/** GET /person/history/id/<id>: cam_ids, start and end in the query string or a JSON body. */
export function personHistoryRoute(ff: FindFace, ctx: Koa.Context): Promise<void> {
  return history(ff, ctx, pathId(ctx.params.id, 'person'), false);
}
