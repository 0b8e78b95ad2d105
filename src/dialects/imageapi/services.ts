// The Image API's processing services, one row each: what it needs (an image, templates), the key scope it
// takes, and what it adds to the sample's objects. Estimators add their attribute to each face object sent in,
// the object matched to the engine's detection by its box (a box the detector does not confirm is measured as
// a crop of the image), or, when no face objects are sent, to each face the detector finds. Detectors do the
// same and add an object for each face (or body) found that no object sent in stands for; every object sent in
// is kept. Every value comes from the engine's AnalyzedFace and the platform's calibration.
import sharp from 'sharp';
import { boxOverlap, dominantFace, SAME_FACE_OVERLAP } from '../../domain/analysis';
import { DomainError } from '../../domain/errors';
import type { Scope } from '../../domain/keys';
import type { AnalyzedFace, AttributeName, Box, ImageAnalysis, Point } from '../../domain/types';
import type { CallContext } from '../../domain/events';
import type { KeyGrant } from '../../domain/keys';
import { callContext, type ImageApiDeps } from './context';
import { ImageApiError, invalid, lowQuality, MORE_THAN_ONE_FACE } from './errors';
import { ageField, emotionsField, fitterFields, genderField, livenessField, maskField, qualityField, qualityScore } from './face-json';
import { answer, fromBbox, toBbox, type Json, type Sample, type SampleObject, type Version } from './sample';
import { hasTemplate, readTemplate, templateFields, verification } from './templates';
import type Koa from 'koa';

export interface ServiceCall {
  version: Version;
  sample: Sample;
  /** The decoded image (services that need one get it). */
  image?: Buffer;
  /** verify-matcher's multipart photos (one or two). */
  images?: Buffer[];
  grant?: KeyGrant;
  /** Query parameters (search-matcher's options). */
  query: Record<string, unknown>;
  koa: Koa.Context;
}

export interface ImageApiService {
  name: string;
  summary: string;
  /** required: an image to work on; optional: used when no templates are sent (search-matcher); ignored: echoed only. */
  image: 'required' | 'optional' | 'ignored';
  scope: Scope;
  run(deps: ImageApiDeps, call: ServiceCall): Promise<Record<string, Json>>;
}

/** What an estimator adds to a face object. */
type Adder = (face: AnalyzedFace, analysis: ImageAnalysis, version: Version) => Record<string, Json>;

const isFace = (o: SampleObject) => o.class === 'face';

const nextId = (objects: SampleObject[]) => objects.reduce((m, o) => (typeof o.id === 'number' && o.id >= m ? o.id + 1 : m), 0);

function need(call: ServiceCall): Buffer {
  if (!call.image) throw invalid(['body', call.version === 'v1' ? '$image' : '_image'], 'field required', 'value_error.missing');
  return call.image;
}

function detection(face: AnalyzedFace, analysis: ImageAnalysis, id: number): SampleObject {
  return { id, class: 'face', confidence: face.score, bbox: toBbox(face.box, analysis.width, analysis.height) };
}

function shifted(face: AnalyzedFace, dx: number, dy: number): AnalyzedFace {
  const move = (p: Point): Point => [p[0] + dx, p[1] + dy];
  const keypoints = Object.fromEntries(Object.entries(face.keypoints).map(([k, p]) => [k, move(p)])) as AnalyzedFace['keypoints'];
  return {
    ...face,
    box: { ...face.box, x: face.box.x + dx, y: face.box.y + dy },
    landmarks5: face.landmarks5.map(move),
    landmarks68: face.landmarks68.map(move),
    keypoints,
  };
}

