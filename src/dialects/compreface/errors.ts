// CompreFace's error body {"message", "code"} with its HTTP status, for every failure a CompreFace route can
// meet. Codes and statuses are CompreFace's own (java/common CommonExceptionCode); our extra cases reuse the
// nearest one.
import { isDomainError, type DomainErrorCode } from '../../domain/errors';
import { HttpError, type ErrorRenderer, type RenderedError } from '../../http/errors';
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

const DOMAIN: Record<DomainErrorCode, { status: number; code: number }> = {
  NO_FACE: { status: 400, code: CF.NO_FACES_FOUND },
  TOO_MANY_FACES: { status: 400, code: CF.TOO_MANY_FACES },
  PERSON_NOT_FOUND: { status: 404, code: CF.SUBJECT_NOT_FOUND },
  PERSON_EXISTS: { status: 400, code: CF.SUBJECT_ALREADY_EXISTS },
  FACE_NOT_FOUND: { status: 404, code: CF.EMBEDDING_NOT_FOUND },
  COLLECTION_NOT_FOUND: { status: 404, code: CF.MODEL_NOT_FOUND },
  COLLECTION_EXISTS: { status: 400, code: CF.VALIDATION_CONSTRAINT_VIOLATION },
  INVALID_ARGUMENT: { status: 400, code: CF.VALIDATION_CONSTRAINT_VIOLATION },
  MISSING_ARGUMENT: { status: 400, code: CF.EMPTY_REQUIRED_FIELD },
  MISSING_IMAGE: { status: 400, code: CF.MISSING_REQUEST_PART },
  INVALID_BASE64: { status: 400, code: CF.UNAVAILABLE_FILE_EXTENSION },
  IMAGE_TOO_LARGE: { status: 400, code: CF.UNDEFINED },
  UNSUPPORTED_FORMAT: { status: 400, code: CF.UNAVAILABLE_FILE_EXTENSION },
  CORRUPT_IMAGE: { status: 400, code: CF.UNDEFINED },
  IMAGE_URL_REFUSED: { status: 400, code: CF.INCORRECT_ARGUMENT },
  IMAGE_FETCH_FAILED: { status: 400, code: CF.UNDEFINED },
  EMBEDDING_SIZE: { status: 400, code: CF.INCORRECT_ARGUMENT },
  TEMPLATE_MISMATCH: { status: 400, code: CF.INCORRECT_ARGUMENT },
  BUSY: { status: 503, code: CF.FACES_SERVICE_EXCEPTION },
  UNAVAILABLE: { status: 503, code: CF.FACES_SERVICE_EXCEPTION },
  KEY_MISSING: { status: 400, code: CF.MISSING_REQUEST_HEADER },
  KEY_MALFORMED: { status: 400, code: CF.VALIDATION_CONSTRAINT_VIOLATION },
  KEY_INVALID: { status: 404, code: CF.MODEL_NOT_FOUND },
  FORBIDDEN: { status: 403, code: CF.UNDEFINED },
  INTERNAL: { status: 500, code: CF.UNDEFINED },
};

/** A CompreFace error raised by the dialect itself (parameter parsing): its code and status as CompreFace has them. */
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

export const renderCompreFaceError: ErrorRenderer = (err) => {
  if (err instanceof CompreFaceError) return body(err.status, err.code, err.message);
  if (isDomainError(err)) {
    const m = DOMAIN[err.code];
    const rendered = body(m.status, m.code, compreFaceMessage(err));
    if (err.code === 'BUSY' || err.code === 'UNAVAILABLE') rendered.headers = { 'Retry-After': '1' };
    if (err.code === 'MISSING_ARGUMENT' && err.details.in === 'query') rendered.body = { message: err.message, code: CF.MISSING_REQUEST_PARAMETER };
    return rendered;
  }
  if (err instanceof HttpError) {
    switch (err.code) {
      case 'BODY_TOO_LARGE':
        return body(400, CF.UNDEFINED, `Max upload size exceeded: ${err.message}`);
      case 'NOT_FOUND':
        return body(404, CF.UNDEFINED, err.message);
      case 'UNSUPPORTED_MEDIA_TYPE':
        return body(415, CF.UNDEFINED, err.message);
      case 'METHOD_NOT_ALLOWED':
        return body(405, CF.UNDEFINED, err.message);
      default:
        return body(err.status >= 500 ? 500 : 400, CF.UNDEFINED, err.message);
    }
  }
  const status = (err as { status?: number }).status;
  if (status === 405 || status === 501) return body(405, CF.UNDEFINED, 'Request method not supported');
  return body(500, CF.UNDEFINED, 'Something went wrong, please try again');
};
