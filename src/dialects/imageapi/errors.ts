// The Image API fails the way its FastAPI services do: a processing failure is {"detail": "<message>"} with the
// document's texts ("Failed to decode base64 string", "More than one face detected", "Low image quality. ..."),
// and a request that does not validate is 422 {"detail": [{"loc": [...], "msg": "...", "type": "..."}]}, the
// form 3DiVi's own demo client reads (detail[0].msg).
import { isDomainError } from '../../domain/errors';
import { tableRenderer, type ErrorEntry, type ErrorInfo, type ErrorTable, type RenderedError } from '../../http/errors';

/** The document's text for an image or template that cannot be decoded. */
export const DECODE_FAILED = 'Failed to decode base64 string';
export const MORE_THAN_ONE_FACE = 'More than one face detected';

export const lowQuality = (score: number, threshold: number) => `Low image quality. Calculated score value (${score}) is less than the threshold (${threshold})`;

/** A processing failure in the Image API's own words. */
export class ImageApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface ValidationItem {
  loc: (string | number)[];
  msg: string;
  type: string;
}

/** A request that does not validate (FastAPI's RequestValidationError): 422 with the list. */
export class ValidationError extends Error {
  constructor(readonly items: ValidationItem[]) {
    super(items.map((i) => `${i.loc.join('.')}: ${i.msg}`).join('; '));
  }
}

export const invalid = (loc: (string | number)[], msg: string, type = 'value_error') => new ValidationError([{ loc, msg, type }]);

const detail = (status: number, message: string, headers?: Record<string, string>): RenderedError => ({
  status,
  body: { detail: message },
  ...(headers ? { headers } : {}),
});

const as =
  (status: number, message?: string): ErrorEntry =>
  (e) =>
    detail(status, message ?? e.message);

/** A domain parameter error as one validation item, located at the parameter it names. */
function validation(type: string): ErrorEntry {
  return (e: ErrorInfo) => {
    const param = typeof e.details.param === 'string' ? e.details.param : undefined;
    return { status: 422, body: { detail: [{ loc: param ? ['body', ...param.split('.')] : ['body'], msg: e.message, type }] } };
  };
}

const unauthorized = (e: ErrorInfo) => detail(401, e.code === 'KEY_MISSING' ? 'Not authenticated' : `Invalid authentication credentials: ${e.message}`, { 'WWW-Authenticate': 'Bearer' });

export const IMAGE_API_ERRORS: ErrorTable = {
  NO_FACE: as(400),
  TOO_MANY_FACES: as(400, MORE_THAN_ONE_FACE),
  PERSON_NOT_FOUND: as(404),
  PERSON_EXISTS: as(409),
  FACE_NOT_FOUND: as(404),
  COLLECTION_NOT_FOUND: as(404),
  COLLECTION_EXISTS: as(409),
  INVALID_ARGUMENT: validation('value_error'),
  MISSING_ARGUMENT: validation('value_error.missing'),
  MISSING_IMAGE: validation('value_error.missing'),
  INVALID_BASE64: as(400, DECODE_FAILED),
  IMAGE_TOO_LARGE: as(413),
  UNSUPPORTED_FORMAT: as(400, DECODE_FAILED),
  CORRUPT_IMAGE: as(400, DECODE_FAILED),
  IMAGE_URL_REFUSED: as(400),
  IMAGE_FETCH_FAILED: as(400),
  EMBEDDING_SIZE: validation('value_error'),
  TEMPLATE_MISMATCH: as(400),
  BUSY: as(503),
  UNAVAILABLE: as(503),
  KEY_MISSING: unauthorized,
  KEY_MALFORMED: unauthorized,
  KEY_INVALID: unauthorized,
  FORBIDDEN: as(403),
  AUTH_THROTTLED: as(429),
  INTERNAL: (e) => detail(500, isDomainError(e.cause, 'INTERNAL') ? e.message : 'Internal Server Error'),
  BODY_TOO_LARGE: as(413),
  MALFORMED_BODY: (e) => ({ status: 422, body: { detail: [{ loc: ['body'], msg: e.message, type: 'value_error' }] } }),
  MALFORMED_JSON: (e) => ({ status: 422, body: { detail: [{ loc: ['body', 0], msg: e.message, type: 'value_error.jsondecode' }] } }),
  UNSUPPORTED_MEDIA_TYPE: as(415),
  NOT_FOUND: as(404, 'Not Found'),
  METHOD_NOT_ALLOWED: as(405, 'Method Not Allowed'),
};

function own(err: unknown): RenderedError | undefined {
  if (err instanceof ImageApiError) return detail(err.status, err.message);
  if (err instanceof ValidationError) return { status: 422, body: { detail: err.items } };
  return undefined;
}

export const renderImageApiError = tableRenderer(IMAGE_API_ERRORS, { own });