/** A box the detector did not confirm, measured as a face crop (the image oriented as the engine sees it). */
async function measureCrop(deps: ImageApiDeps, image: Buffer, box: Box, analysis: ImageAnalysis, attributes: AttributeName[], template: boolean): Promise<AnalyzedFace> {
  const left = Math.max(0, Math.floor(box.x));
  const top = Math.max(0, Math.floor(box.y));
  const width = Math.min(analysis.width, Math.ceil(box.x + box.width)) - left;
  const height = Math.min(analysis.height, Math.ceil(box.y + box.height)) - top;
  if (width < 8 || height < 8) throw new DomainError('NO_FACE', 'No face is found in the given bbox (it is smaller than 8 pixels inside the image)');
  const crop = await sharp(image).rotate().extract({ left, top, width, height }).png().toBuffer();
  const measured = await deps.services.analysis.analyze(crop, { detectFaces: false, embeddings: template, attributes });
  const face = measured.faces[0];
  if (!face) throw new DomainError('NO_FACE', 'No face is found in the given bbox');
  return shifted(face, left, top);
}

interface FaceWork {
  attributes: AttributeName[];
  template?: boolean;
  /** Detectors add an object per face found, keeping those sent in. */
  detector: boolean;
  add: Adder;
}

/**
 * The sample's objects with the service's fields added (see the header). Face objects sent in are matched to
 * the detector's faces by their boxes; a detector also adds the faces no object sent in stands for.
 */
async function processFaces(deps: ImageApiDeps, call: ServiceCall, work: FaceWork): Promise<SampleObject[]> {
  const image = need(call);
  const analysis = await deps.services.analysis.analyze(image, { embeddings: !!work.template, attributes: work.attributes });
  const objects = call.sample.objects;
  const matched = new Set<AnalyzedFace>();
  const out: SampleObject[] = [];
  for (const [i, o] of objects.entries()) {
    if (!isFace(o)) {
      out.push(o);
      continue;
    }
    if (o.bbox === undefined) throw invalid(['body', 'objects', i, 'bbox'], 'field required: a face object needs its bbox', 'value_error.missing');
    const box = fromBbox(o.bbox, analysis.width, analysis.height);
    let best: AnalyzedFace | undefined;
    let bestOverlap = SAME_FACE_OVERLAP;
    for (const f of analysis.faces) {
      const overlap = boxOverlap(box, f.box);
      if (overlap >= bestOverlap) [best, bestOverlap] = [f, overlap];
    }
    if (best) matched.add(best);
    const face = best ?? (await measureCrop(deps, image, box, analysis, work.attributes, !!work.template));
    out.push({ ...o, ...work.add(face, analysis, call.version) });
  }
  if (work.detector || !objects.some(isFace)) {
    const first = nextId(objects);
    const found = analysis.faces.filter((f) => !matched.has(f));
    found.forEach((f, i) => out.push({ ...detection(f, analysis, first + i), ...work.add(f, analysis, call.version) }));
  }
  return out;
}

const estimator =
  (attributes: AttributeName[], add: Adder, detector = false) =>
  async (deps: ImageApiDeps, call: ServiceCall) =>
    answer(call.version, call.sample, await processFaces(deps, call, { attributes, detector, add }));

const templated =
  (detector: boolean) =>
  async (deps: ImageApiDeps, call: ServiceCall) =>
    answer(call.version, call.sample, await processFaces(deps, call, { attributes: [], template: true, detector, add: (f, _a, v) => templateFields(v, f.template) }));

/** The image's pixel count from its header, checked against the anti-spoofing modules' limit before decoding. */
async function checkPixels(deps: ImageApiDeps, image: Buffer): Promise<void> {
  const meta = await sharp(image)
    .metadata()
    .catch(() => undefined); // not an image: the engine's decoder says so
  const pixels = (meta?.width ?? 0) * (meta?.height ?? 0);
  const limit = deps.settings.livenessMaxPixels;
  if (pixels > limit) throw new DomainError('IMAGE_TOO_LARGE', `Image resolution is ${pixels} pixels, more than the ${limit} this module takes`, { limit });
}

