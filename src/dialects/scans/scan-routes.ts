// The scan API's routes: create a scan (two photos compared, stored with the verdict and each face's
// measurements, one recognition event), read one, update its verdict fields, list the company's scans page by
// page, and fetch a stored photo. Every route works within the company of the caller's token.
import crypto from 'node:crypto';
import type Router from '@koa/router';
import type Koa from 'koa';
import { DomainError, isDomainError } from '../../domain/errors';
import { cosine } from '../../domain/verification';
import type { AnalyzedFace, ImageAnalysis } from '../../domain/types';
import { HttpError } from '../../http/errors';
import { readImage } from '../../http/image-input';
import { params, type Params } from '../../http/params';
import { getScan, getScanPhoto, insertScan, listScans, updateScan, type Scan, type ScanChanges, type ScanPhoto } from '../../store/scans';
import { bearer, principalOf } from './auth';
import { callContext, type Scans } from './context';
import { ScanApiError } from './errors';
import { SCAN_ATTRIBUTES, scanFace, type ScanFace } from './face-fields';
import { pageJson, pageRequest } from './paging';
import { CHANNELS, COMPARE_RESULTS, scanJson, type Channel, type CompareResult } from './scan-json';
import { SAME_PERSON_SIMILARITY } from './similarity';

export const SCANS_PATH = '/v1/face-recognition';
export const COMPARE_FACE_PATH = '/face-recognition-sdk/v1/compare_face';

