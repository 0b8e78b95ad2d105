// FindFace's face object (docs/rest_about.rst, docs/test_requests.rst): id, meta, galleries, photo, photo_hash,
// thumbnail, normalized, timestamp, integer box corners, person_id (always an integer) and friend; under /v1
// also age, gender and emotions when they were estimated at creation.
import type { Face } from '../../domain/faces';
import type { FaceAttributes } from '../../domain/types';
import { regularPersons } from '../../store/camera-history';
import { bboxJson, timestamp, type FindFace, type Version } from './context';
import type { Galleries } from './galleries';

/** Where a face created from a URL keeps it (FindFace answers with the URL it was given). */
export const PHOTO_URL = 'photo_url';

export interface FaceRendering {
  base: string;
  version: Version;
  galleries: Galleries;
  /** Persons who are friends ('friend or foe'). */
  friends: Set<number>;
  /** Each face's URL signature (photo and thumbnail open without a token). */
  signatures: Map<number, string>;
}

/** v1's attributes: age (years, fractional), gender, the two likeliest emotions. */
export function attributesJson(a: FaceAttributes | undefined): Record<string, unknown> {
  if (!a) return {};
  const out: Record<string, unknown> = {};
  if (a.age) out.age = a.age.years;
  if (a.gender) out.gender = a.gender.value;
  if (a.emotion) {
    out.emotions = Object.entries(a.emotion.probabilities)
      .sort((x, y) => y[1] - x[1])
      .slice(0, 2)
      .map(([name]) => name);
  }
  return out;
}

export function faceJson(face: Face, r: FaceRendering): Record<string, unknown> {
  const url = `${r.base}/${r.version}/face/id/${face.id}`;
  const sig = `?sig=${r.signatures.get(face.id) ?? ''}`;
  const photoUrl = face.attributes[PHOTO_URL];
  const box = face.box ? bboxJson(face.box) : { x1: 0, y1: 0, x2: 0, y2: 0 };
  const personId = face.personId ?? 0;
  return {
    id: face.id,
    meta: face.personName ?? '',
    person_id: personId,
    galleries: r.galleries.of(face.collectionIds),
    photo: typeof photoUrl === 'string' ? photoUrl : `${url}/photo${sig}`,
    photo_hash: face.photoSha256 ? face.photoSha256.subarray(0, 16).toString('hex') : '',
    thumbnail: `${url}/thumbnail${sig}`,
    normalized: `${url}/thumbnail${sig}`,
    timestamp: timestamp(face.createdAt),
    friend: r.friends.has(personId),
    ...box,
    ...(r.version === 'v1' ? attributesJson((face.attributes as { estimated?: FaceAttributes }).estimated) : {}),
  };
}

/** The persons among these faces' who are friends. */
export async function friendsAmong(ff: FindFace, personIds: readonly (number | null)[], scope: readonly number[]): Promise<Set<number>> {
  const ids = [...new Set(personIds.filter((id): id is number => id !== null))];
  const since = new Date(Date.now() - ff.settings.friendIntervalHours * 3600_000);
  return regularPersons(ff.db, ids, scope, ff.settings.friendDays, since);
}
