// FindFace's OpenAPI 3 document (served at /openapi/findface.json), made from the same route table the router
// serves (routes.ts), under /v0 and /v1.
import type { OpenAPIV3 } from 'openapi-types';
import { openApiPath, type OpenApiDocument } from '../../http/openapi';
import { PRESETS } from './confidence';
import { ROUTES, routePaths, type Op, type RouteSpec } from './routes';

const ref = (name: string): OpenAPIV3.ReferenceObject => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: OpenAPIV3.SchemaObject | OpenAPIV3.ReferenceObject) => ({ 'application/json': { schema } });
const int = (description: string): OpenAPIV3.SchemaObject => ({ type: 'integer', description });
const str = (description: string): OpenAPIV3.SchemaObject => ({ type: 'string', description });
const bool = (description: string): OpenAPIV3.SchemaObject => ({ type: 'boolean', description });

const photo = str('An uploaded image (multipart file) or its public, direct http(s) URL (no redirects followed)');
const bbox = { oneOf: [ref('Bbox'), { type: 'array', items: { type: 'number' }, minItems: 4, maxItems: 4 }] } as OpenAPIV3.SchemaObject;
const threshold: OpenAPIV3.SchemaObject = {
  description: `strict (${PRESETS.strict}, FAR 1e-5), medium (${PRESETS.medium}, FAR 1e-3), low (${PRESETS.low}, FAR 1e-1), none (0), or a number from 0 to 1; default 0.75`,
  oneOf: [{ type: 'string', enum: ['strict', 'medium', 'low', 'none'] }, { type: 'number', minimum: 0, maximum: 1 }],
};
const mfSelector: OpenAPIV3.SchemaObject = { type: 'string', enum: ['reject', 'biggest', 'all'], description: 'Several faces: refuse, the biggest (default), or all' };

/** Each operation's parameters (a body in JSON, a form, multipart or the query string alike). */
const BODIES: Partial<Record<Op, Record<string, OpenAPIV3.SchemaObject | OpenAPIV3.ReferenceObject>>> = {
  detect: { photo, gender: bool('v1: the gender of each face'), age: bool('v1: the age of each face'), emotions: bool('v1: the two likeliest emotions') },
  verify: { photo1: photo, photo2: photo, bbox1: bbox, bbox2: bbox, threshold, mf_selector: mfSelector },
  identify: {
    photo,
    x1: int('The face box (or bbox)'),
    y1: int(''),
    x2: int(''),
    y2: int(''),
    bbox,
    threshold,
    n: int('Most matches per face (default 1)'),
    mf_selector: mfSelector,
    strict: bool('Fail when a shard is out of service (one store here: always whole; X-Live-Servers says 1/1)'),
  },
  createFace: {
    photo,
    meta: str('The face\'s meta: its person\'s name'),
    galleries: { type: 'array', items: { type: 'string' } },
    bbox: { oneOf: [bbox, { type: 'array', items: bbox }] } as OpenAPIV3.SchemaObject,
    mf_selector: mfSelector,
    cam_id: str('The camera the face comes from: the face joins the person of its most similar face (dynamic persons) and is written to camera history'),
    gender: bool('v1: estimate and keep the gender'),
    age: bool('v1: estimate and keep the age'),
    emotions: bool('v1: estimate and keep the emotions'),
  },
  updateFace: {
    meta: str('New meta'),
    person_id: int('Give the face to this person'),
    galleries: { type: 'object', description: '{"add": [...]}, {"del": [...]} or {"set": [...]}' },
  },
  createGalleryByBody: { name: str('The gallery name: [a-zA-Z0-9_-]{1,48}') },
  historySearch: {
    person_id: int('Only this person'),
    cam_ids: { type: 'array', items: { type: 'string' } },
    start: str('ISO 8601'),
    end: str('ISO 8601'),
    friend: bool('Only friends (true) or only non-friends (false)'),
    limit: int('Events per page; 0 (default): all'),
    max_id: int('Events below this id (next_page)'),
  },
};

const QUERIES: Partial<Record<Op, string[]>> = {
  faces: ['limit', 'max_id', 'min_id'],
  meta: ['limit', 'page'],
  faceMetaList: ['limit', 'page'],
  galleryMeta: ['limit', 'page'],
  persons: ['limit', 'page'],
  galleryFaces: ['limit', 'max_id', 'min_id'],
  personHistory: ['cam_ids', 'start', 'end'],
  historySearchGet: ['person_id', 'cam_ids', 'start', 'end', 'friend', 'limit', 'max_id'],
  facePhoto: ['sig'],
  faceThumbnail: ['sig'],
};

