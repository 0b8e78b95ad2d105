// The scan API fails the way the Spring Boot services it comes from do: the HTTP status with Spring's error body
// {"timestamp", "status", "error", "message"}; 401 and 403 carry RFC 6750's WWW-Authenticate: Bearer challenge
// (as Spring Security's resource server sends it). The token endpoint answers RFC 6749's {"error",
// "error_description"} instead (OAuthError).
import http from 'node:http';
import { isDomainError } from '../../domain/errors';
import { tableRenderer, type ErrorEntry, type ErrorInfo, type ErrorTable, type RenderedError } from '../../http/errors';

/** An error of the scan API in its own terms (e.g. an unknown scan: 404). */
export class ScanApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * RFC 6749 section 5.2: a token request refused. A client address blocked for its failed attempts gets 429 with
 * `temporarily_unavailable` (the registry's code for "retry later"; RFC 6749 names it for the authorization
 * endpoint, the token endpoint has none) and Retry-After.
 */
export class OAuthError extends Error {
  constructor(
    readonly status: 400 | 401 | 429,
    readonly error:
      | 'invalid_request'
      | 'invalid_client'
      | 'invalid_grant'
      | 'unsupported_grant_type'
      | 'invalid_scope'
      | 'unauthorized_client'
      | 'temporarily_unavailable',
    readonly description: string,
    /** The client authenticated with HTTP Basic: a 401 must then challenge it (RFC 6749 section 5.2). */
    readonly basic = false,
    /** Seconds before a retry may succeed (429). */
    readonly retryAfterSeconds?: number,
  ) {
    super(description);
  }
}

export function springBody(status: number, message: string): Record<string, unknown> {
  return { timestamp: new Date().toISOString(), status, error: http.STATUS_CODES[status] ?? 'Error', message };
}

const spring = (status: number, message: string, headers?: Record<string, string>): RenderedError => ({
  status,
  body: springBody(status, message),
  ...(headers ? { headers } : {}),
});

const as =
  (status: number): ErrorEntry =>
  (e) =>
    spring(status, e.message);

/** A quoted-string of an auth-param: no quotes or backslashes inside. */
const quoted = (text: string) => `"${text.replace(/["\\]/g, "'")}"`;

/** 401 with the Bearer challenge; `invalid_token` unless the request carried no token at all (RFC 6750 section 3.1). */
function unauthorized(e: ErrorInfo): RenderedError {
  const challenge = e.code === 'KEY_MISSING' ? 'Bearer' : `Bearer error="invalid_token", error_description=${quoted(e.message)}`;
  return spring(401, e.message, { 'WWW-Authenticate': challenge });
}

function forbidden(e: ErrorInfo): RenderedError {
  return spring(403, e.message, { 'WWW-Authenticate': `Bearer error="insufficient_scope", error_description=${quoted(e.message)}` });
}

export const SCANS_ERRORS: ErrorTable = {
  NO_FACE: as(400),
  TOO_MANY_FACES: as(400),
  PERSON_NOT_FOUND: as(404),
  PERSON_EXISTS: as(409),
  FACE_NOT_FOUND: as(404),
  COLLECTION_NOT_FOUND: as(404),
  COLLECTION_EXISTS: as(409),
  INVALID_ARGUMENT: as(400),
  MISSING_ARGUMENT: as(400),
  MISSING_IMAGE: as(400),
  INVALID_BASE64: as(400),
  IMAGE_TOO_LARGE: as(413),
  UNSUPPORTED_FORMAT: as(400),
  CORRUPT_IMAGE: as(400),
  IMAGE_URL_REFUSED: as(400),
  IMAGE_FETCH_FAILED: as(400),
  EMBEDDING_SIZE: as(400),
  TEMPLATE_MISMATCH: as(400),
  BUSY: as(503),
  UNAVAILABLE: as(503),
  KEY_MISSING: unauthorized,
  KEY_MALFORMED: unauthorized,
  KEY_INVALID: unauthorized,
  FORBIDDEN: forbidden,
  AUTH_THROTTLED: as(429),
  // A domain failure says what failed; anything unexpected gets Spring's generic text (its own may hold internals).
  INTERNAL: (e) => spring(500, isDomainError(e.cause, 'INTERNAL') ? e.message : 'Internal Server Error'),
  BODY_TOO_LARGE: (e) => spring(413, `Maximum upload size exceeded: ${e.message}`),
  MALFORMED_BODY: as(400),
  MALFORMED_JSON: (e) => spring(400, `JSON parse error: ${e.message}`),
  UNSUPPORTED_MEDIA_TYPE: (e) => spring(415, `Content-Type is not supported: ${e.message}`),
  NOT_FOUND: (e) => spring(404, e.message),
  METHOD_NOT_ALLOWED: () => spring(405, 'Request method not supported'),
};

function own(err: unknown): RenderedError | undefined {
  if (err instanceof ScanApiError) return spring(err.status, err.message);
  if (err instanceof OAuthError) {
    return {
      status: err.status,
      body: { error: err.error, error_description: err.description },
      headers: {
        'Cache-Control': 'no-store',
        ...(err.status === 401 && err.basic ? { 'WWW-Authenticate': 'Basic realm="faceserver", charset="UTF-8"' } : {}),
        ...(err.retryAfterSeconds !== undefined ? { 'Retry-After': String(err.retryAfterSeconds) } : {}),
      },
    };
  }
  return undefined;
}

export const renderScansError = tableRenderer(SCANS_ERRORS, { own });
