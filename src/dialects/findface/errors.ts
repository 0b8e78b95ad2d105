// FindFace fails with a non-200 status and {"code": "CAPS_CODE", "reason": "..."} (docs/rest_about.rst):
// AUTH_FAILED (401), BAD_PARAM (adds "param" and "value"), MALFORMED_JSON, SERVICE_UNAVAILABLE. A photo with
// more faces than mf_selector=reject allows adds "faces" (their boxes). Unknown ids are NOT_FOUND (404).
import { tableRenderer, type ErrorEntry, type ErrorInfo, type ErrorTable, type RenderedError } from '../../http/errors';
import { isDomainError } from '../../domain/errors';

/** An error in FindFace's own terms. */
export class FindFaceError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly reason: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(reason);
  }
}

export const badParam = (param: string, value: unknown, reason: string) => new FindFaceError(400, 'BAD_PARAM', reason, { param, value: shown(value) });

/** A value fit to echo back: long or binary values are not repeated. */
function shown(value: unknown): unknown {
  if (value === undefined) return null;
  if (typeof value === 'string') return value.length > 512 ? `${value.slice(0, 64)}...` : value;
  if (Buffer.isBuffer(value)) return null;
  try {
    return JSON.stringify(value).length > 512 ? null : value;
  } catch {
    return null;
  }
}

const body = (status: number, code: string, reason: string, extra: Record<string, unknown> = {}): RenderedError => ({
  status,
  body: { code, reason, ...extra },
});

/** BAD_PARAM naming the parameter of the domain error (details.param), with the value it received. */
const bad: ErrorEntry = (e: ErrorInfo) => body(400, 'BAD_PARAM', e.message, { param: String(e.details.param ?? 'photo'), value: shown(e.details.value) });
const as =
  (status: number, code: string): ErrorEntry =>
  (e) =>
    body(status, code, e.message);

export const FINDFACE_ERRORS: ErrorTable = {
  NO_FACE: bad,
  TOO_MANY_FACES: (e) => body(400, 'BAD_PARAM', e.message, { param: String(e.details.param ?? 'photo'), value: shown(e.details.value), faces: e.details.boxes ?? [] }),
  PERSON_NOT_FOUND: as(404, 'NOT_FOUND'),
  PERSON_EXISTS: as(409, 'ALREADY_EXISTS'),
  FACE_NOT_FOUND: as(404, 'NOT_FOUND'),
  COLLECTION_NOT_FOUND: as(404, 'NOT_FOUND'),
  COLLECTION_EXISTS: as(409, 'ALREADY_EXISTS'),
  INVALID_ARGUMENT: bad,
  MISSING_ARGUMENT: bad,
  MISSING_IMAGE: bad,
  INVALID_BASE64: bad,
  IMAGE_TOO_LARGE: (e) => ({ ...bad(e), status: 413 }),
  UNSUPPORTED_FORMAT: bad,
  CORRUPT_IMAGE: bad,
  IMAGE_URL_REFUSED: bad,
  IMAGE_FETCH_FAILED: bad,
  EMBEDDING_SIZE: bad,
  TEMPLATE_MISMATCH: bad,
  BUSY: as(503, 'SERVICE_UNAVAILABLE'),
  UNAVAILABLE: as(503, 'SERVICE_UNAVAILABLE'),
  KEY_MISSING: (e) => body(401, 'AUTH_FAILED', `Authentication failed: ${e.message} (send Authorization: Token <token>)`),
  KEY_MALFORMED: (e) => body(401, 'AUTH_FAILED', `Authentication failed: ${e.message}`),
  KEY_INVALID: () => body(401, 'AUTH_FAILED', 'Authentication failed: invalid token'),
  FORBIDDEN: as(403, 'PERMISSION_DENIED'),
  // Not one of FindFace's documented codes (it has no throttle); not AUTH_FAILED either, which says the token is wrong.
  AUTH_THROTTLED: as(429, 'TOO_MANY_REQUESTS'),
  INTERNAL: (e) => body(500, 'INTERNAL_ERROR', isDomainError(e.cause, 'INTERNAL') ? e.message : 'Internal server error'),
  // A file over the limit names its field (src/http/multipart.ts): that is the parameter.
  BODY_TOO_LARGE: (e) => body(413, 'BAD_PARAM', e.message, { param: /^file "([^"]+)"/.exec(e.message)?.[1] ?? 'body', value: null }),
  MALFORMED_BODY: (e) => body(400, 'BAD_PARAM', e.message, { param: 'body', value: null }),
  MALFORMED_JSON: (e) => body(400, 'MALFORMED_JSON', e.message),
  UNSUPPORTED_MEDIA_TYPE: (e) => body(415, 'BAD_PARAM', e.message, { param: 'Content-Type', value: null }),
  NOT_FOUND: (e) => body(404, 'NOT_FOUND', e.message),
  METHOD_NOT_ALLOWED: () => body(405, 'METHOD_NOT_ALLOWED', 'Method not allowed'),
};

function own(err: unknown): RenderedError | undefined {
  if (err instanceof FindFaceError) return body(err.status, err.code, err.reason, err.extra);
  return undefined;
}

export const renderFindFaceError = tableRenderer(FINDFACE_ERRORS, { own });
