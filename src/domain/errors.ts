// The errors the domain services raise. Dialects map each code to their own product's status and body; the
// domain never knows those formats.

export type DomainErrorCode =
  | 'NO_FACE' // no face in an image that needs one
  | 'TOO_MANY_FACES' // an image that must show exactly one face shows more
  | 'SUBJECT_NOT_FOUND'
  | 'SUBJECT_EXISTS'
  | 'FACE_NOT_FOUND' // no enrolled face (example) with this id in the caller's collection
  | 'INVALID_ARGUMENT' // a parameter has a bad value
  | 'MISSING_ARGUMENT' // a required parameter is absent
  | 'MISSING_IMAGE' // the request carries no image where one is required
  | 'INVALID_BASE64'
  | 'IMAGE_TOO_LARGE'
  | 'UNSUPPORTED_FORMAT'
  | 'CORRUPT_IMAGE'
  | 'IMAGE_URL_REFUSED' // an image URL that policy forbids (private address, bad scheme)
  | 'IMAGE_FETCH_FAILED'
  | 'EMBEDDING_SIZE' // an embedding of the wrong dimension
  | 'BUSY' // the inference queue is full
  | 'KEY_MISSING'
  | 'KEY_MALFORMED'
  | 'KEY_INVALID' // unknown, revoked, or of another service
  | 'INTERNAL';

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