/** Longest `reference` (a JPA string column's default length). */
export const REFERENCE_MAX = 255;

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The two photos: a multipart file or a base64 string in a JSON or form field (KBY-AI's base64 names too). */
const FILES = [
  { field: 'file1', names: ['file1', 'base64_1'], failed: 'Failed to open file1', noFace: 'No face1' },
  { field: 'file2', names: ['file2', 'base64_2'], failed: 'Failed to open file2', noFace: 'No face2' },
] as const;

function scanId(ctx: Koa.Context): string {
  const id = String(ctx.params.id);
  if (!UUID_RE.test(id)) {
    throw new DomainError('INVALID_ARGUMENT', `Failed to convert value of type 'java.lang.String' to required type 'java.util.UUID'; Invalid UUID string: ${id}`, {
      param: 'id',
      value: id,
    });
  }
  return id.toLowerCase();
}

const notFound = (id: string) => new ScanApiError(404, `Face recognition scan ${id} not found`);

function missing(name: string, type: string): string {
  return `Required request parameter '${name}' for method parameter type ${type} is not present`;
}

function channelParam(p: Params, name: string, required: boolean): Channel | undefined {
  const v = p.enum(
    name,
    CHANNELS.map((c) => c.toLowerCase()),
    { caseInsensitive: true, required, missingMessage: missing(name, 'String') },
  );
  return v === undefined ? undefined : (v.toUpperCase() as Channel);
}

async function requireFile(ctx: Koa.Context, s: Scans, file: (typeof FILES)[number]): Promise<Buffer> {
  try {
    const image = await readImage(ctx, file.names, s.image);
    if (!image) throw new DomainError('MISSING_IMAGE', `Required part '${file.field}' is not present.`, { param: file.field });
    return image;
  } catch (err) {
    throw inFile(err, file.field);
  }
}

/** A failure about one of the photos, its message naming the photo. */
function inFile(err: unknown, field: string): unknown {
  if (!isDomainError(err) || err.code === 'MISSING_IMAGE' || err.code === 'BUSY' || err.code === 'UNAVAILABLE') return err;
  return new DomainError(err.code, `${field}: ${err.message}`, { ...err.details, param: field });
}

type Analysed = { ok: true; analysis: ImageAnalysis; face?: AnalyzedFace } | { ok: false };

/**
 * The biggest face of a photo with its measurements. A photo in an image format that cannot be decoded is the
 * "Failed to open" verdict (KBY-AI's answer); anything that is no image at all, too large, or a server failure
 * is an error of the request (nothing is stored).
 */
async function analyse(s: Scans, image: Buffer, field: string): Promise<Analysed> {
  try {
    const analysis = await s.services.analysis.analyze(image, { embeddings: true, limit: 1, attributes: SCAN_ATTRIBUTES });
    return { ok: true as const, analysis, face: analysis.faces[0] };
  } catch (err) {
    if (isDomainError(err, 'CORRUPT_IMAGE')) return { ok: false };
    throw inFile(err, field);
  }
}

interface Verdict {
  result: CompareResult;
  similarity: number;
  cosine?: number;
  faces: [ScanFace | null, ScanFace | null];
}

function judge(s: Scans, one: Analysed, two: Analysed): Verdict {
  const faces: [ScanFace | null, ScanFace | null] = [one.ok && one.face ? scanFace(one.face) : null, two.ok && two.face ? scanFace(two.face) : null];
  const none = (result: CompareResult): Verdict => ({ result, similarity: -1, faces });
  if (!one.ok) return { ...none('Failed to open file1'), faces: [null, faces[1]] };
  if (!two.ok) return { ...none('Failed to open file2'), faces: [faces[0], null] };
  if (!one.face) return none('No face1');
  if (!two.face) return none('No face2');
  const c = cosine(one.face.embedding, two.face.embedding);
  const similarity = s.scale.similarity(c);
  return { result: similarity > SAME_PERSON_SIMILARITY ? 'Same person' : 'Different person', similarity, cosine: c, faces };
}

async function createScan(ctx: Koa.Context, s: Scans, endpoint: string): Promise<void> {
  const principal = principalOf(ctx);
  const p = params(ctx);
  const channel = channelParam(p, 'channel', true)!;
  const reference = p.string('reference', { required: true, missingMessage: missing('reference', 'String') });
  if (reference.length > REFERENCE_MAX) throw new DomainError('INVALID_ARGUMENT', `reference is longer than ${REFERENCE_MAX} characters`, { param: 'reference' });
  const images = [await requireFile(ctx, s, FILES[0]), await requireFile(ctx, s, FILES[1])];

  const started = process.hrtime.bigint();
  const [one, two] = await Promise.allSettled([analyse(s, images[0], 'file1'), analyse(s, images[1], 'file2')]);
  if (one.status === 'rejected') throw one.reason;
  if (two.status === 'rejected') throw two.reason;
  const verdict = judge(s, one.value, two.value);
  const elapsedTime = Number(process.hrtime.bigint() - started) / 1e9;

  const id = crypto.randomUUID();
  const photos: ScanPhoto[] = s.settings.savePhotos
    ? images.map((bytes, i) => ({ file: (i + 1) as 1 | 2, mimeType: s.services.analysis.mimeType(bytes) ?? null, bytes }))
    : [];
  const scan = await s.db.transaction((tx) =>
    insertScan(
      tx,
      {
        id,
        company: principal.company,
        reference,
        channel,
        compareResult: verdict.result,
        compareSimilarity: verdict.similarity,
        face1: verdict.faces[0] as Record<string, unknown> | null,
        face2: verdict.faces[1] as Record<string, unknown> | null,
        elapsedTime,
        createdBy: principal.subject,
      },
      photos,
    ),
  );
  await recordEvent(ctx, s, endpoint, scan, verdict, [one.value, two.value]);
  ctx.body = scanJson(scan);
}

/** One recognition event per scan: the comparison when there was one, else the failed scan with no score. */
async function recordEvent(ctx: Koa.Context, s: Scans, endpoint: string, scan: Scan, verdict: Verdict, analysed: Analysed[]): Promise<void> {
  const attributes = { scan: scan.id, result: verdict.result, channel: scan.channel };
  const faceOf = (a: Analysed) => (a.ok ? a.face : undefined);
  const [reference, probe] = analysed.map(faceOf);
  if (verdict.cosine !== undefined && reference && probe) {
    await s.services.verification.compare(
      [{ probe: probe.embedding, probeBox: probe.box, reference: reference.embedding, attributes }],
      { matchCosine: s.scale.sameCosine },
      callContext(ctx, endpoint),
    );
  } else {
    await s.services.events.record(callContext(ctx, endpoint), [{ verdict: 'no_match', box: (probe ?? reference)?.box ?? null, attributes }]);
  }
}

/** The update model: which fields change (absent or null: kept); the server's own fields are never taken. */
function scanChanges(ctx: Koa.Context, id: string, company: string): ScanChanges {
  if (ctx.request.bodyKind !== 'json') {
    if (ctx.request.body === undefined && !ctx.request.rawImage && !ctx.request.uploads) {
      throw new DomainError('MISSING_ARGUMENT', 'Required request body is missing', { param: 'body' });
    }
    throw new HttpError('UNSUPPORTED_MEDIA_TYPE', `'${ctx.get('content-type')}': the update is a JSON object (Content-Type: application/json)`);
  }
  const body = ctx.request.body as unknown;
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new DomainError('INVALID_ARGUMENT', 'the update is a JSON object', { param: 'body' });
  const p = params(ctx, ['json']);
  const bodyId = p.string('id');
  if (bodyId !== undefined && bodyId.toLowerCase() !== id) throw new DomainError('INVALID_ARGUMENT', `id ${bodyId} in the body does not match the path (${id})`, { param: 'id' });
  const bodyCompany = p.string('companyId');
  if (bodyCompany !== undefined && bodyCompany !== company) throw new DomainError('INVALID_ARGUMENT', 'companyId cannot be changed', { param: 'companyId' });
  const result = p.enum(
    'compareResult',
    COMPARE_RESULTS.map((r) => r.toLowerCase()),
    { caseInsensitive: true },
  );
  return {
    compareResult: result === undefined ? undefined : COMPARE_RESULTS.find((r) => r.toLowerCase() === result),
    compareSimilarity: p.number('compareSimilarity', { min: -1, max: 1 }),
    channel: channelParam(p, 'salesChannel', false),
  };
}

export function scanRoutes(router: Router, s: Scans): void {
  router.post(SCANS_PATH, bearer(s, 'create'), (ctx) => createScan(ctx, s, 'face-recognition'));
  router.post(COMPARE_FACE_PATH, bearer(s, 'create'), (ctx) => createScan(ctx, s, 'compare_face'));

  router.get(SCANS_PATH, bearer(s, 'read'), async (ctx) => {
    const req = pageRequest(ctx);
    const reference = params(ctx, ['query']).string('reference');
    const { scans, total } = await listScans(s.db, principalOf(ctx).company, { offset: req.page * req.size, limit: req.size, sort: req.sort, reference });
    ctx.body = pageJson(scans.map(scanJson), req, total);
  });

  router.get(`${SCANS_PATH}/:id`, bearer(s, 'read'), async (ctx) => {
    const id = scanId(ctx);
    const scan = await getScan(s.db, principalOf(ctx).company, id);
    if (!scan) throw notFound(id);
    ctx.body = scanJson(scan);
  });

  router.put(`${SCANS_PATH}/:id`, bearer(s, 'update'), async (ctx) => {
    const id = scanId(ctx);
    const principal = principalOf(ctx);
    const changes = scanChanges(ctx, id, principal.company);
    const scan = await updateScan(s.db, principal.company, id, changes, principal.subject);
    if (!scan) throw notFound(id);
    ctx.body = scanJson(scan);
  });

  // The stored photos (SCANS_SAVE_PHOTOS), as uploaded.
  router.get(`${SCANS_PATH}/:id/:file`, bearer(s, 'read'), async (ctx) => {
    const id = scanId(ctx);
    const file = ctx.params.file === 'file1' ? 1 : ctx.params.file === 'file2' ? 2 : undefined;
    if (!file) throw new ScanApiError(404, `no such endpoint: ${ctx.method} ${ctx.path}`);
    const company = principalOf(ctx).company;
    const photo = await getScanPhoto(s.db, company, id, file);
    if (!photo) {
      throw (await getScan(s.db, company, id)) ? new ScanApiError(404, `scan ${id} has no stored ${ctx.params.file} (photos are kept only with SCANS_SAVE_PHOTOS)`) : notFound(id);
    }
    ctx.type = photo.mimeType ?? 'application/octet-stream';
    ctx.set('Cache-Control', 'private, no-store');
    ctx.body = photo.bytes;
  });
}