const RESPONSES: Partial<Record<Op, OpenAPIV3.SchemaObject | OpenAPIV3.ReferenceObject>> = {
  detect: { type: 'object', properties: { faces: { type: 'array', items: ref('Bbox') }, orientation: { type: 'integer' } } },
  verify: { type: 'object', properties: { results: { type: 'array', items: ref('Verification') }, verified: { type: 'boolean' } } },
  identify: { type: 'object', description: 'results: each probe box, written "[x1, y1, x2, y2]", to its matches', properties: { results: { type: 'object', additionalProperties: { type: 'array', items: ref('Match') } } } },
  identifyGallery: { type: 'object', properties: { results: { type: 'object', additionalProperties: { type: 'array', items: ref('Match') } } } },
  createFace: { type: 'object', properties: { results: { type: 'array', items: ref('Face') } } },
  getFace: ref('Face'),
  updateFace: ref('Face'),
  faces: ref('FacePage'),
  galleryFaces: ref('FacePage'),
  galleries: { type: 'object', properties: { results: { type: 'array', items: { type: 'string' } } } },
  historySearch: ref('History'),
  historySearchGet: ref('History'),
  personHistory: ref('History'),
};

/** The tag and operation id prefix of the paths without a version (the API before /v0). */
const UNVERSIONED = 'pre_v0';

function operation(r: RouteSpec, version: string, response?: OpenAPIV3.SchemaObject | OpenAPIV3.ReferenceObject): OpenAPIV3.OperationObject {
  const pathParams = [...r.path.matchAll(/:(\w+)/g)].map(
    (m): OpenAPIV3.ParameterObject => ({ name: m[1], in: 'path', required: true, schema: { type: m[1] === 'id' ? 'integer' : 'string' } }),
  );
  const queryParams = (QUERIES[r.op] ?? []).map((name): OpenAPIV3.ParameterObject => ({ name, in: 'query', schema: { type: 'string' } }));
  const body = BODIES[r.op === 'identifyGallery' ? 'identify' : r.op];
  const ok = response ?? RESPONSES[r.op];
  const binary = r.op === 'facePhoto' || r.op === 'faceThumbnail';
  return {
    summary: r.summary,
    operationId: `${version}_${r.op}`,
    tags: [version],
    ...(r.scope === null ? { security: [] } : r.signed ? { security: [{ token: [] }, {}], description: 'With the `sig` of the URL a face object gives, no token is needed' } : {}),
    parameters: [...pathParams, ...queryParams],
    ...(body
      ? {
          requestBody: {
            content: {
              'application/json': { schema: { type: 'object', properties: body } },
              'application/x-www-form-urlencoded': { schema: { type: 'object', properties: body } },
              'multipart/form-data': { schema: { type: 'object', properties: body } },
            },
          },
        }
      : {}),
    responses: {
      '200': binary
        ? { description: 'The image', content: { 'image/*': { schema: { type: 'string', format: 'binary' } } } }
        : { description: r.method === 'delete' ? 'Done (an empty body)' : 'OK', ...(ok ? { content: json(ok) } : {}) },
      '400': { description: 'BAD_PARAM (param, value; faces for a refused photo) or MALFORMED_JSON', content: json(ref('Error')) },
      ...(r.scope === null ? {} : { '401': { description: 'AUTH_FAILED: no or a wrong token', content: json(ref('Error')) } }),
      '404': { description: 'NOT_FOUND: no such face, person or gallery', content: json(ref('Error')) },
      ...(r.scope === null
        ? {}
        : {
            '429': {
              description: 'TOO_MANY_REQUESTS: this address made too many failed token attempts (AUTH_FAILURES_PER_ADDRESS); retry after Retry-After',
              content: json(ref('Error')),
              headers: { 'Retry-After': { schema: { type: 'integer' }, description: 'Seconds left of the block' } },
            },
          }),
    },
  };
}