/** face-detector-liveness-estimator, by the configured module. */
async function livenessModule(deps: ImageApiDeps, call: ServiceCall): Promise<Record<string, Json>> {
  const module = deps.settings.livenessModule;
  if (module === 'face-detector-liveness-estimator') {
    return answer(call.version, call.sample, await processFaces(deps, call, { attributes: ['liveness'], detector: true, add: (f, _a, v) => livenessField(v, f) }));
  }
  const image = need(call);
  const withQuality = module === 'quality-liveness-anti-spoofing';
  await checkPixels(deps, image);
  const analysis = await deps.services.analysis.analyze(image, { embeddings: false, attributes: withQuality ? ['liveness', 'quality'] : ['liveness'] });
  const objects = [...call.sample.objects];
  const face = analysis.faces[0];
  if (face) {
    if (withQuality) {
      if (analysis.faces.length > 1) throw new ImageApiError(400, MORE_THAN_ONE_FACE);
      const score = qualityScore(face);
      if (score < deps.settings.livenessQualityThreshold) throw new ImageApiError(400, lowQuality(score, deps.settings.livenessQualityThreshold));
    }
    objects.push({ id: nextId(objects), class: 'face', ...livenessField(call.version, face) });
  }
  return answer(call.version, call.sample, objects);
}

/** The body detector's decode limit (its most): the document limits body-detector images by bytes only. */
const BODY_MAX_PIXELS = 50_000_000;

async function bodyDetector(deps: ImageApiDeps, call: ServiceCall): Promise<Record<string, Json>> {
  const image = need(call);
  const { width, height, bodies } = await deps.services.analysis.detectBodies(image, { maxPixels: BODY_MAX_PIXELS });
  const objects = [...call.sample.objects];
  const first = nextId(objects);
  bodies.forEach((b, i) => objects.push({ id: first + i, class: 'body', confidence: b.score, bbox: toBbox(b.box, width, height) }));
  return answer(call.version, call.sample, objects);
}

/** The cosine at which a verify-matcher or search-matcher event counts as a match (FAR 1e-3). */
const matchCosine = (deps: ImageApiDeps) => deps.services.calibration.cosineAtFar(1e-3);

/** verify-matcher's photos as two face objects with templates: the dominant face of each, or the two biggest of one. */
async function photoFaces(deps: ImageApiDeps, call: ServiceCall, images: Buffer[]): Promise<SampleObject[]> {
  const analyses = await Promise.all(images.map((image) => deps.services.analysis.analyze(image, { embeddings: true, limit: images.length === 1 ? 2 : 3 })));
  const faces =
    images.length === 2
      ? analyses.map((a, i) => ({ face: dominantFace(a, `image ${i + 1}`), analysis: a }))
      : analyses[0].faces.slice(0, 2).map((face) => ({ face, analysis: analyses[0] }));
  if (faces.length < 2) throw new DomainError('NO_FACE', 'verify-matcher needs two faces: send two images, or one with two faces');
  return faces.map(({ face, analysis }, i) => ({ ...detection(face, analysis, i), ...templateFields(call.version, face.template) }));
}

async function verifyMatcher(deps: ImageApiDeps, call: ServiceCall): Promise<Record<string, Json>> {
  if (call.images) call.sample.objects = await photoFaces(deps, call, call.images);
  const withTemplates = call.sample.objects.map((o, i) => ({ o, i })).filter(({ o }) => hasTemplate(o));
  if (withTemplates.length !== 2) {
    throw invalid(['body', 'objects'], `verify-matcher compares two objects with templates, got ${withTemplates.length}`);
  }
  const [a, b] = withTemplates.map(({ o, i }) => readTemplate(o, ['body', 'objects', i]));
  const [score] = await deps.services.verification.compare([{ probe: b, reference: a }], { matchCosine: matchCosine(deps) }, callContext(call.koa, 'verify-matcher'));
  return { ...answer(call.version, call.sample, call.sample.objects), verification: verification(deps.services.calibration, score.cosine) };
}

export const SEARCH_LIMIT_MAX = 100;

interface SearchParams {
  limit: number;
  maxFar: number;
  collections?: string[];
}

