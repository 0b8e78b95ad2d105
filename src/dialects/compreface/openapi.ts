// The CompreFace REST v1 dialect's OpenAPI 3 document (served at /openapi/compreface.json): every route the
// dialect serves (recognition, detection, verification, the static image URL), with its parameters, bodies,
// answers and CompreFace's error shape. test/compreface-openapi.test.ts holds it equal to the router.
import type { OpenAPIV3 } from 'openapi-types';
import type { OpenApiDocument } from '../../http/openapi';
import { CF } from './errors';
import { PLUGIN_VERSIONS } from './face-json';

const ref = (name: string): OpenAPIV3.ReferenceObject => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: OpenAPIV3.SchemaObject | OpenAPIV3.ReferenceObject) => ({ 'application/json': { schema } });
const ok = (description: string, schema: OpenAPIV3.SchemaObject | OpenAPIV3.ReferenceObject): OpenAPIV3.ResponsesObject => ({
  '200': { description, content: json(schema) },
});
const error = (description: string): OpenAPIV3.ResponseObject => ({ description, content: json(ref('Error')) });

const ERRORS: OpenAPIV3.ResponsesObject = {
  '400': error(
    `Bad Request: a missing or invalid parameter, header or image (code ${CF.MISSING_REQUEST_HEADER}: no x-api-key; ` +
      `${CF.MISSING_REQUEST_PARAMETER}/${CF.MISSING_REQUEST_PART}: a parameter or file missing; ${CF.NO_FACES_FOUND}: no face found; ` +
      `${CF.UNAVAILABLE_FILE_EXTENSION}: not an image)`,
  ),
  '403': error('Forbidden: the key is of another service (a detection key on a recognition route, ...)'),
  '404': error(`Not Found: an unknown key (code ${CF.MODEL_NOT_FOUND}), subject (${CF.SUBJECT_NOT_FOUND}) or image id (${CF.EMBEDDING_NOT_FOUND})`),
  '429': { ...error(`Too Many Requests (code ${CF.UNDEFINED}): this address made too many failed key attempts (AUTH_FAILURES_PER_ADDRESS); retry after Retry-After`), headers: { 'Retry-After': { schema: { type: 'integer' }, description: 'Seconds left of the block' } } },
};
const BUSY: OpenAPIV3.ResponsesObject = { '503': error(`Service Unavailable: the inference queue is full (code ${CF.FACES_SERVICE_EXCEPTION}); retry later`) };
const KEY: OpenAPIV3.SecurityRequirementObject[] = [{ apiKey: [] }];

const query = (name: string, schema: OpenAPIV3.SchemaObject, description: string, required = false): OpenAPIV3.ParameterObject => ({
  name,
  in: 'query',
  required,
  schema,
  description,
});
const path = (name: string, description: string): OpenAPIV3.ParameterObject => ({ name, in: 'path', required: true, schema: { type: 'string' }, description });

const P = {
  limit: query('limit', { type: 'integer', minimum: 0, default: 0 }, 'Faces to process, biggest first; 0: all'),
  detProb: query('det_prob_threshold', { type: 'number', minimum: 0, maximum: 1 }, 'Detector confidence a face needs (default: the engine\'s)'),
  plugins: query(
    'face_plugins',
    { type: 'string', example: 'age,gender,landmarks' },
    `Comma-separated face plugins: ${Object.keys(PLUGIN_VERSIONS)
      .filter((p) => p !== 'detector')
      .join(', ')} (unknown slugs are ignored)`,
  ),
  status: query('status', { type: 'boolean', default: false }, 'Add execution_time per face and plugins_versions'),
  detectFaces: query('detect_faces', { type: 'boolean', default: true }, 'false: the image is one face crop, no detection'),
  predictionCount: query('prediction_count', { type: 'integer', default: 1 }, 'Subjects per face, best first; -1: all'),
  subjectOptional: query('subject', { type: 'string' }, 'Only this subject\'s examples'),
  subjectRequired: query('subject', { type: 'string' }, 'The subject the example belongs to (created if new)', true),
  page: query('page', { type: 'integer', minimum: 0, default: 0 }, 'Page number, from 0'),
  size: query('size', { type: 'integer', minimum: 1, maximum: 10_000, default: 20 }, 'Page size'),
  subject: path('subject', 'The subject\'s name'),
  imageId: { ...path('image_id', 'An example\'s id'), schema: { type: 'string', format: 'uuid' } } as OpenAPIV3.ParameterObject,
};
const DETECT_PARAMS = [P.limit, P.detProb, P.plugins, P.status, P.detectFaces];

