// The scan API's OpenAPI 3 document (served at /openapi/scans.json): every route the dialect serves, with its
// parameters, bodies, answers and error shape.
import type { OpenAPIV3 } from 'openapi-types';
import type { OpenApiDocument } from '../../http/openapi';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, SORT_PROPERTIES } from './paging';
import { CHANNELS, COMPARE_RESULTS } from './scan-json';
import { COMPARE_FACE_PATH, REFERENCE_MAX, SCANS_PATH } from './scan-routes';
import { JWKS_PATH, TOKEN_PATH } from './token-routes';

const ref = (name: string): OpenAPIV3.ReferenceObject => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: OpenAPIV3.SchemaObject | OpenAPIV3.ReferenceObject) => ({ 'application/json': { schema } });
const num = (description: string): OpenAPIV3.SchemaObject => ({ type: 'number', format: 'double', description });

const error = (description: string): OpenAPIV3.ResponseObject => ({ description, content: json(ref('Error')) });
const ERRORS: Record<string, OpenAPIV3.ResponseObject> = {
  '400': error('Bad Request: a parameter or body is missing or invalid, or a photo is not an image'),
  '401': {
    ...error('Unauthorized: no bearer token, or one that is malformed, expired, of another issuer or audience, or badly signed'),
    headers: { 'WWW-Authenticate': { schema: { type: 'string' }, description: 'Bearer challenge (RFC 6750)' } },
  },
  '403': error('Forbidden: the token may not do this (a role or scope it lacks), or names no company'),
  '404': error('Not Found: no scan with this id in the caller\'s company'),
};
const BUSY = { '503': error('Service Unavailable: the server is busy, or the identity provider\'s keys cannot be fetched; retry later') };
const SECURITY: OpenAPIV3.SecurityRequirementObject[] = [{ bearer: [] }, { oauth2: [] }];

const idParam: OpenAPIV3.ParameterObject = { name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } };

const createBody: OpenAPIV3.RequestBodyObject = {
  required: true,
  content: {
    'multipart/form-data': {
      schema: {
        type: 'object',
        required: ['file1', 'file2', 'channel', 'reference'],
        properties: {
          file1: { type: 'string', format: 'binary', description: 'The first photo (e.g. the identity document)' },
          file2: { type: 'string', format: 'binary', description: 'The second photo (e.g. the selfie)' },
          channel: { type: 'string', enum: [...CHANNELS], description: 'Your sales channel (case-insensitive)' },
          reference: { type: 'string', maxLength: REFERENCE_MAX, description: 'Your own value to find the scan by later (a contract number, ...)' },
        },
      },
    },
    'application/json': {
      schema: {
        type: 'object',
        required: ['channel', 'reference'],
        description: 'The photos as base64 (a data: URL too) in file1 and file2, or in KBY-AI\'s base64_1 and base64_2',
        properties: {
          file1: { type: 'string', format: 'byte' },
          file2: { type: 'string', format: 'byte' },
          base64_1: { type: 'string', format: 'byte' },
          base64_2: { type: 'string', format: 'byte' },
          channel: { type: 'string', enum: [...CHANNELS] },
          reference: { type: 'string', maxLength: REFERENCE_MAX },
        },
      },
    },
  },
};

const createOperation = (operationId: string, summary: string): OpenAPIV3.OperationObject => ({
  operationId,
  summary,
  description:
    'Compares the biggest face of each photo and stores the scan. A photo without a face, or in an image format that cannot be decoded, is ' +
    'still a scan (HTTP 200: "No face1", "Failed to open file2", ... with compare_similarity -1 and that face null); a file that is no ' +
    'image at all, a missing field or an unknown channel is an error, and nothing is stored.',
  tags: ['Face Recognition Scanner'],
  security: SECURITY,
  requestBody: createBody,
  responses: { '200': { description: 'The stored scan', content: json(ref('Scan')) }, ...ERRORS, '413': error('Payload Too Large: a photo over MAX_IMAGE_BYTES or MAX_IMAGE_PIXELS'), ...BUSY },
});