function searchParams(call: ServiceCall): SearchParams {
  const fromBody = call.sample.body.search_params;
  if (fromBody !== undefined && (typeof fromBody !== 'object' || fromBody === null || Array.isArray(fromBody))) {
    throw invalid(['body', 'search_params'], 'value is not a valid dict', 'type_error.dict');
  }
  const p: Record<string, unknown> = { ...call.query, ...(fromBody ?? {}) };
  const loc = (name: string) => (fromBody && name in fromBody ? ['body', 'search_params', name] : ['query', name]);
  const num = (name: string, fallback: number, min: number, max: number, integer: boolean) => {
    const raw = p[name];
    if (raw === undefined || raw === '') return fallback;
    const n = typeof raw === 'number' ? raw : Number(raw);
    if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
      throw invalid(loc(name), `${name} must be ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}, got ${JSON.stringify(raw)}`);
    }
    return n;
  };
  let collections: string[] | undefined;
  const rawCollections = p.collections;
  if (rawCollections !== undefined && rawCollections !== '') {
    const list = Array.isArray(rawCollections) ? rawCollections : String(rawCollections).split(',');
    if (!list.every((c) => typeof c === 'string' && c.trim())) throw invalid(loc('collections'), 'collections must be a list of collection names');
    collections = list.map((c: string) => c.trim());
  }
  return { limit: num('limit', 1, 1, SEARCH_LIMIT_MAX, true), maxFar: num('max_fa_r', 1e-3, 0, 1, false), collections };
}

/**
 * search-matcher: each face object's template (or, for an image without templates, each face found in it)
 * searched among the faces of the collections the key may see (or those of them it names), each object
 * getting "search_result": its nearest enrolled faces whose false-accept rate is at most max_fa_r.
 */
async function searchMatcher(deps: ImageApiDeps, call: ServiceCall): Promise<Record<string, Json>> {
  if (!call.grant) throw new DomainError('KEY_MISSING', 'search-matcher searches the collections of a key: send Authorization: Bearer <key> or a TOKEN header');
  const grant = call.grant;
  const params = searchParams(call);
  let collectionIds: number[] = [...grant.collectionIds];
  if (params.collections) {
    collectionIds = [];
    for (const name of params.collections) {
      const c = await deps.services.collections.byName(name).catch((err: unknown) => {
        if (err instanceof DomainError && err.code === 'COLLECTION_NOT_FOUND') return undefined;
        throw err;
      });
      if (!c || !grant.collectionIds.includes(c.id)) throw new DomainError('COLLECTION_NOT_FOUND', `Collection ${name} not found`, { collection: name });
      collectionIds.push(c.id);
    }
  }
  let objects = call.sample.objects;
  if (!objects.some(hasTemplate)) {
    if (!call.image) throw invalid(['body', 'objects'], 'search-matcher needs objects with templates, or an image to find faces in');
    objects = await processFaces(deps, call, { attributes: [], template: true, detector: false, add: (f, _a, v) => templateFields(v, f.template) });
  }
  const probes = objects.map((o, i) => ({ o, i })).filter(({ o }) => hasTemplate(o));
  const embeddings = probes.map(({ o, i }) => readTemplate(o, ['body', 'objects', i]));
  const calibration = deps.services.calibration;
  const minCosine = params.maxFar >= 1 ? undefined : calibration.cosineAtFar(params.maxFar);
  const ctx: CallContext = callContext(call.koa, 'search-matcher');
  const results = await deps.services.identification.identify(
    embeddings.map((embedding) => ({ embedding })),
    { collectionIds, limit: params.limit, by: 'face', minCosine, matchCosine: matchCosine(deps) },
    ctx,
  );
  const names = new Map<number, string>();
  const out = [...objects];
  for (const [n, { i }] of probes.entries()) {
    const hits = [];
    for (const m of results[n]) {
      const face = await deps.services.faces.get(m.faceId, collectionIds);
      const collectionId = face.collectionIds.find((c) => collectionIds.includes(c));
      if (collectionId !== undefined && !names.has(collectionId)) names.set(collectionId, (await deps.services.collections.get(collectionId)).name);
      const person = m.personId === null ? null : await deps.services.persons.get(m.personId, collectionIds);
      hits.push({
        face_id: face.uuid,
        person_id: person?.uuid ?? null,
        person_name: m.personName,
        collection: collectionId === undefined ? null : names.get(collectionId),
        verification: verification(calibration, m.cosine),
      });
    }
    out[i] = { ...out[i], search_result: hits };
  }
  return answer(call.version, call.sample, out);
}