/** One or more images: multipart files, base64 in a JSON body, or (faceserver's convenience) a raw image body. */
function imageBody(fields: string[], extra: Record<string, OpenAPIV3.SchemaObject> = {}): OpenAPIV3.RequestBodyObject {
  const files = Object.fromEntries(fields.map((f) => [f, { type: 'string', format: 'binary' } as OpenAPIV3.SchemaObject]));
  const base64 = Object.fromEntries(fields.map((f) => [f, { type: 'string', description: 'The image as base64 (a data: URL too), or an http(s) URL faceserver downloads (public addresses only unless URL_FETCH_ALLOW_PRIVATE)' } as OpenAPIV3.SchemaObject]));
  const content: OpenAPIV3.RequestBodyObject['content'] = {
    'multipart/form-data': { schema: { type: 'object', required: fields, properties: { ...files, ...extra } } },
    'application/json': { schema: { type: 'object', required: fields, properties: base64 } },
  };
  if (fields.length === 1) content['image/*'] = { schema: { type: 'string', format: 'binary' } };
  return { required: true, content, description: 'JPEG, PNG, BMP, GIF, TIFF or WebP; at most MAX_IMAGE_BYTES' };
}

const embeddingsBody = (fields: Record<string, OpenAPIV3.SchemaObject>): OpenAPIV3.RequestBodyObject => ({
  required: true,
  content: json({ type: 'object', required: Object.keys(fields), properties: fields }),
});

const op = (
  tag: string,
  operationId: string,
  summary: string,
  more: Partial<OpenAPIV3.OperationObject> & { responses: OpenAPIV3.ResponsesObject },
): OpenAPIV3.OperationObject => ({
  tags: [tag],
  operationId,
  summary,
  security: KEY,
  ...more,
  responses: { ...more.responses, ...ERRORS },
});

const R = 'Recognition: subjects';
const E = 'Recognition: examples';
const REC = 'Recognition: recognize and verify';
const S = 'Detection and verification';

const schemas: Record<string, OpenAPIV3.SchemaObject> = {
  Error: {
    type: 'object',
    required: ['message', 'code'],
    properties: { message: { type: 'string' }, code: { type: 'integer', description: 'CompreFace\'s error code' } },
  },
  Box: {
    type: 'object',
    properties: {
      probability: { type: 'number' },
      x_max: { type: 'integer' },
      y_max: { type: 'integer' },
      x_min: { type: 'integer' },
      y_min: { type: 'integer' },
    },
  },
  Face: {
    type: 'object',
    description: 'A face: its box and the requested plugins\' outputs',
    properties: {
      box: ref('Box'),
      age: { type: 'object', properties: { probability: { type: 'number' }, high: { type: 'integer' }, low: { type: 'integer' } } },
      gender: { type: 'object', properties: { probability: { type: 'number' }, value: { type: 'string', enum: ['male', 'female'] } } },
      mask: { type: 'object', properties: { probability: { type: 'number' }, value: { type: 'string', enum: ['with_mask', 'without_mask'] } } },
      pose: { type: 'object', properties: { pitch: { type: 'number' }, roll: { type: 'number' }, yaw: { type: 'number' } } },
      landmarks: { type: 'array', items: { type: 'array', items: { type: 'integer' }, minItems: 2, maxItems: 2 }, description: '5 points: eyes, nose, mouth corners' },
      embedding: { type: 'array', items: { type: 'number' }, description: 'The 512-d template (calculator plugin)' },
      emotion: { type: 'object', properties: { value: { type: 'string' }, probability: { type: 'number' }, probabilities: { type: 'object', additionalProperties: { type: 'number' } } } },
      liveness: { type: 'object', properties: { value: { type: 'string', enum: ['real', 'fake'] }, probability: { type: 'number' } } },
      quality: { type: 'object', additionalProperties: true },
      eyes: { type: 'object', additionalProperties: true },
      mouth: { type: 'object', additionalProperties: true },
      execution_time: { type: 'object', additionalProperties: { type: 'number' }, description: 'milliseconds per stage (status=true)' },
    },
  },
  PluginsVersions: { type: 'object', additionalProperties: { type: 'string' }, description: 'status=true' },
  RecognizedFace: {
    allOf: [
      ref('Face'),
      {
        type: 'object',
        properties: {
          subjects: {
            type: 'array',
            items: { type: 'object', properties: { similarity: { type: 'number' }, subject: { type: 'string' } } },
          },
        },
      },
    ],
  },
  VerifiedFace: { allOf: [ref('Face'), { type: 'object', properties: { similarity: { type: 'number' } } }] },
  Example: { type: 'object', properties: { image_id: { type: 'string', format: 'uuid' }, subject: { type: 'string' } } },
  Embedding: { type: 'array', items: { type: 'number' }, description: 'A 512-d template (normalised on receipt)' },
  EmbeddingSimilarity: { type: 'object', properties: { embedding: ref('Embedding'), similarity: { type: 'number' } } },
};

