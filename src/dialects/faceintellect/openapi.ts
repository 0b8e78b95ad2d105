// Face Intellect's OpenAPI 3 document (served at /openapi/faceintellect.json): every route the dialect serves,
// its bodies, answers and error envelope.
import type { OpenAPIV3 } from 'openapi-types';
import type { OpenApiDocument } from '../../http/openapi';
import { ERROR_DESCRIPTIONS } from './errors';
import { MAX_FIND_PERSONS, MAX_PAGE_SIZE } from './routes';
import { FAR_ANCHORS, MATCH_SIM } from './similarity';

const ref = (name: string): OpenAPIV3.ReferenceObject => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: OpenAPIV3.SchemaObject | OpenAPIV3.ReferenceObject) => ({ 'application/json': { schema } });
const str = (description: string): OpenAPIV3.SchemaObject => ({ type: 'string', description });
const guid = (description: string): OpenAPIV3.SchemaObject => ({ type: 'string', format: 'uuid', description });
const serverId = str('The Face Recognition Server: a collection these credentials may see, by name, or its number (1 = the key\'s first)');

const error = (description: string): OpenAPIV3.ResponseObject => ({ description, content: json(ref('Error')) });
const ERRORS: Record<string, OpenAPIV3.ResponseObject> = {
  '400': error('A parameter is missing or invalid, the body is not JSON, the image is not base64 or not an image (FACE_NOT_FOUND: no face, except in FindFaces)'),
  '401': { ...error('UNAUTHORIZED: no credentials, or a wrong user or password'), headers: { 'WWW-Authenticate': { schema: { type: 'string' } } } },
  '403': error('FORBIDDEN: the key lacks the scope'),
  '404': error('SERVER_NOT_FOUND, PERSON_NOT_FOUND, IMAGE_NOT_FOUND (or the operation\'s code)'),
  '413': error('REQUEST_TOO_LARGE: the body or image is over its limit'),
  '429': { ...error('TOO_MANY_ATTEMPTS: this address made too many failed attempts (AUTH_FAILURES_PER_ADDRESS); retry after Retry-After'), headers: { 'Retry-After': { schema: { type: 'integer' }, description: 'Seconds left of the block' } } },
  '503': error('SERVER_NOT_READY: busy, retry later'),
};
const SECURITY: OpenAPIV3.SecurityRequirementObject[] = [{ basic: [] }];

const body = (required: string[], properties: Record<string, OpenAPIV3.SchemaObject>): OpenAPIV3.RequestBodyObject => ({
  required: true,
  content: json({ type: 'object', required, properties }),
});

const operation = (operationId: string, summary: string, description: string, requestBody: OpenAPIV3.RequestBodyObject | undefined, ok: OpenAPIV3.ResponseObject): OpenAPIV3.OperationObject => ({
  operationId,
  summary,
  description,
  tags: ['Face Recognition Server'],
  security: SECURITY,
  ...(requestBody ? { requestBody } : {}),
  responses: { '200': ok, ...ERRORS },
});

const success = { description: 'Done', content: json(ref('Result')) };
const personFields: Record<string, OpenAPIV3.SchemaObject> = {
  name: str('Name (stored as given; absent: none)'),
  surname: str('Surname'),
  patronymic: str('Patronymic'),
  department: str('Department'),
  comment: str('Comment'),
  additionalParams: { type: 'object', additionalProperties: true, description: 'Kept with the person as sent' },
};

const imageOperation = (id: string) =>
  operation(
    id,
    'The image of a face (its ImageId) or a person\'s reference image',
    'Answers the stored photo bytes with their content type. When photos are not kept (SAVE_IMAGES=false), the JPEG crop of the face cut at ' +
      'enrolment (THUMBNAILS, THUMBNAIL_SIZE pixels), marked X-Image-Kind: face-crop; IMAGE_NOT_FOUND when neither is kept.',
    id === 'GetImagePost' ? body(['server_id', 'id'], { server_id: serverId, id: guid('ImageId, or a person Id') }) : undefined,
    { description: 'The photo, or the face\'s crop', content: { 'image/*': { schema: { type: 'string', format: 'binary' } } } },
  );

