// What every FindFace route needs: the domain services, the database (cameras, history), image input with
// NtechLab's URL rule (direct URLs only), its settings and confidence scale; and the request readers its routes
// share: photos, boxes, thresholds, mf_selector, cam_id.
import crypto from 'node:crypto';
import type Koa from 'koa';
import type { Config } from '../../config';
import type { FaceCropper } from '../../console/thumbnails';
import { DomainError, isDomainError } from '../../domain/errors';
import type { CallContext } from '../../domain/events';
import type { DomainServices } from '../../domain/services';
import type { Box } from '../../domain/types';
import { readImage, type ImageInputOptions } from '../../http/image-input';
import { params } from '../../http/params';
import type { Db } from '../../store/db';
import { serverSecret } from '../../store/server-secrets';
import { confidenceScale, DEFAULT_THRESHOLD, PRESETS, type ConfidenceScale } from './confidence';
import { badParam } from './errors';

export const DIALECT = 'findface';
export const VERSIONS = ['v0', 'v1'] as const;
export type Version = (typeof VERSIONS)[number];

export interface FindFaceSettings {
  /** Confidence at which a camera's face joins the person of its most similar face. */
  personThreshold: number;
  /** Camera faces join persons seen by any camera (true), or only by the same camera. */
  personGlobal: boolean;
  friendDays: number;
  friendIntervalHours: number;
}

export function findfaceSettings(config: Config): FindFaceSettings {
  return {
    personThreshold: config.findfacePersonThreshold,
    personGlobal: config.findfacePersonGlobal,
    friendDays: config.findfaceFriendDays,
    friendIntervalHours: config.findfaceFriendIntervalHours,
  };
}

export interface FindFaceDeps {
  services: DomainServices;
  db: Db;
  image: ImageInputOptions;
  settings: FindFaceSettings;
  /** Cuts face thumbnails that are not kept yet. */
  cropper: FaceCropper;
}

export interface FindFace extends FindFaceDeps {
  scale: ConfidenceScale;
  /** The signature that opens a face's photo and thumbnail URLs without a token. */
  signature(face: { id: number; uuid: string }): Promise<string>;
}

/** The server secret that signs photo and thumbnail URLs (src/store/server-secrets.ts). */
const URL_SECRET = 'findface.photo-urls';

export function findFace(deps: FindFaceDeps): FindFace {
  let secret: Promise<Buffer> | undefined;
  return {
    ...deps,
    // NtechLab: "the URL ... should be public (without authentication) and direct (without any redirects)";
    // parameters may come in the query string too.
    image: { ...deps.image, url: { ...deps.image.url, maxRedirects: 0 }, valueSources: ['json', 'form', 'multipart', 'query'] },
    scale: confidenceScale(deps.services.calibration),
    signature: async (face) => {
      secret ??= serverSecret(deps.db, URL_SECRET).catch((err: unknown) => {
        secret = undefined;
        throw err;
      });
      return crypto.createHmac('sha256', await secret).update(`${face.id}:${face.uuid}`).digest('base64url').slice(0, 22);
    },
  };
}

/** A signature given with a URL, checked in constant time. */
export async function signatureMatches(ff: FindFace, face: { id: number; uuid: string }, given: unknown): Promise<boolean> {
  if (typeof given !== 'string') return false;
  const want = Buffer.from(await ff.signature(face));
  const got = Buffer.from(given);
  return got.length === want.length && crypto.timingSafeEqual(got, want);
}

export function callContext(ctx: Koa.Context, endpoint: string, cameraId?: number | null): CallContext {
  return { dialect: DIALECT, endpoint, requestId: ctx.requestId, cameraId: cameraId ?? null };
}

/** The API version of the request path (/v0/... or /v1/...; the pre-v0 paths without a version are v0). */
export function versionOf(ctx: Koa.Context): Version {
  return ctx.path.startsWith('/v1/') || ctx.path === '/v1' ? 'v1' : 'v0';
}

/**
 * A path without a version segment: the API before /v0 (api.findface.pro/face/, /identify/, /detect/), whose
 * clients read a created face at the top level and identify's results as one list of matches.
 */
export function unversioned(ctx: Koa.Context): boolean {
  return !/^\/v[01](\/|$)/.test(ctx.path);
}

/** Where this server is reached, for the URLs of photos and thumbnails. */
export function baseUrl(ctx: Koa.Context): string {
  return `${ctx.protocol}://${ctx.host}`;
}

/** Image errors name the parameter they concern. */
function naming(err: unknown, param: string, value: unknown): unknown {
  if (isDomainError(err) && !('param' in err.details)) return new DomainError(err.code, err.message, { ...err.details, param, value });
  return err;
}