const subjectBody = embeddingsBody({ subject: { type: 'string' } });

export const COMPREFACE_OPENAPI: OpenApiDocument = {
  openapi: '3.0.3',
  info: {
    title: 'faceserver: CompreFace REST API v1',
    version: '1',
    description:
      'Exadel CompreFace\'s REST API v1 as faceserver serves it, so CompreFace clients and SDKs work unchanged. Every route needs an ' +
      'x-api-key header with a key of its service (recognition, detection or verification; `faceserver keys create --service ...`), ' +
      'except the static image URL, which carries a recognition key in its path. Parameters are read from the query string or form fields ' +
      '(Spring\'s @RequestParam). Errors are `{"message", "code"}` with CompreFace\'s codes.',
  },
  servers: [{ url: '/' }],
  tags: [{ name: R }, { name: E }, { name: REC }, { name: S }],
  paths: {
    '/api/v1/recognition/subjects': {
      post: op(R, 'addSubject', 'Create a subject', {
        requestBody: subjectBody,
        responses: { '201': { description: 'Created', content: json({ type: 'object', properties: { subject: { type: 'string' } } }) } },
      }),
      get: op(R, 'listSubjects', 'List subjects', { responses: ok('Subject names', { type: 'object', properties: { subjects: { type: 'array', items: { type: 'string' } } } }) }),
      delete: op(R, 'deleteAllSubjects', 'Delete every subject and its examples', {
        responses: ok('How many were deleted', { type: 'object', properties: { deleted: { type: 'integer' } } }),
      }),
    },
    '/api/v1/recognition/subjects/{subject}': {
      put: op(R, 'renameSubject', 'Rename a subject (into an existing one: merged)', {
        parameters: [P.subject],
        requestBody: subjectBody,
        responses: ok('Renamed', { type: 'object', properties: { updated: { type: 'boolean' } } }),
      }),
      delete: op(R, 'deleteSubject', 'Delete a subject and its examples', {
        parameters: [P.subject],
        responses: ok('Deleted', { type: 'object', properties: { subject: { type: 'string' } } }),
      }),
    },
    '/api/v1/recognition/faces': {
      post: op(E, 'addExample', 'Add an example (a face photo) of a subject', {
        parameters: [P.subjectRequired, P.detProb],
        requestBody: imageBody(['file']),
        responses: { '201': { description: 'The example', content: json(ref('Example')) }, ...BUSY },
      }),
      get: op(E, 'listExamples', 'List examples, a page at a time', {
        parameters: [P.subjectOptional, P.page, P.size],
        responses: ok('A page of examples', {
          type: 'object',
          properties: {
            faces: { type: 'array', items: ref('Example') },
            page_number: { type: 'integer' },
            page_size: { type: 'integer' },
            total_pages: { type: 'integer' },
            total_elements: { type: 'integer' },
          },
        }),
      }),
      delete: op(E, 'deleteExamplesOfSubject', 'Delete the examples of a subject (all examples without one)', {
        parameters: [P.subjectOptional],
        responses: ok('How many were deleted', { type: 'object', properties: { deleted: { type: 'integer' } } }),
      }),
    },
    '/api/v1/recognition/faces/delete': {
      post: op(E, 'deleteExamplesById', 'Delete examples by id (unknown ids are skipped)', {
        requestBody: { required: true, content: json({ type: 'array', items: { type: 'string', format: 'uuid' } }) },
        responses: ok('The deleted examples', { type: 'array', items: ref('Example') }),
      }),
    },
    '/api/v1/recognition/faces/{image_id}': {
      delete: op(E, 'deleteExample', 'Delete an example', { parameters: [P.imageId], responses: ok('The deleted example', ref('Example')) }),
    },
    '/api/v1/recognition/faces/{image_id}/img': {
      get: op(E, 'downloadExample', 'The example\'s photo (empty when photos are not kept: SAVE_IMAGES=false)', {
        parameters: [P.imageId],
        responses: { '200': { description: 'The photo', content: { 'image/*': { schema: { type: 'string', format: 'binary' } } } } },
      }),
    },
    '/api/v1/recognition/recognize': {
      post: op(REC, 'recognize', 'Recognize the faces of a photo among the subjects', {
        parameters: [...DETECT_PARAMS, P.predictionCount],
        requestBody: imageBody(['file']),
        responses: {
          ...ok('Each face with its best subjects', {
            type: 'object',
            properties: { result: { type: 'array', items: ref('RecognizedFace') }, plugins_versions: ref('PluginsVersions') },
          }),
          ...BUSY,
        },
      }),
    },
    '/api/v1/recognition/faces/{image_id}/verify': {
      post: op(REC, 'verifyWithExample', 'Compare each face of a photo with a stored example', {
        parameters: [P.imageId, P.limit, P.detProb, P.plugins, P.status],
        requestBody: imageBody(['file']),
        responses: {
          ...ok('Each face with its similarity', { type: 'object', properties: { result: { type: 'array', items: ref('VerifiedFace') }, plugins_versions: ref('PluginsVersions') } }),
          ...BUSY,
        },
      }),
    },
    '/api/v1/recognition/embeddings/recognize': {
      post: op(REC, 'recognizeEmbeddings', 'Recognize templates (from the calculator plugin) among the subjects', {
        parameters: [P.predictionCount],
        requestBody: embeddingsBody({ embeddings: { type: 'array', items: ref('Embedding') } }),
        responses: ok('Each template with its best subjects', {
          type: 'object',
          properties: {
            result: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  embedding: ref('Embedding'),
                  similarities: { type: 'array', items: { type: 'object', properties: { subject: { type: 'string' }, similarity: { type: 'number' } } } },
                },
              },
            },
          },
        }),
      }),
    },
    '/api/v1/recognition/embeddings/faces/{image_id}/verify': {
      post: op(REC, 'verifyEmbeddingsWithExample', 'Compare templates with a stored example', {
        parameters: [P.imageId],
        requestBody: embeddingsBody({ embeddings: { type: 'array', items: ref('Embedding') } }),
        responses: ok('Each template with its similarity', { type: 'object', properties: { result: { type: 'array', items: ref('EmbeddingSimilarity') } } }),
      }),
    },
    '/api/v1/detection/detect': {
      post: op(S, 'detect', 'Detect the faces of a photo, with the requested plugins (detection key)', {
        parameters: DETECT_PARAMS,
        requestBody: imageBody(['file']),
        responses: {
          ...ok('The faces', { type: 'object', properties: { result: { type: 'array', items: ref('Face') }, plugins_versions: ref('PluginsVersions') } }),
          ...BUSY,
        },
      }),
    },
    '/api/v1/verification/verify': {
      post: op(S, 'verifyImages', 'Compare the face of source_image with every face of target_image (verification key)', {
        parameters: DETECT_PARAMS,
        requestBody: imageBody(['source_image', 'target_image']),
        responses: {
          ...ok('The source face and each target face with its similarity', {
            type: 'object',
            properties: {
              result: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: { source_image_face: ref('Face'), face_matches: { type: 'array', items: ref('VerifiedFace') }, plugins_versions: ref('PluginsVersions') },
                },
              },
            },
          }),
          ...BUSY,
        },
      }),
    },
    '/api/v1/verification/embeddings/verify': {
      post: op(S, 'verifyEmbeddings', 'Compare target templates with a source template (verification key)', {
        requestBody: embeddingsBody({ source: ref('Embedding') as OpenAPIV3.SchemaObject, targets: { type: 'array', items: ref('Embedding') } }),
        responses: ok('Each target with its similarity', { type: 'object', properties: { result: { type: 'array', items: ref('EmbeddingSimilarity') } } }),
      }),
    },
    '/api/v1/static/{key}/images/{image_id}': {
      get: {
        tags: [E],
        operationId: 'staticExampleImage',
        summary: 'An example\'s photo for <img src>: the recognition key is in the path, no header',
        parameters: [path('key', 'A recognition key'), P.imageId],
        responses: {
          '200': { description: 'The photo (empty when photos are not kept)', content: { 'image/*': { schema: { type: 'string', format: 'binary' } } } },
          ...ERRORS,
        },
      },
    },
  },
  components: {
    schemas,
    securitySchemes: { apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key', description: 'A key of the route\'s service' } },
  },
};
