// The errors the domain services raise. Each dialect maps every code to its own product's status, body and
// wording (its error table is typed over every code, so a new code fails to compile until all dialects map it);
// the domain's messages are plain English for logs and for dialects without wording of their own. `details`
// names what the error is about (the parameter, the id, the limit) so dialects can build their own messages.

export const DOMAIN_ERROR_CODES = [
  'NO_FACE', // no face in an image that needs one
  'TOO_MANY_FACES', // an image that must show one face shows several
  'PERSON_NOT_FOUND', // details.person: the name or id asked for
  'PERSON_EXISTS', // a person of this name already exists where names are unique
  'FACE_NOT_FOUND', // no enrolled face with this id that the caller may see; details.face
  'COLLECTION_NOT_FOUND', // details.collection
  'COLLECTION_EXISTS',
  'INVALID_ARGUMENT', // a parameter has a bad value; details.param, details.expected, details.value
  'MISSING_ARGUMENT', // a required parameter is absent; details.param
  'MISSING_IMAGE', // the request carries no image where one is required; details.param
  'INVALID_BASE64',
  'IMAGE_TOO_LARGE', // details.limit
  'UNSUPPORTED_FORMAT',
  'CORRUPT_IMAGE',
  'IMAGE_URL_REFUSED', // an image URL that policy forbids (private address, bad scheme, redirect)
  'IMAGE_FETCH_FAILED',
  'EMBEDDING_SIZE', // an embedding of the wrong dimension
  'TEMPLATE_MISMATCH', // a template of another model or format
  'BUSY', // the inference queue is full: retry later
  'UNAVAILABLE', // the database cannot be reached: retry later
  'KEY_MISSING',
  'KEY_MALFORMED',
  'KEY_INVALID', // unknown, revoked, or of a kind this route does not take
  'FORBIDDEN', // a valid key without the scope or collection this request needs
  'AUTH_THROTTLED', // too many failed key attempts from this client address: retry later; details.retryAfterSeconds
  'INTERNAL',
] as const;

export type DomainErrorCode = (typeof DOMAIN_ERROR_CODES)[number];

export class DomainError extends Error {
  override name = 'DomainError';
  constructor(
    readonly code: DomainErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export function isDomainError(err: unknown, code?: DomainErrorCode): err is DomainError {
  return err instanceof DomainError && (code === undefined || err.code === code);
}