export const SERVICES: readonly ImageApiService[] = [
  { name: 'face-detector', summary: 'Finds faces: id, class, confidence, bbox', image: 'required', scope: 'detect', run: estimator([], () => ({}), true) },
  {
    name: 'face-detector-face-fitter',
    summary: 'Finds faces with their 21 keypoints and head angles (v1 fitter + angles, v2 keypoints + pose)',
    image: 'required',
    scope: 'detect',
    run: estimator(['pose'], (f, a, v) => fitterFields(v, f, a.width, a.height), true),
  },
  { name: 'body-detector', summary: 'Finds upright people: id, class body, confidence, bbox', image: 'required', scope: 'detect', run: bodyDetector },
  { name: 'age-estimator', summary: 'Adds age (whole years) to each face object', image: 'required', scope: 'detect', run: estimator(['age'], (f) => ageField(f)) },
  { name: 'gender-estimator', summary: 'Adds gender (MALE/FEMALE in v1, male/female in v2) to each face object', image: 'required', scope: 'detect', run: estimator(['gender'], (f, _a, v) => genderField(v, f)) },
  { name: 'emotion-estimator', summary: 'Adds emotions (seven, each with its confidence) to each face object', image: 'required', scope: 'detect', run: estimator(['emotion'], (f, _a, v) => emotionsField(v, f)) },
  { name: 'mask-estimator', summary: 'Adds mask (v1) / has_medical_mask (v2): value and confidence', image: 'required', scope: 'detect', run: estimator(['mask'], (f, _a, v) => maskField(v, f)) },
  {
    name: 'face-detector-liveness-estimator',
    summary: 'Liveness by the configured module (IMAGEAPI_LIVENESS_MODULE): liveness-anti-spoofing, quality-liveness-anti-spoofing or face-detector-liveness-estimator',
    image: 'required',
    scope: 'detect',
    run: livenessModule,
  },
  { name: 'liveness-estimator', summary: 'Adds liveness (value REAL/FAKE, confidence) to each face object of the fitter', image: 'required', scope: 'detect', run: estimator(['liveness'], (f, _a, v) => livenessField(v, f)) },
  {
    name: 'quality-assessment-estimator',
    summary: 'Adds the quality block to each face object (v1 quality.qaa camelCase, v2 quality snake_case)',
    image: 'required',
    scope: 'detect',
    run: estimator(['quality'], (f, _a, v) => qualityField(v, f)),
  },
  { name: 'face-detector-template-extractor', summary: 'Finds faces and extracts their templates', image: 'required', scope: 'detect', run: templated(true) },
  { name: 'template-extractor', summary: 'Adds a template to each face object of the fitter', image: 'required', scope: 'detect', run: templated(false) },
  { name: 'verify-matcher', summary: 'Compares the templates of two objects: verification {distance, fa_r, fr_r, score}', image: 'ignored', scope: 'verify', run: verifyMatcher },
  {
    name: 'search-matcher',
    summary: "Searches each object's template among the faces of the key's collections: search_result per object",
    image: 'optional',
    scope: 'identify',
    run: searchMatcher,
  },
];

/** Each service's routes: [path, version, transport]. */
export function serviceRoutes(name: string): { path: string; version: Version; transport: 'image' | 'sample' }[] {
  const out: { path: string; version: Version; transport: 'image' | 'sample' }[] = [];
  for (const [segment, version] of [['', 'v1'], ['/v1', 'v1'], ['/v2', 'v2']] as const) {
    for (const transport of ['image', 'sample'] as const) out.push({ path: `/${name}${segment}/process/${transport}`, version, transport });
  }
  return out;
}

