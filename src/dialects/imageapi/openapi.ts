// The Image API's OpenAPI 3 document (served at /openapi/imageapi.json), made from the same service table as
// the routes: every service at /process/image and /process/sample, unversioned (v1), /v1 and /v2.
import type { OpenAPIV3 } from 'openapi-types';
import type { OpenApiDocument } from '../../http/openapi';
import { SEARCH_LIMIT_MAX, SERVICES, serviceRoutes } from './services';

const ref = (name: string): OpenAPIV3.ReferenceObject => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: OpenAPIV3.SchemaObject | OpenAPIV3.ReferenceObject) => ({ 'application/json': { schema } });

const ERRORS: Record<string, OpenAPIV3.ResponseObject> = {
  '400': { description: 'The image or a template cannot be decoded ("Failed to decode base64 string"), no face where one is needed, "More than one face detected", "Low image quality. ..."', content: json(ref('Error')) },
  '401': { description: 'No key, or an unknown one ({"detail": "Not authenticated"})', content: json(ref('Error')) },
  '403': { description: 'A key without the scope this service needs', content: json(ref('Error')) },
  '413': { description: 'The image is larger than IMAGEAPI_MAX_IMAGE_BYTES (4.7 MB), or a liveness image larger than 10 megapixels', content: json(ref('Error')) },
  '422': { description: 'The request does not validate: {"detail": [{"loc", "msg", "type"}]}', content: json(ref('ValidationError')) },
  '429': { description: 'This address made too many failed key attempts (AUTH_FAILURES_PER_ADDRESS): retry after Retry-After', content: json(ref('Error')), headers: { 'Retry-After': { schema: { type: 'integer' }, description: 'Seconds left of the block' } } },
  '503': { description: 'The server is busy: retry later', content: json(ref('Error')) },
};

const SEARCH_QUERY: OpenAPIV3.ParameterObject[] = [
  { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: SEARCH_LIMIT_MAX, default: 1 }, description: 'Matches per object' },
  { name: 'max_fa_r', in: 'query', schema: { type: 'number', minimum: 0, maximum: 1, default: 1e-3 }, description: 'Only matches whose false-accept rate is at most this' },
  { name: 'collections', in: 'query', schema: { type: 'string' }, description: "Comma-separated collection names (default: every collection of the key)" },
];

function operation(service: (typeof SERVICES)[number], path: string, version: string, transport: 'image' | 'sample'): OpenAPIV3.OperationObject {
  const body: OpenAPIV3.RequestBodyObject =
    transport === 'image'
      ? {
          required: true,
          content: {
            'multipart/form-data': { schema: { type: 'object', required: ['image'], properties: { image: { type: 'string', format: 'binary' } } } },
            'image/*': { schema: { type: 'string', format: 'binary' } },
          },
        }
      : { required: true, content: json(ref(version === 'v2' ? 'SampleV2' : 'SampleV1')) };
  return {
    tags: [service.name],
    summary: `${service.summary} (${version}, ${transport === 'image' ? 'multipart image' : 'JSON sample'})`,
    // From the path: the unversioned and the /v1 paths both serve v1.
    operationId: path.slice(1).replaceAll('/', '-'),
    security: [{ bearer: [] }, { token: [] }],
    ...(service.name === 'search-matcher' ? { parameters: SEARCH_QUERY } : {}),
    requestBody: body,
    responses: { '200': { description: 'The sample with what the service adds', content: json(ref(version === 'v2' ? 'SampleV2' : 'SampleV1')) }, ...ERRORS },
  };
}

function paths(): OpenAPIV3.PathsObject {
  const out: OpenAPIV3.PathsObject = {};
  for (const service of SERVICES) {
    for (const r of serviceRoutes(service.name)) out[r.path] = { post: operation(service, r.path, r.version, r.transport) };
  }
  return out;
}

const object = (description: string, properties: Record<string, OpenAPIV3.SchemaObject | OpenAPIV3.ReferenceObject> = {}): OpenAPIV3.SchemaObject => ({
  type: 'object',
  description,
  properties,
  additionalProperties: true,
});

export const IMAGE_API_OPENAPI: OpenApiDocument = {
  openapi: '3.0.3',
  info: {
    title: 'faceserver: 3DiVi Image API',
    version: '1',
    description:
      'The 3DiVi Face SDK Image API processing services. v1 samples carry "$image" (base64) and UPPERCASE enums; v2 carry "_image": {"blob", "format": "IMAGE"} and lowercase ones. Bounding boxes are [x1, y1, x2, y2] normalised to the image. Objects sent in are returned with the new attributes added and their other fields kept. Keys: `faceserver keys create --kind imageapi`.',
  },
  paths: paths(),
  components: {
    securitySchemes: {
      bearer: { type: 'http', scheme: 'bearer', description: 'An imageapi key' },
      token: { type: 'apiKey', in: 'header', name: 'TOKEN', description: 'An imageapi key' },
    },
    schemas: {
      Error: { type: 'object', required: ['detail'], properties: { detail: { type: 'string' } } },
      ValidationError: {
        type: 'object',
        required: ['detail'],
        properties: {
          detail: {
            type: 'array',
            items: {
              type: 'object',
              required: ['loc', 'msg', 'type'],
              properties: { loc: { type: 'array', items: { oneOf: [{ type: 'string' }, { type: 'integer' }] } }, msg: { type: 'string' }, type: { type: 'string' } },
            },
          },
        },
      },
      Bbox: { type: 'array', items: { type: 'number' }, minItems: 4, maxItems: 4, description: '[x1, y1, x2, y2], normalised to the image' },
      SampleObject: object(
        'An object found in the image (class face or body) with the attributes services added: confidence, bbox; fitter + angles (v1) or keypoints + pose (v2); age; gender; emotions; liveness; mask (v1) or has_medical_mask (v2); quality (v1 {qaa: camelCase, scores 0..100}; v2 snake_case, scores 0..1); $template + template_size (v1) or template (v2); search_result (search-matcher)',
        {
          id: { type: 'integer' },
          class: { type: 'string', enum: ['face', 'body'] },
          confidence: { type: 'number' },
          bbox: ref('Bbox'),
          search_result: {
            type: 'array',
            items: object('An enrolled face found by search-matcher', {
              face_id: { type: 'string', format: 'uuid' },
              person_id: { type: 'string', format: 'uuid', nullable: true },
              person_name: { type: 'string', nullable: true },
              collection: { type: 'string', nullable: true },
              verification: ref('Verification'),
            }),
          },
        },
      ),
      Verification: {
        type: 'object',
        required: ['distance', 'fa_r', 'fr_r', 'score'],
        properties: {
          distance: { type: 'number', description: 'Euclidean distance of the two unit embeddings (0..2)' },
          fa_r: { type: 'number', description: 'False-accept rate with this distance as the threshold (the platform calibration)' },
          fr_r: { type: 'number', description: 'False-reject rate with this distance as the threshold' },
          score: { type: 'number', description: 'Probability of the same person, 0..1, monotone in similarity' },
        },
      },
      SampleV1: object('A v1 sample', {
        $image: { type: 'string', format: 'byte' },
        objects: { type: 'array', items: ref('SampleObject') },
        verification: ref('Verification'),
        search_params: object('search-matcher options (as the query parameters)'),
      }),
      SampleV2: object('A v2 sample', {
        _image: { type: 'object', properties: { blob: { type: 'string', format: 'byte' }, format: { type: 'string', enum: ['IMAGE'] } } },
        objects: { type: 'array', items: ref('SampleObject') },
        verification: ref('Verification'),
        search_params: object('search-matcher options (as the query parameters)'),
      }),
    },
  },
};