const point: OpenAPIV3.SchemaObject = { type: 'object', required: ['x', 'y'], properties: { x: { type: 'number' }, y: { type: 'number' } } };

const face: OpenAPIV3.SchemaObject = {
  type: 'object',
  nullable: true,
  description: 'The face\'s measurements; null when that photo had no face or could not be read',
  properties: {
    x1: { type: 'integer' },
    y1: { type: 'integer' },
    x2: { type: 'integer' },
    y2: { type: 'integer' },
    yaw: num('degrees; > 0: turned towards the image\'s right'),
    pitch: num('degrees; < 0: looking down'),
    roll: num('degrees'),
    eye_dist: num('pixels between the eye centres (68 landmarks)'),
    face_luminance: num('mean luminance of the face region, 0..255'),
    face_occlusion: num('probability that the face is covered (the mask classifier), 0..1'),
    face_quality: num('total of the quality assessment, 0..1'),
    left_eye_closed: num('probability that the eye on the image\'s left is closed, 0..1'),
    right_eye_closed: num('probability that the eye on the image\'s right is closed, 0..1'),
    mouth_opened: num('inner-lip gap / mouth width from the landmarks, 0..1 (open above 0.15)'),
    landmark_68: { type: 'array', minItems: 68, maxItems: 68, items: ref('Point'), description: 'iBUG 68-point landmarks in image pixels' },
  },
};

const scan: OpenAPIV3.SchemaObject = {
  type: 'object',
  description: 'A scan in both forms its clients know: the compare answer (snake_case) and the Spring entity (camelCase), same values',
  properties: {
    id: { type: 'string', format: 'uuid' },
    created: { type: 'string', description: 'UTC, ISO 8601 without offset, microseconds (2024-05-01T12:12:06.090000)' },
    channel: { type: 'string', enum: [...CHANNELS] },
    reference: { type: 'string' },
    compare_result: { type: 'string', enum: [...COMPARE_RESULTS] },
    compare_similarity: num('0..1 on the calibrated scale ("Same person" above 0.7, at a false-accept rate of 1e-3); -1 when nothing was compared'),
    face1: ref('Face'),
    face2: ref('Face'),
    companyId: { type: 'string', description: 'The company (tenant) of the token that created it' },
    createdDate: { type: 'string', format: 'date-time' },
    updatedDate: { type: 'string', format: 'date-time', nullable: true },
    createdById: { type: 'string', nullable: true, description: 'The creating token\'s subject' },
    updatedById: { type: 'string', nullable: true },
    elapsedTime: num('seconds the comparison took'),
    compareResult: { type: 'string', enum: [...COMPARE_RESULTS] },
    compareSimilarity: { type: 'number', format: 'double' },
    salesChannel: { type: 'string', enum: [...CHANNELS] },
  },
};

const update: OpenAPIV3.SchemaObject = {
  type: 'object',
  description:
    'Ocr Face Recognition Scan model. compareResult, compareSimilarity and salesChannel change (absent or null: kept); id and companyId, ' +
    'when sent, must be the scan\'s own; createdDate, createdById and elapsedTime are kept; updatedDate and updatedById are set by the server. ' +
    'The engine\'s own result stays in the scan\'s recognition event.',
  properties: {
    id: { type: 'string', format: 'uuid' },
    companyId: { type: 'string', description: 'Company Id' },
    createdDate: { type: 'string', format: 'date-time', description: 'Created Date (kept)' },
    updatedDate: { type: 'string', format: 'date-time', description: 'Updated Date (set by the server)' },
    createdById: { type: 'string', description: 'Created By (kept)' },
    updatedById: { type: 'string', description: 'Updated By (set by the server)' },
    elapsedTime: { type: 'number', format: 'double', description: 'Elapsed Time of extraction in seconds (kept)' },
    compareResult: { type: 'string', enum: [...COMPARE_RESULTS] },
    compareSimilarity: { type: 'number', format: 'double', minimum: -1, maximum: 1 },
    salesChannel: { type: 'string', enum: [...CHANNELS] },
  },
};