/** The photo in `name` (an upload, or a URL); BAD_PARAM naming it when absent or unusable. */
export async function readPhoto(ff: FindFace, ctx: Koa.Context, name: string): Promise<{ bytes: Buffer; url?: string }> {
  const given = params(ctx).find(name)?.value;
  const url = typeof given === 'string' && /^https?:\/\//i.test(given.trim()) ? given.trim() : undefined;
  let bytes: Buffer | undefined;
  try {
    bytes = await readImage(ctx, name, ff.image);
  } catch (err) {
    throw naming(err, name, url ?? null);
  }
  if (!bytes) throw badParam(name, null, `${name} is required: upload an image (multipart) or give its URL`);
  return { bytes, url };
}

/** Runs an analysis of a photo; image errors name the parameter. */
export async function analysing<T>(param: string, url: string | undefined, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw naming(err, param, url ?? null);
  }
}

// ---- boxes ------------------------------------------------------------------------------------------------

/**
 * A box out: FindFace's dict with integer corners, none below 0 (a face at the photo's edge can have its box
 * reach past it; the vendor's C# sample reads the corners as unsigned integers).
 */
export function bboxJson(b: Box): { x1: number; y1: number; x2: number; y2: number } {
  const at = (v: number) => Math.max(0, Math.round(v));
  return { x1: at(b.x), y1: at(b.y), x2: at(b.x + b.width), y2: at(b.y + b.height) };
}

/** The identify result key of a probe box: "[x1, y1, x2, y2]". */
export function boxKey(b: Box): string {
  const j = bboxJson(b);
  return `[${j.x1}, ${j.y1}, ${j.x2}, ${j.y2}]`;
}

function oneBox(param: string, v: unknown, whole: unknown): Box {
  let c: unknown[];
  if (Array.isArray(v) && v.length === 4) c = v;
  else if (v && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    c = [o.x1, o.y1, o.x2, o.y2];
  } else throw badParam(param, whole, `${param} should be {"x1", "y1", "x2", "y2"} or [x1, y1, x2, y2]`);
  const n = c.map((x) => (typeof x === 'string' && x.trim() !== '' ? Number(x) : x));
  if (!n.every((x): x is number => typeof x === 'number' && Number.isFinite(x))) throw badParam(param, whole, `${param} coordinates should be numbers`);
  const [x1, y1, x2, y2] = n;
  if (!(x2 > x1 && y2 > y1)) throw badParam(param, whole, `${param} should have x2 > x1 and y2 > y1`);
  return { x: x1, y: y1, width: x2 - x1, height: y2 - y1 };
}

/** One box or a list of boxes in `param` (a dict, [x1, y1, x2, y2], or a list of either); undefined when absent or null. */
export function readBoxes(ctx: Koa.Context, param: string): Box[] | undefined {
  const v = params(ctx).json(param);
  if (v === undefined || v === null || v === '') return undefined;
  if (Array.isArray(v) && v.length && v.every((x) => Array.isArray(x) || (x !== null && typeof x === 'object'))) return v.map((b) => oneBox(param, b, v));
  if (Array.isArray(v) && !v.length) return undefined;
  return [oneBox(param, v, v)];
}

/** identify's box: bbox, or x1, y1, x2, y2 as separate parameters. */
export function readProbeBox(ctx: Koa.Context): Box | undefined {
  const boxes = readBoxes(ctx, 'bbox');
  if (boxes) {
    if (boxes.length > 1) throw badParam('bbox', null, 'identify takes one box');
    return boxes[0];
  }
  const p = params(ctx);
  const corners = ['x1', 'y1', 'x2', 'y2'].map((k) => p.find(k)?.value);
  if (corners.every((c) => c === undefined || c === null || c === '')) return undefined;
  if (corners.some((c) => c === undefined || c === null || c === '')) throw badParam('x1', null, 'a box needs all of x1, y1, x2, y2');
  return oneBox('x1', corners, Object.fromEntries(['x1', 'y1', 'x2', 'y2'].map((k, i) => [k, corners[i]])));
}

// ---- options ----------------------------------------------------------------------------------------------

export type MfSelector = 'reject' | 'biggest' | 'all';

export function readMfSelector(ctx: Koa.Context): MfSelector {
  const v = params(ctx).find('mf_selector')?.value;
  if (v === undefined || v === null || (typeof v === 'string' && v.trim() === '')) return 'biggest';
  const s = typeof v === 'string' ? v.trim().toLowerCase() : v;
  if (s !== 'reject' && s !== 'biggest' && s !== 'all') throw badParam('mf_selector', v, 'mf_selector should be one of reject, biggest, all');
  return s;
}

