// A person as Face Intellect shows it (PersonList entries of FindFaces and ReadPersons): upper-case GUIDs,
// timestamps in UTC with milliseconds and no zone, the recognition counters the store keeps, and `Sim` as text.
import type { Person } from '../../domain/persons';

/** What this dialect keeps in a person's attributes (beside the platform's own `autoCreated`). */
export interface FaceIntellectAttributes {
  /** Created without a name: the stored name is the surname, shown as "". */
  nameless?: boolean;
  /** UpdatePerson's / CreatePerson's additionalParams, kept as sent. */
  additionalParams?: Record<string, unknown>;
}

export const ATTRIBUTES_KEY = 'faceintellect';

export function fiAttributes(p: Person): FaceIntellectAttributes {
  const a = p.attributes[ATTRIBUTES_KEY];
  return a && typeof a === 'object' ? (a as FaceIntellectAttributes) : {};
}

/** "2017-05-12T12:45:49.279": UTC, milliseconds, no zone. */
export function timestamp(d: Date | null): string {
  return d ? d.toISOString().slice(0, 23) : '';
}

export const guid = (uuid: string) => uuid.toUpperCase();

export interface PersonJson {
  Id: string;
  Name: string;
  Surname: string;
  Patronymic: string;
  Department: string;
  Comment: string;
  Timestamp: string;
  ImageId: string;
  AutoCreated: boolean;
  LastRecognitionTimestamp: string;
  RecognitionCount: number;
  Sim?: string;
}

export function isAutoCreated(p: Person): boolean {
  return p.attributes.autoCreated === true;
}

/**
 * The person's entry. `imageUuid`: the reference face shown (the matched face, or the person's first face on
 * the server). `recognized`: a recognition this request records (written behind the response), counted already.
 */
export function personJson(p: Person, imageUuid: string | null, o: { sim?: number; recognizedAt?: Date } = {}): PersonJson {
  const count = Number(p.recognitionCount) + (o.recognizedAt ? 1 : 0);
  const last = o.recognizedAt ?? p.lastRecognizedAt;
  return {
    Id: guid(p.uuid),
    Name: fiAttributes(p).nameless ? '' : p.name,
    Surname: p.surname ?? '',
    Patronymic: p.patronymic ?? '',
    Department: p.department ?? '',
    Comment: p.comment ?? '',
    Timestamp: timestamp(p.createdAt),
    ImageId: imageUuid ? guid(imageUuid) : '',
    AutoCreated: isAutoCreated(p),
    LastRecognitionTimestamp: timestamp(last),
    RecognitionCount: count,
    ...(o.sim !== undefined ? { Sim: String(o.sim) } : {}),
  };
}
