// Face Intellect fails the way its Face Recognition Server reports errors: a status code word in `Status` (the
// write requests' envelope: Status, Result, Description) and in `Response.Status` (ReadPersons' envelope), with
// the text in `Description`. Every error body carries both envelopes, so a client reading either finds the code.
// The codes are the product's own (FaceErrorDescriptions) where one applies, chosen by what the request was doing:
// a bad CreatePerson is FAILED_TO_ADD_PERSON, a bad UpdatePerson FAILED_TO_UPDATE_PERSON, and so on; a photo
// without a face is FACE_NOT_FOUND and one with several FAILED_TO_ADD_PERSON_MANY_FACES whatever the request.
// Where the product has no code (a wrong key, an unknown server, a malformed FindFaces), this server adds its own,
// listed by FaceErrorDescriptions too. The HTTP status says the class of failure (400, 401, 404, 413, 503, ...).
import { isDomainError } from '../../domain/errors';
import { ERROR_CODES, errorInfo, HTTP_STATUS, retryAfterOf, tableRenderer, type ErrorCode, type ErrorInfo, type ErrorTable, type RenderedError } from '../../http/errors';

/** The product's error codes and texts (POST /firserver/FaceErrorDescriptions). */
export const PRODUCT_ERRORS = {
  FAILED_TO_ADD_PERSON: 'Failed to add person. Check request parameters or database',
  FACE_NOT_FOUND: 'Face not found on supplied image',
  MAXIMUM_FIRS: 'Maximum FIR in database',
  SERVER_NOT_READY: 'Server is initializing, please wait',
  FAILED_TO_DELETE_PERSON: 'Failed to delete person. Check request parameters or database',
  FAILED_TO_ADD_PERSON_MANY_FACES: 'The image shown has more than one face',
  FAILED_TO_SAVE_DATABASE: 'Failed to save person. Check request parameters or database',
  FAILED_TO_UPDATE_PERSON: 'Failed to update person. Check request parameters or database',
} as const;

/** This server's codes where the product has none. */
export const OWN_ERRORS = {
  INVALID_REQUEST: 'The request is malformed or a parameter is missing or invalid',
  UNAUTHORIZED: 'No credentials, or a wrong user name or password',
  FORBIDDEN: 'These credentials may not do this',
  SERVER_NOT_FOUND: 'No such Face Recognition Server for these credentials',
  PERSON_NOT_FOUND: 'No such person on this server',
  IMAGE_NOT_FOUND: 'No such image on this server',
  ALREADY_EXISTS: 'A person with this id already exists',
  REQUEST_TOO_LARGE: 'The request or its image is too large',
  NOT_FOUND: 'No such endpoint',
  METHOD_NOT_ALLOWED: 'This endpoint does not take this HTTP method',
  TOO_MANY_ATTEMPTS: 'Too many failed authentication attempts from this address; retry later',
  INTERNAL_ERROR: 'Internal server error',
} as const;

export const ERROR_DESCRIPTIONS: Record<string, string> = { ...PRODUCT_ERRORS, ...OWN_ERRORS };
export type StatusCode = keyof typeof PRODUCT_ERRORS | keyof typeof OWN_ERRORS;

/** What a request was doing when it failed (its errors take that operation's product code). */
export type Operation = 'find' | 'read' | 'add' | 'update' | 'delete' | 'image';

const FAILED: Partial<Record<Operation, StatusCode>> = { add: 'FAILED_TO_ADD_PERSON', update: 'FAILED_TO_UPDATE_PERSON', delete: 'FAILED_TO_DELETE_PERSON' };
const INTERNAL: Partial<Record<Operation, StatusCode>> = { add: 'FAILED_TO_SAVE_DATABASE', update: 'FAILED_TO_UPDATE_PERSON', delete: 'FAILED_TO_DELETE_PERSON' };

/** A failure inside a route, with the operation it interrupted. */
export class FaceIntellectError extends Error {
  constructor(
    readonly operation: Operation,
    override readonly cause: unknown,
  ) {
    super('Face Intellect request failed');
  }
}

export function errorBody(status: StatusCode, description: string, operation?: Operation): Record<string, unknown> {
  return {
    Status: status,
    Result: '',
    Description: description,
    Response: { Status: status, Description: description },
    ...(operation === 'find' ? { FaceList: [] } : {}),
  };
}

