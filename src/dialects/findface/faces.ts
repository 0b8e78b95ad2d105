// Face selection and enrolment in FindFace's terms: mf_selector (reject / biggest / all) and bbox, meta as the
// face's person's name (within the key's default collection, so a CompreFace subject of that collection is
// the same person), dynamic person creation for faces from cameras, and camera events.
import type Koa from 'koa';
import { facesInBoxes } from '../../domain/analysis';
import { DomainError } from '../../domain/errors';
import type { Face } from '../../domain/faces';
import type { AnalyzedFace, Box, ImageAnalysis } from '../../domain/types';
import { ensureCamera } from '../../store/cameras';
import { setFaceCamera } from '../../store/faces';
import { baseUrl, bboxJson, callContext, versionOf, type FindFace, type MfSelector } from './context';
import { faceJson, friendsAmong } from './face-json';
import type { Galleries } from './galleries';

/** Nearest faces looked at for one captured by the same camera (FINDFACE_PERSON_GLOBAL=false). */
const PER_CAMERA_CANDIDATES = 50;

/** How many detections a selection needs. */
export function detectionLimit(select: MfSelector, boxes?: readonly Box[]): number {
  return boxes || select !== 'biggest' ? 0 : 1;
}

export function tooManyFaces(analysis: ImageAnalysis, param: string, url?: string): DomainError {
  return new DomainError('TOO_MANY_FACES', `Too many faces: ${analysis.faces.length}`, {
    param,
    value: url ?? null,
    boxes: analysis.faces.map((f) => bboxJson(f.box)),
  });
}

/** The faces a request is about (boxes override mf_selector); NO_FACE / TOO_MANY_FACES name the photo. */
export function chooseFaces(analysis: ImageAnalysis, select: MfSelector, boxes: readonly Box[] | undefined, param: string, url?: string): AnalyzedFace[] {
  if (boxes) {
    try {
      return facesInBoxes(analysis, boxes);
    } catch (err) {
      if (err instanceof DomainError) throw new DomainError(err.code, `${err.message} on ${param}`, { param, value: url ?? null });
      throw err;
    }
  }
  if (!analysis.faces.length) throw new DomainError('NO_FACE', `No faces found on ${param}`, { param, value: url ?? null });
  if (select === 'reject' && analysis.faces.length > 1) throw tooManyFaces(analysis, param, url);
  return select === 'all' ? analysis.faces : [analysis.faces[0]];
}

/** The faces as FindFace objects, with their galleries and friend flags. */
export async function renderFaces(ff: FindFace, ctx: Koa.Context, g: Galleries, faces: readonly Face[]): Promise<Record<string, unknown>[]> {
  const friends = await friendsAmong(ff, faces.map((f) => f.personId), g.scope);
  const signatures = new Map(await Promise.all(faces.map(async (f) => [f.id, await ff.signature(f)] as const)));
  const r = { base: baseUrl(ctx), version: versionOf(ctx), galleries: g, friends, signatures };
  return faces.map((f) => faceJson(f, r));
}

/**
 * After enrolment: a face without a person (no meta) from a camera joins the person of the most similar face the
 * key may see, when their confidence reaches FINDFACE_PERSON_THRESHOLD, else it starts a new person; a face
 * without meta from elsewhere starts a new person. Faces from a camera leave a recognition event each (camera
 * history). Returns the faces as they are now.
 */
export async function assignPersons(
  ff: FindFace,
  ctx: Koa.Context,
  g: Galleries,
  enrolled: { face: Face; analyzed: AnalyzedFace }[],
  image: Buffer,
  camId: string | undefined,
): Promise<Face[]> {
  const camera = camId === undefined ? undefined : await ensureCamera(ff.db, camId);
  const personCosine = ff.scale.cosine(ff.settings.personThreshold);
  const out: Face[] = [];
  const events = [];
  for (const { face, analyzed } of enrolled) {
    if (camera) await setFaceCamera(ff.db, face.id, camera.id); // the camera is made once the photo is accepted
    let current = face;
    let reference: { faceId: number; cosine: number; far: number } | undefined;
    if (face.personId === null) {
      if (camera) {
        // Per camera: the nearest faces, then the best one this camera captured.
        const limit = ff.settings.personGlobal ? 3 : PER_CAMERA_CANDIDATES;
        const hits = (await ff.services.identification.search(analyzed.embedding, { collectionIds: g.scope, limit, by: 'face', minCosine: personCosine })).filter(
          (h) => h.faceId !== face.id && h.personId !== null,
        );
        const sameCamera = ff.settings.personGlobal
          ? undefined
          : new Map((await ff.services.faces.list(g.scope, { ids: hits.map((h) => h.faceId) })).map((f) => [f.id, f]));
        const best = hits.find((h) => !sameCamera || sameCamera.get(h.faceId)?.cameraId === camera.id);
        if (best) {
          reference = best;
          current = await ff.services.faces.setPerson(face.id, g.scope, best.personId);
        }
      }
      if (current.personId === null) {
        const person = await ff.services.persons.createUnnamed(camera ? { camera: camera.name } : {});
        current = await ff.services.faces.setPerson(face.id, g.scope, person.id);
      }
    }
    if (camera) {
      events.push({
        collectionId: g.defaultId,
        box: analyzed.box,
        image,
        crop: analyzed.crop,
        embedding: analyzed.embedding,
        faceId: current.id,
        personId: current.personId,
        cosine: reference?.cosine ?? null,
        far: reference?.far ?? null,
        verdict: reference || face.personId !== null ? ('match' as const) : ('no_match' as const),
        attributes: reference ? { reference_face: reference.faceId } : {},
      });
    }
    out.push(current);
  }
  if (events.length) {
    await ff.services.events.record(callContext(ctx, 'face', camera!.id), events);
    await ff.services.events.flush(); // this sighting counts for 'friend' in the answer
  }
  return out;
}