/** The pre-v0 answers that differ from v0's: a created face at the top level, identify's matches as one list. */
const UNVERSIONED_RESPONSES: Partial<Record<Op, OpenAPIV3.SchemaObject | OpenAPIV3.ReferenceObject>> = {
  createFace: {
    description: 'The first (biggest) face\'s fields at the top level, as the API before /v0 answered, and `results` with every face, as v0',
    allOf: [ref('Face'), { type: 'object', properties: { results: { type: 'array', items: ref('Face') } } }],
  },
  identify: { type: 'object', description: 'results: the matches of the probe face(s), one list', properties: { results: { type: 'array', items: ref('Match') } } },
  identifyGallery: { type: 'object', description: 'results: the matches of the probe face(s), one list', properties: { results: { type: 'array', items: ref('Match') } } },
};

function paths(): OpenAPIV3.PathsObject {
  const out: OpenAPIV3.PathsObject = {};
  for (const r of ROUTES) {
    for (const { path, version } of routePaths(r)) {
      const p = openApiPath(path);
      out[p] = { ...out[p], [r.method]: operation(r, version ?? UNVERSIONED, version ? undefined : UNVERSIONED_RESPONSES[r.op]) };
    }
  }
  return out;
}

const face: OpenAPIV3.SchemaObject = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    meta: { type: 'string' },
    person_id: { type: 'integer' },
    galleries: { type: 'array', items: { type: 'string' } },
    photo: { type: 'string', description: 'The URL given, or this server\'s URL of the upload' },
    photo_hash: { type: 'string', description: 'Hex; the same photo has the same hash' },
    thumbnail: { type: 'string' },
    normalized: { type: 'string' },
    timestamp: { type: 'string', description: 'ISO 8601 with microseconds (UTC)' },
    friend: { type: 'boolean' },
    x1: { type: 'integer' },
    y1: { type: 'integer' },
    x2: { type: 'integer' },
    y2: { type: 'integer' },
    age: { type: 'number', description: 'v1, when estimated' },
    gender: { type: 'string', enum: ['male', 'female'] },
    emotions: { type: 'array', items: { type: 'string' } },
  },
};

export const FINDFACE_OPENAPI: OpenApiDocument = {
  openapi: '3.0.3',
  info: {
    title: 'faceserver: FindFace REST API v0 / v1',
    version: '1.0.0',
    description:
      'NtechLab FindFace Enterprise Server\'s REST API over faceserver\'s face store. Every route answers under /v0 and /v1, with or ' +
      'without a trailing slash, and (but the docs) without a version as the API before /v0 did (tag pre_v0: a created face at the top level, ' +
      'identify\'s matches as one list, the threshold also named confidence). Errors are {"code", "reason"}; confidence is calibrated: strict, medium and low sit at FAR 1e-5, 1e-3 and 1e-1.',
  },
  security: [{ token: [] }],
  paths: paths(),
  components: {
    securitySchemes: { token: { type: 'apiKey', in: 'header', name: 'Authorization', description: 'Token <token> (a key of kind findface)' } },
    schemas: {
      Error: {
        type: 'object',
        required: ['code', 'reason'],
        properties: { code: { type: 'string' }, reason: { type: 'string' }, param: { type: 'string' }, value: {}, faces: { type: 'array', items: { $ref: '#/components/schemas/Bbox' } } },
      },
      Bbox: { type: 'object', properties: { x1: { type: 'integer' }, y1: { type: 'integer' }, x2: { type: 'integer' }, y2: { type: 'integer' } } },
      Face: face,
      Match: { type: 'object', properties: { confidence: { type: 'number' }, face: ref('Face') } },
      Verification: { type: 'object', properties: { bbox1: ref('Bbox'), bbox2: ref('Bbox'), confidence: { type: 'number' }, verified: { type: 'boolean' } } },
      FacePage: {
        type: 'object',
        properties: { next_page: { type: 'string', nullable: true }, prev_page: { type: 'string', nullable: true }, results: { type: 'array', items: ref('Face') } },
      },
      History: {
        type: 'object',
        properties: {
          next_page: { type: 'string', description: 'Present while more events remain' },
          results: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                id: { type: 'integer' },
                person_id: { type: 'integer' },
                face_id: { type: 'integer' },
                cam_id: { type: 'string' },
                meta: { type: 'string' },
                friend: { type: 'boolean' },
                photo: { type: 'string' },
                photo_hash: { type: 'string' },
                screenshot: { type: 'string' },
                timestamp: { type: 'string' },
              },
            },
          },
        },
      },
    },
  },
};