/** The threshold as a cosine: strict / medium / low / none, or a number from 0 to 1 (default 0.75). */
export function readThreshold(ff: FindFace, ctx: Koa.Context): { confidence: number; cosine: number } {
  // The pre-v0 API's clients name it `confidence` ("Strict").
  const name = unversioned(ctx) && !params(ctx).find('threshold') ? 'confidence' : 'threshold';
  const v = params(ctx).find(name)?.value;
  let confidence: number;
  if (v === undefined || v === null || (typeof v === 'string' && v.trim() === '')) confidence = DEFAULT_THRESHOLD;
  else if (typeof v === 'string' && Object.hasOwn(PRESETS, v.trim().toLowerCase())) confidence = PRESETS[v.trim().toLowerCase() as keyof typeof PRESETS];
  else {
    const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?\s*$/i.test(v) ? Number(v) : NaN;
    if (!(n >= 0 && n <= 1)) throw badParam(name, v, `${name} should be strict, medium, low, none or a number from 0 to 1`);
    confidence = n;
  }
  return { confidence, cosine: confidence <= 0 ? -1 : ff.scale.cosine(confidence) };
}

/** A whole number parameter within bounds (BAD_PARAM otherwise). */
export function readInt(ctx: Koa.Context, name: string, def: number, min: number, max: number): number {
  const v = params(ctx).find(name)?.value;
  if (v === undefined || v === null || (typeof v === 'string' && v.trim() === '')) return def;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*\d{1,15}\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw badParam(name, v, `${name} should be a whole number from ${min} to ${max}`);
  return n;
}

/** A boolean parameter (true/false, 1/0, yes/no, Python's True/False). */
export function readBool(ctx: Koa.Context, name: string): boolean | undefined {
  try {
    return params(ctx).boolean(name);
  } catch {
    throw badParam(name, params(ctx).find(name)?.value, `${name} should be true or false`);
  }
}

/** An id in the path: a positive whole number, else NOT_FOUND of `what`. */
export function pathId(raw: string, what: 'face' | 'person'): number {
  const n = /^\d{1,15}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n <= 0) throw new DomainError(what === 'face' ? 'FACE_NOT_FOUND' : 'PERSON_NOT_FOUND', `${what} ${raw} not found`, { [what]: raw });
  return n;
}

/** cam_id: a camera's id as the client names it (a UUID, or any short text or number). */
export function readCamId(ctx: Koa.Context): string | undefined {
  const v = params(ctx).find('cam_id')?.value;
  if (v === undefined || v === null || v === '') return undefined;
  if ((typeof v !== 'string' && typeof v !== 'number') || String(v).trim() === '' || String(v).length > 128) {
    throw badParam('cam_id', v, 'cam_id should be the camera\'s id (a UUID or a short text)');
  }
  return String(v).trim();
}

/** meta: a face's text (its person's name); undefined when absent, "" when blank (spaces only too). */
export function readMeta(ctx: Koa.Context): string | undefined {
  const v = params(ctx).find('meta')?.value;
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' && typeof v !== 'number') throw badParam('meta', v, 'meta should be a string');
  const s = String(v);
  if (s.length > 255) throw badParam('meta', v, 'meta should be at most 255 characters');
  return s.trim() === '' ? '' : s;
}

/** ISO 8601 with microseconds, as FindFace writes times (UTC, no zone). */
export function timestamp(d: Date): string {
  return d.toISOString().slice(0, 23) + '000';
}

/** A time parameter (ISO 8601; without a zone it is UTC). */
export function readTime(ctx: Koa.Context, name: string): Date | undefined {
  const v = params(ctx).find(name)?.value;
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw badParam(name, v, `${name} should be an ISO 8601 time`);
  const s = v.trim();
  const m = /^(\d{4}-\d\d-\d\d)(?:[T ](\d\d:\d\d(?::\d\d(?:\.\d{1,9})?)?))?(Z|[+-]\d\d:?\d\d)?$/.exec(s);
  if (!m) throw badParam(name, v, `${name} should be an ISO 8601 time`);
  const time = (m[2] ?? '00:00:00').replace(/(\.\d{3})\d+$/, '$1');
  const d = new Date(`${m[1]}T${time}${m[3] ?? 'Z'}`);
  if (Number.isNaN(d.getTime())) throw badParam(name, v, `${name} should be an ISO 8601 time`);
  return d;
}