/** The status code of each platform error outside any operation (and inside reads and searches). */
const GENERIC: Record<ErrorCode, StatusCode> = {
  NO_FACE: 'FACE_NOT_FOUND',
  TOO_MANY_FACES: 'FAILED_TO_ADD_PERSON_MANY_FACES',
  PERSON_NOT_FOUND: 'PERSON_NOT_FOUND',
  PERSON_EXISTS: 'ALREADY_EXISTS',
  FACE_NOT_FOUND: 'IMAGE_NOT_FOUND',
  COLLECTION_NOT_FOUND: 'SERVER_NOT_FOUND',
  COLLECTION_EXISTS: 'ALREADY_EXISTS',
  INVALID_ARGUMENT: 'INVALID_REQUEST',
  MISSING_ARGUMENT: 'INVALID_REQUEST',
  MISSING_IMAGE: 'INVALID_REQUEST',
  INVALID_BASE64: 'INVALID_REQUEST',
  IMAGE_TOO_LARGE: 'REQUEST_TOO_LARGE',
  UNSUPPORTED_FORMAT: 'INVALID_REQUEST',
  CORRUPT_IMAGE: 'INVALID_REQUEST',
  IMAGE_URL_REFUSED: 'INVALID_REQUEST',
  IMAGE_FETCH_FAILED: 'INVALID_REQUEST',
  EMBEDDING_SIZE: 'INVALID_REQUEST',
  TEMPLATE_MISMATCH: 'INVALID_REQUEST',
  BUSY: 'SERVER_NOT_READY',
  UNAVAILABLE: 'SERVER_NOT_READY',
  KEY_MISSING: 'UNAUTHORIZED',
  KEY_MALFORMED: 'UNAUTHORIZED',
  KEY_INVALID: 'UNAUTHORIZED',
  FORBIDDEN: 'FORBIDDEN',
  AUTH_THROTTLED: 'TOO_MANY_ATTEMPTS',
  INTERNAL: 'INTERNAL_ERROR',
  BODY_TOO_LARGE: 'REQUEST_TOO_LARGE',
  MALFORMED_BODY: 'INVALID_REQUEST',
  MALFORMED_JSON: 'INVALID_REQUEST',
  UNSUPPORTED_MEDIA_TYPE: 'INVALID_REQUEST',
  NOT_FOUND: 'NOT_FOUND',
  METHOD_NOT_ALLOWED: 'METHOD_NOT_ALLOWED',
};

/** Codes that keep their own status code whatever the operation (they say more than "failed to add"). */
const KEPT = new Set<ErrorCode>(['NO_FACE', 'TOO_MANY_FACES', 'BUSY', 'UNAVAILABLE', 'KEY_MISSING', 'KEY_MALFORMED', 'KEY_INVALID', 'FORBIDDEN', 'AUTH_THROTTLED']);

const CHALLENGE = { 'WWW-Authenticate': 'Basic realm="faceserver", charset="UTF-8"' };

/** The rendering of an error in an operation (or outside any). */
export function renderIn(e: ErrorInfo, operation?: Operation): RenderedError {
  // An image in a format that cannot be read is a bad request like any other bad image.
  const status = e.code === 'UNSUPPORTED_FORMAT' ? 400 : HTTP_STATUS[e.code];
  let code = GENERIC[e.code];
  if (operation && !KEPT.has(e.code)) code = (e.code === 'INTERNAL' ? INTERNAL[operation] : FAILED[operation]) ?? code;
  // An unexpected failure gets a fixed text (its own may hold internals).
  const description = e.code === 'INTERNAL' && !isDomainError(e.cause, 'INTERNAL') ? ERROR_DESCRIPTIONS[code] : e.message;
  return {
    status,
    body: errorBody(code, description, operation),
    ...(status === 401 ? { headers: { ...CHALLENGE } } : {}),
  };
}

const TABLE = Object.fromEntries(ERROR_CODES.map((code) => [code, (e: ErrorInfo) => renderIn(e)])) as ErrorTable;

function own(err: unknown): RenderedError | undefined {
  if (!(err instanceof FaceIntellectError)) return undefined;
  // (The table's rows get Retry-After from tableRenderer; errors inside an operation get it here.)
  const info = errorInfo(err.cause);
  const rendered = renderIn(info, err.operation);
  const retryAfter = retryAfterOf(info);
  if (retryAfter !== undefined) rendered.headers = { 'Retry-After': String(retryAfter), ...rendered.headers };
  return rendered;
}

export const renderFaceIntellectError = tableRenderer(TABLE, { own });
