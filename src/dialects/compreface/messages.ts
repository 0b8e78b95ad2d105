// CompreFace's wording for the domain's errors, as its own services word them (clients show these texts; some,
// like Double Take, also match on the code). Errors without a CompreFace wording keep the domain's message.
import type { DomainError, DomainErrorCode } from '../../domain/errors';

const WORDING: Partial<Record<DomainErrorCode, (d: Record<string, unknown>) => string>> = {
  NO_FACE: () => 'No face is found in the given image',
  TOO_MANY_FACES: () => 'More than one face in the given image',
  PERSON_NOT_FOUND: (d) => `Subject ${String(d.person)} not found`,
  PERSON_EXISTS: () => 'Subject already exists',
  FACE_NOT_FOUND: (d) => `Image ${String(d.face)} not found`,
  INVALID_BASE64: () => 'Provided value is not Base64',
};

export function compreFaceMessage(err: DomainError): string {
  return WORDING[err.code]?.(err.details) ?? err.message;
}
