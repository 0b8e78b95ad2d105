// CompreFace's error body {"message", "code"} with its HTTP status, for every failure a CompreFace route can
// meet. Codes and statuses are CompreFace's own (java/common CommonExceptionCode); our extra cases reuse the
// nearest one.
import { isDomainError } from '../../domain/errors';
import { tableRenderer, type ErrorEntry, type ErrorInfo, type ErrorTable, type RenderedError } from '../../http/errors';
import { compreFaceMessage } from './messages';

export const CF = {
  UNDEFINED: 0,
  EMPTY_REQUIRED_FIELD: 5,
  MODEL_NOT_FOUND: 10,
  INCORRECT_PREDICTION_COUNT: 12,
  MISSING_REQUEST_HEADER: 20,
  UNAVAILABLE_FILE_EXTENSION: 21,
  VALIDATION_CONSTRAINT_VIOLATION: 26,
  NO_FACES_FOUND: 28,
  TOO_MANY_FACES: 31,
  MISSING_REQUEST_PARAMETER: 33,
  MISSING_REQUEST_PART: 34,
  INCORRECT_ARGUMENT: 36,
  FACES_SERVICE_EXCEPTION: 41,
  SUBJECT_NOT_FOUND: 42,
  SUBJECT_ALREADY_EXISTS: 43,
  EMBEDDING_NOT_FOUND: 44,
} as const;

/** A CompreFace error raised by the dialect itself in CompreFace's own terms: its code and status. */
export class CompreFaceError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

const body = (status: number, code: number, message: string): RenderedError => ({ status, body: { message, code } });

/** CompreFace's wording of a domain error (src/dialects/compreface/messages.ts), else the error's own message. */
const messageOf = (e: ErrorInfo) => (isDomainError(e.cause) ? compreFaceMessage(e.cause) : e.message);

/** The error's message with this status and code. */
const as =
  (status: number, code: number): ErrorEntry =>
  (e) =>
    body(status, code, messageOf(e));

/**
 * A missing parameter: a query parameter or form field (Spring's @RequestParam: the request readers looked in
 * the query string) is MISSING_REQUEST_PARAMETER; a field of a JSON body is EMPTY_REQUIRED_FIELD.
 */
function missingArgument(e: ErrorInfo): RenderedError {
  const sources = e.details.sources;
  const requestParam = Array.isArray(sources) && sources.includes('query');
  return body(400, requestParam ? CF.MISSING_REQUEST_PARAMETER : CF.EMPTY_REQUIRED_FIELD, messageOf(e));
}

export const COMPREFACE_ERRORS: ErrorTable = {
  NO_FACE: as(400, CF.NO_FACES_FOUND),
  TOO_MANY_FACES: as(400, CF.TOO_MANY_FACES),
  PERSON_NOT_FOUND: as(404, CF.SUBJECT_NOT_FOUND),
  PERSON_EXISTS: as(400, CF.SUBJECT_ALREADY_EXISTS),
  FACE_NOT_FOUND: as(404, CF.EMBEDDING_NOT_FOUND),
  COLLECTION_NOT_FOUND: as(404, CF.MODEL_NOT_FOUND),
  COLLECTION_EXISTS: as(400, CF.VALIDATION_CONSTRAINT_VIOLATION),
  INVALID_ARGUMENT: as(400, CF.VALIDATION_CONSTRAINT_VIOLATION),
  MISSING_ARGUMENT: missingArgument,
  MISSING_IMAGE: as(400, CF.MISSING_REQUEST_PART),
  INVALID_BASE64: as(400, CF.UNAVAILABLE_FILE_EXTENSION),
  IMAGE_TOO_LARGE: as(400, CF.UNDEFINED),
  UNSUPPORTED_FORMAT: as(400, CF.UNAVAILABLE_FILE_EXTENSION),
  CORRUPT_IMAGE: as(400, CF.UNDEFINED),
  IMAGE_URL_REFUSED: as(400, CF.INCORRECT_ARGUMENT),
  IMAGE_FETCH_FAILED: as(400, CF.UNDEFINED),
  EMBEDDING_SIZE: as(400, CF.INCORRECT_ARGUMENT),
  TEMPLATE_MISMATCH: as(400, CF.INCORRECT_ARGUMENT),
  BUSY: as(503, CF.FACES_SERVICE_EXCEPTION),
  UNAVAILABLE: as(503, CF.FACES_SERVICE_EXCEPTION),
  KEY_MISSING: as(400, CF.MISSING_REQUEST_HEADER),
  KEY_MALFORMED: as(400, CF.VALIDATION_CONSTRAINT_VIOLATION),
  KEY_INVALID: as(404, CF.MODEL_NOT_FOUND),
  FORBIDDEN: as(403, CF.UNDEFINED),
  // CompreFace has no throttle of its own: HTTP's 429 (and Retry-After) with its generic code.
  AUTH_THROTTLED: as(429, CF.UNDEFINED),
  // A domain failure says what failed; anything unexpected gets CompreFace's generic text (its own may hold internals).
  INTERNAL: (e) => body(500, CF.UNDEFINED, isDomainError(e.cause, 'INTERNAL') ? e.message : 'Something went wrong, please try again'),
  BODY_TOO_LARGE: (e) => body(400, CF.UNDEFINED, `Max upload size exceeded: ${e.message}`),
  MALFORMED_BODY: as(400, CF.UNDEFINED),
  MALFORMED_JSON: as(400, CF.UNDEFINED),
  UNSUPPORTED_MEDIA_TYPE: as(415, CF.UNDEFINED),
  NOT_FOUND: as(404, CF.UNDEFINED),
  METHOD_NOT_ALLOWED: () => body(405, CF.UNDEFINED, 'Request method not supported'),
};

export const renderCompreFaceError = tableRenderer(COMPREFACE_ERRORS, {
  own: (err) => (err instanceof CompreFaceError ? body(err.status, err.code, err.message) : undefined),
});