const sort: OpenAPIV3.SchemaObject = { type: 'object', properties: { empty: { type: 'boolean' }, sorted: { type: 'boolean' }, unsorted: { type: 'boolean' } } };

const page: OpenAPIV3.SchemaObject = {
  type: 'object',
  properties: {
    content: { type: 'array', items: ref('Scan') },
    pageable: {
      type: 'object',
      properties: {
        pageNumber: { type: 'integer' },
        pageSize: { type: 'integer' },
        sort: ref('Sort'),
        offset: { type: 'integer' },
        paged: { type: 'boolean' },
        unpaged: { type: 'boolean' },
      },
    },
    last: { type: 'boolean' },
    totalElements: { type: 'integer' },
    totalPages: { type: 'integer' },
    size: { type: 'integer' },
    number: { type: 'integer' },
    sort: ref('Sort'),
    first: { type: 'boolean' },
    numberOfElements: { type: 'integer' },
    empty: { type: 'boolean' },
  },
};

export const SCANS_OPENAPI: OpenApiDocument = {
  openapi: '3.0.3',
  info: {
    title: 'faceserver: face recognition scan API',
    version: '1',
    description:
      'Face-compare scans: two photos (an identity document and a selfie) compared into a stored verdict with each face\'s measurements, ' +
      'read, updated and listed per company. OAuth2 bearer tokens: JWTs from your OpenID Connect provider (SCANS_OIDC_*), or issued by ' +
      `faceserver to its OAuth2 clients at ${TOKEN_PATH}.`,
  },
  paths: {
    [SCANS_PATH]: {
      post: createOperation('createScan', 'Create a new face recognition scan'),
      get: {
        operationId: 'listScans',
        summary: 'Get results paginated',
        description: 'The caller\'s company\'s scans, newest first unless sorted otherwise.',
        tags: ['Face Recognition Scanner'],
        security: SECURITY,
        parameters: [
          { name: 'page', in: 'query', schema: { type: 'integer', minimum: 0, default: 0 }, description: 'Zero-based page index' },
          { name: 'size', in: 'query', schema: { type: 'integer', minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE } },
          {
            name: 'sort',
            in: 'query',
            schema: { type: 'array', items: { type: 'string' } },
            description: `property[,property...][,asc|desc], repeatable; properties: ${Object.keys(SORT_PROPERTIES).join(', ')}`,
          },
          { name: 'reference', in: 'query', schema: { type: 'string' }, description: 'Only scans with this reference' },
        ],
        responses: { '200': { description: 'A page of scans', content: json(ref('Page')) }, ...ERRORS, ...BUSY },
      },
    },
    [`${SCANS_PATH}/{id}`]: {
      get: {
        operationId: 'getScan',
        summary: 'Get by id',
        tags: ['Face Recognition Scanner'],
        security: SECURITY,
        parameters: [idParam],
        responses: { '200': { description: 'The scan', content: json(ref('Scan')) }, ...ERRORS, ...BUSY },
      },
      put: {
        operationId: 'updateScan',
        summary: 'Update entity',
        description: 'Needs the update role (SCANS_UPDATE_ROLE) in a provider token, or the write scope in a token faceserver issued.',
        tags: ['Face Recognition Scanner'],
        security: SECURITY,
        parameters: [idParam],
        requestBody: { required: true, content: json(ref('ScanUpdate')) },
        responses: {
          '200': { description: 'The updated scan', content: json(ref('Scan')) },
          ...ERRORS,
          '415': error('Unsupported Media Type: the body is not JSON'),
          ...BUSY,
        },
      },
    },
    [`${SCANS_PATH}/{id}/{file}`]: {
      get: {
        operationId: 'getScanPhoto',
        summary: 'A stored photo of the scan (only with SCANS_SAVE_PHOTOS)',
        tags: ['Face Recognition Scanner'],
        security: SECURITY,
        parameters: [idParam, { name: 'file', in: 'path', required: true, schema: { type: 'string', enum: ['file1', 'file2'] } }],
        responses: {
          '200': { description: 'The photo as uploaded', content: { 'image/*': { schema: { type: 'string', format: 'binary' } } } },
          ...ERRORS,
          '404': error('Not Found: no such scan, or its photos were not kept'),
          ...BUSY,
        },
      },
    },
    [COMPARE_FACE_PATH]: { post: createOperation('compareFace', 'Create a new face recognition scan (the SDK gateway\'s path)') },
    [TOKEN_PATH]: {
      post: {
        operationId: 'token',
        summary: 'OAuth2 client credentials: an access token for a scans client',
        description:
          'RFC 6749 section 4.4. The client is a key made by `faceserver keys create --kind scans --user CLIENT_ID [--collection COMPANY]`; ' +
          'its company is that collection (else the client id). The token carries the key\'s scopes: verify creates scans, read reads and ' +
          'lists them, write updates them.',
        tags: ['OAuth2'],
        security: [{ clientBasic: [] }, {}],
        requestBody: {
          required: true,
          content: {
            'application/x-www-form-urlencoded': {
              schema: {
                type: 'object',
                required: ['grant_type'],
                properties: {
                  grant_type: { type: 'string', enum: ['client_credentials'] },
                  client_id: { type: 'string', description: 'With client_secret, when not sent by HTTP Basic' },
                  client_secret: { type: 'string' },
                  scope: { type: 'string', description: 'Space-separated subset of the client\'s scopes (default: all of them)' },
                },
              },
            },
          },
        },
        responses: {
          '200': {
            description: 'The access token',
            content: json({
              type: 'object',
              properties: {
                access_token: { type: 'string' },
                token_type: { type: 'string', enum: ['Bearer'] },
                expires_in: { type: 'integer' },
                scope: { type: 'string' },
              },
            }),
          },
          '400': { description: 'invalid_request, unsupported_grant_type or invalid_scope', content: json(ref('OAuthError')) },
          '401': { description: 'invalid_client', content: json(ref('OAuthError')) },
          '429': {
            description: 'temporarily_unavailable: this address made too many failed client attempts (AUTH_FAILURES_PER_ADDRESS); retry after Retry-After',
            content: json(ref('OAuthError')),
            headers: { 'Retry-After': { schema: { type: 'integer' }, description: 'Seconds left of the block' } },
          },
          ...BUSY,
        },
      },
    },
    [JWKS_PATH]: {
      get: {
        operationId: 'jwks',
        summary: 'The public keys of the tokens faceserver issues (JWKS)',
        tags: ['OAuth2'],
        responses: { '200': { description: 'A JSON Web Key Set', content: json({ type: 'object', properties: { keys: { type: 'array', items: { type: 'object' } } } }) } },
      },
    },
  },
  components: {
    securitySchemes: {
      bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
      oauth2: { type: 'oauth2', flows: { clientCredentials: { tokenUrl: TOKEN_PATH, scopes: { verify: 'create scans', read: 'read and list scans', write: 'update scans' } } } },
      clientBasic: { type: 'http', scheme: 'basic', description: 'client_id and client_secret' },
    },
    schemas: {
      Point: point,
      Face: face,
      Scan: scan,
      ScanUpdate: update,
      Sort: sort,
      Page: page,
      Error: {
        type: 'object',
        properties: {
          timestamp: { type: 'string', format: 'date-time' },
          status: { type: 'integer' },
          error: { type: 'string' },
          message: { type: 'string' },
        },
      },
      OAuthError: {
        type: 'object',
        properties: {
          error: { type: 'string', enum: ['invalid_request', 'invalid_client', 'unsupported_grant_type', 'invalid_scope'] },
          error_description: { type: 'string' },
        },
      },
    },
  },
};