export const FACE_INTELLECT_OPENAPI: OpenApiDocument = {
  openapi: '3.0.3',
  info: {
    title: 'faceserver: Face Intellect Face Recognition Server API',
    version: '1.0.0',
    description:
      'ITV / AxxonSoft Face Intellect 8.x\'s /firserver API over faceserver\'s store. Credentials: HTTP Basic (a faceintellect key\'s user and ' +
      'password), or none for the servers in FACEINTELLECT_ANONYMOUS_SERVERS. Errors carry a status code word in Status and Response.Status ' +
      '(POST /firserver/FaceErrorDescriptions lists them) and the text in Description. Every path also answers behind a prefix, ' +
      '/<prefix>/firserver/... (the documented http://IP-address:port/prefix/firserver/... form), unless the prefix begins another API\'s paths.',
  },
  servers: [
    { url: '/' },
    { url: '/{prefix}', description: 'The documented form with a web server prefix', variables: { prefix: { default: 'intellect', description: 'Any path segment(s) not owned by another API (not v0, v1, api, console, admin, ...)' } } },
  ],
  paths: {
    '/firserver/FindFaces': {
      post: {
        ...operation(
          'FindFaces',
          'Find the persons of every face in a photo',
          `Each face with its quality, eyes and rectangle in pixels, and the best findPersons persons of the server at or above the match Sim ` +
            `(FACEINTELLECT_MATCH_SIM, default ${MATCH_SIM}), each with Sim (text): ${FAR_ANCHORS.map((a) => `${a.sim} at false-accept rate ${a.far}`).join(', ')}. ` +
            'A photo without a face answers FaceList [] with Status FACE_NOT_FOUND (HTTP 200). ' +
            'Every face is a recognition event (RecognitionCount and LastRecognitionTimestamp of the recognized person move). On a server with ' +
            'automatic persons (FACEINTELLECT_AUTO_PERSONS) an unrecognized face becomes a new person with AutoCreated true (Sim "1").',
          body(['server_id', 'findPersons', 'image'], {
            server_id: serverId,
            findPersons: { type: 'integer', minimum: 0, maximum: MAX_FIND_PERSONS, description: 'Matches per face' },
            image: { type: 'string', format: 'byte', description: 'The photo, base64' },
          }),
          { description: 'The faces found', content: json(ref('FindFacesResult')) },
        ),
      },
    },
    '/firserver/CreatePerson': {
      post: operation(
        'CreatePerson',
        'Add a person with a photo',
        'A new person (or, with the id of a person of this server, one more photo of that person and its fields replaced). The photo must show ' +
          'one face: FACE_NOT_FOUND, FAILED_TO_ADD_PERSON_MANY_FACES otherwise. fir (another engine\'s template) is refused.',
        body(['server_id', 'surname', 'department', 'image'], {
          server_id: serverId,
          objectType: str('"PERSON" (ignored)'),
          id: guid('The new person\'s id (generated when absent)'),
          ...personFields,
          createPersonInIntellect: { type: 'integer', description: 'Ignored' },
          image: { type: 'string', format: 'byte', description: 'The photo, base64' },
        }),
        success,
      ),
    },
    '/firserver/ReadPersons': {
      post: operation(
        'ReadPersons',
        'The persons of a server, newest first, one page',
        'Persons with a face on the server (all, or those of the ids given; autoCreated: true lists only automatic persons).',
        body(['server_id'], {
          server_id: serverId,
          objectType: str('"PERSON" (ignored)'),
          id: { type: 'array', items: { type: 'string', format: 'uuid' }, description: 'Only these persons (empty: all)' },
          page: { type: 'integer', minimum: 1, default: 1 },
          pageSize: { type: 'integer', minimum: 1, maximum: MAX_PAGE_SIZE, default: 1 },
          autoCreated: { type: 'boolean', description: 'true: only automatic persons' },
        }),
        { description: 'One page', content: json(ref('PersonPage')) },
      ),
    },
    '/firserver/UpdatePerson': {
      post: operation('UpdatePerson', 'Change a person\'s fields', 'Fields absent stay as they are; "" clears one.', body(['server_id', 'id'], { server_id: serverId, id: guid('The person'), ...personFields }), success),
    },
    '/firserver/DeletePersons': {
      post: operation(
        'DeletePersons',
        'Delete persons from a server',
        'Each person\'s faces on this server go (faces also in other collections stay there); a person left without faces goes. "*all*": every person and face of the server.',
        body(['server_id', 'id'], { server_id: serverId, id: { type: 'array', items: { type: 'string' }, description: 'Person GUIDs, or ["*all*"]' } }),
        success,
      ),
    },
    '/firserver/MergePersons': {
      post: operation(
        'MergePersons',
        'Join a person (e.g. an automatic one) to another',
        'Every face and recognition of id moves to into, whose counters add up; id is deleted. (faceserver\'s own, for automatic persons.)',
        body(['server_id', 'id', 'into'], { server_id: serverId, id: guid('The person that goes'), into: guid('The person that stays') }),
        success,
      ),
    },
    '/firserver/GetImage': {
      get: {
        ...imageOperation('GetImage'),
        parameters: [
          { name: 'server_id', in: 'query', required: true, schema: { type: 'string' } },
          { name: 'id', in: 'query', required: true, schema: { type: 'string', format: 'uuid' } },
        ],
      },
      post: imageOperation('GetImagePost'),
    },
    '/firserver/FaceErrorDescriptions': {
      get: operation('FaceErrorDescriptionsGet', 'The error codes and their texts', 'The product\'s codes and this server\'s own.', undefined, {
        description: 'Code -> text',
        content: json(ref('ErrorDescriptions')),
      }),
      post: operation('FaceErrorDescriptions', 'The error codes and their texts', 'The product\'s codes and this server\'s own.', undefined, {
        description: 'Code -> text',
        content: json(ref('ErrorDescriptions')),
      }),
    },
  },
  components: {
    securitySchemes: { basic: { type: 'http', scheme: 'basic' } },
    schemas: {
      Person: {
        type: 'object',
        properties: {
          Id: str('GUID, upper case'),
          Name: str('Name'),
          Surname: str('Surname'),
          Patronymic: str('Patronymic'),
          Department: str('Department'),
          Comment: str('Comment'),
          Timestamp: str('When the person was added: UTC, milliseconds, no zone (2017-05-12T12:45:49.279)'),
          ImageId: str('The reference face\'s GUID (GetImage)'),
          AutoCreated: { type: 'boolean', description: 'Added automatically from an unrecognized face' },
          LastRecognitionTimestamp: str('Last recognition, same format ("" when never)'),
          RecognitionCount: { type: 'integer', description: 'Recognitions so far' },
          Sim: str('FindFaces only: the similarity, as text'),
        },
      },
      Face: {
        type: 'object',
        properties: {
          quality: { type: 'number', description: 'The engine\'s quality measure, 0..1' },
          eyeLeftX: { type: 'number' },
          eyeLeftY: { type: 'number' },
          eyeRightX: { type: 'number' },
          eyeRightY: { type: 'number' },
          faceRectLeft: { type: 'integer' },
          faceRectTop: { type: 'integer' },
          faceRectWidth: { type: 'integer' },
          faceRectHeight: { type: 'integer' },
          ProcessedPersons: { type: 'integer', description: 'Templates on the server compared' },
          ProcessedPersonsDuration: { type: 'integer', description: 'Milliseconds the search took' },
          PersonList: { type: 'array', items: ref('Person') },
        },
      },
      FindFacesResult: { type: 'object', properties: { FaceList: { type: 'array', items: ref('Face') } } },
      PersonPage: {
        type: 'object',
        properties: {
          PersonList: { type: 'array', items: ref('Person') },
          Total: { type: 'integer' },
          Response: { type: 'object', properties: { Status: { type: 'string', enum: ['OK'] } } },
        },
      },
      Result: {
        type: 'object',
        properties: { Status: { type: 'string', enum: ['SUCCESS'] }, Result: str('The person\'s GUID (DeletePersons: the ids sent)'), Description: str('""') },
      },
      Error: {
        type: 'object',
        properties: {
          Status: { type: 'string', enum: Object.keys(ERROR_DESCRIPTIONS) },
          Result: str('""'),
          Description: str('What went wrong'),
          Response: { type: 'object', properties: { Status: { type: 'string' }, Description: { type: 'string' } } },
          FaceList: { type: 'array', items: ref('Face'), description: 'FindFaces only: empty' },
        },
      },
      ErrorDescriptions: { type: 'object', additionalProperties: { type: 'string' }, example: ERROR_DESCRIPTIONS },
    },
  },
};
