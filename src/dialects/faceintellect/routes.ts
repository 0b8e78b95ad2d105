// The Face Recognition Server's HTTP API (/firserver/...): FindFaces, the person database (CreatePerson,
// ReadPersons, UpdatePerson, DeletePersons, GetImage), FaceErrorDescriptions, and MergePersons (this server's
// own: joins an automatic person to a known one). A server_id is a collection the credentials may see; the
// persons of a server are those with a face in it (or living in its namespace, as CompreFace's subjects do).
import type Router from '@koa/router';
import type Koa from 'koa';
import { DomainError, isDomainError } from '../../domain/errors';
import type { ProbeOutcome } from '../../domain/events';
import type { Person, PersonChanges } from '../../domain/persons';
import type { AnalyzedFace } from '../../domain/types';
import { faceThumbnail } from '../../console/queries';
import { invalidParam, params } from '../../http/params';
import { callContext, operation, requireImage, serverOf, type FaceIntellect, type Server } from './context';
import { ERROR_DESCRIPTIONS, errorBody } from './errors';
import { ATTRIBUTES_KEY, fiAttributes, guid, personJson, type FaceIntellectAttributes, type PersonJson } from './person-json';

/** Most matches FindFaces returns per face. */
export const MAX_FIND_PERSONS = 100;
/** Largest ReadPersons page. */
export const MAX_PAGE_SIZE = 1000;

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function guidParam(ctx: Koa.Context, name: string): string {
  const v = params(ctx).string(name, { required: true, missingMessage: `${name} is required (a GUID)` });
  if (!UUID_RE.test(v)) throw invalidParam(name, 'a GUID', v);
  return v.toLowerCase();
}

/** An optional text field: absent leaves it as it is, "" clears it. */
function textParam(ctx: Koa.Context, name: string): string | undefined {
  return params(ctx).string(name, { blankIsAbsent: false });
}

function objectParam(ctx: Koa.Context, name: string): Record<string, unknown> | undefined {
  const v = params(ctx).json(name);
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw invalidParam(name, 'an object', v);
  return v as Record<string, unknown>;
}

/** The engine's overall quality of a face, 0..1: the quality block's total score, or the detector's confidence. */
function quality(face: AnalyzedFace, block: boolean): number {
  if (!block) return Math.max(0, Math.min(1, face.score));
  const total = (face.attributes.quality as Record<string, unknown> | undefined)?.total as { score?: unknown } | number | undefined;
  const score = typeof total === 'object' && total !== null ? total.score : total;
  return typeof score === 'number' && Number.isFinite(score) ? Math.max(0, Math.min(1, score)) : 0;
}

const r4 = (x: number) => Math.round(x * 1e4) / 1e4;

/** The person of this GUID on the server; PERSON_NOT_FOUND otherwise. */
function personOn(fi: FaceIntellect, server: Server, uuid: string): Promise<Person> {
  return fi.services.persons.getByUuid(uuid, [server.id]);
}

function withAttributes(p: Person, change: FaceIntellectAttributes): Record<string, unknown> {
  return { ...p.attributes, [ATTRIBUTES_KEY]: { ...fiAttributes(p), ...change } };
}

export function faceIntellectRoutes(router: Router, fi: FaceIntellect): void {
  const { services } = fi;

  router.post('/FindFaces', operation('find', 'identify'), async (ctx) => {
    const server = await serverOf(ctx, fi);
    const findPersons = params(ctx).int('findPersons', { required: true, min: 0, max: MAX_FIND_PERSONS, missingMessage: 'findPersons is required' });
    const image = await requireImage(ctx, fi);
    const analysis = await services.analysis.analyze(image, { embeddings: true, attributes: fi.settings.quality ? ['quality'] : [] });
    // A frame without a face is an answer, not a failure: no faces, with the product's FACE_NOT_FOUND beside it.
    if (!analysis.faces.length) {
      ctx.body = { ...errorBody('FACE_NOT_FOUND', 'No face is found in the given image'), FaceList: [] };
      return;
    }
    // Faces the search compares: the in-memory index knows; a collection searched in SQL is counted.
    const processed = services.identification.comparedCount(server.id) ?? (await services.faces.count([server.id]));
    const now = new Date();
    const faceList: unknown[] = [];
    const outcomes: ProbeOutcome[] = [];
    // Every face is searched before any automatic person is made: faces of one frame are different people, so
    // none may be taken for a person made from another face of the same frame.
    const searches = [];
    for (const face of analysis.faces) {
      const started = performance.now();
      const matches = await services.identification.search(face.embedding, { collectionIds: [server.id], limit: Math.max(findPersons, 1), by: 'person' });
      searches.push({ face, matches, duration: Math.round(performance.now() - started) });
    }
    for (const { face, matches, duration } of searches) {
      const best = matches[0] as (typeof matches)[number] | undefined;
      const recognized = best !== undefined && best.cosine >= fi.matchCosine;
      const list: PersonJson[] = [];
      const outcome: ProbeOutcome = {
        collectionId: server.id,
        box: face.box,
        image,
        crop: face.crop,
        embedding: face.embedding,
        cosine: best?.cosine ?? null,
        far: best?.far ?? null,
        verdict: recognized ? 'match' : 'no_match',
        // The server, and the best match's Sim as this product showed it (null: nobody on the server).
        attributes: { server_id: server.name, sim: best ? fi.scale.sim(best.cosine) : null },
      };
      if (recognized) Object.assign(outcome, { faceId: best.faceId, personId: best.personId });
      else if (server.autoPersons) {
        // An unrecognized face on a server with automatic persons: a new person, found by later sightings. A
        // failure here (the database, the queue) leaves the face unrecognized rather than failing the search.
        const enrolled = await services.faces
          .enrolAnalyzed(image, [face], {
            collectionIds: [server.id],
            owner: { newPerson: { name: 'Unknown', attributes: { autoCreated: true, [ATTRIBUTES_KEY]: { nameless: true } } } },
            autoCreated: true,
          })
          .catch((err: unknown) => {
            ctx.log.warn({ code: (err as { code?: unknown }).code }, 'automatic person not created');
            return undefined;
          });
        if (enrolled?.person) {
          Object.assign(outcome, { faceId: enrolled.faces[0].face.id, personId: enrolled.person.id, verdict: 'new_person' });
          if (findPersons > 0) list.push(personJson(enrolled.person, enrolled.faces[0].face.uuid, { sim: 1, recognizedAt: now }));
        }
      }
      // Only persons at or above the match Sim, as the product lists them.
      const shown = matches.filter((m) => m.cosine >= fi.matchCosine).slice(0, Math.max(0, findPersons - list.length));
      const entries = await Promise.all(
        shown.map(async (m, i) => {
          const [person, matched] = await Promise.all([services.persons.get(m.personId!, [server.id]), services.faces.get(m.faceId, [server.id])]);
          return personJson(person, matched.uuid, { sim: fi.scale.sim(m.cosine), ...(recognized && i === 0 ? { recognizedAt: now } : {}) });
        }),
      ).catch((err: unknown) => {
        // A person or face deleted between the search and this read: leave the entry out.
        if (isDomainError(err, 'PERSON_NOT_FOUND') || isDomainError(err, 'FACE_NOT_FOUND')) return [];
        throw err;
      });
      list.push(...entries);
      outcomes.push(outcome);
      const [leftEye, rightEye] = face.landmarks5;
      faceList.push({
        quality: r4(quality(face, fi.settings.quality)),
        eyeLeftX: r4(leftEye[0]),
        eyeLeftY: r4(leftEye[1]),
        eyeRightX: r4(rightEye[0]),
        eyeRightY: r4(rightEye[1]),
        faceRectLeft: Math.round(face.box.x),
        faceRectTop: Math.round(face.box.y),
        faceRectWidth: Math.round(face.box.width),
        faceRectHeight: Math.round(face.box.height),
        ProcessedPersons: processed,
        ProcessedPersonsDuration: duration,
        PersonList: list,
      });
    }
    await services.events.record(callContext(ctx, 'FindFaces'), outcomes);
    ctx.body = { FaceList: faceList };
  });

  router.post('/CreatePerson', operation('add', 'write'), async (ctx) => {
    const p = params(ctx);
    const server = await serverOf(ctx, fi);
    const surname = p.string('surname', { required: true, missingMessage: 'surname is required' });
    const department = p.string('department', { required: true, blankIsAbsent: false, missingMessage: 'department is required' });
    const name = textParam(ctx, 'name');
    const patronymic = textParam(ctx, 'patronymic');
    const comment = textParam(ctx, 'comment');
    const additionalParams = objectParam(ctx, 'additionalParams');
    const id = p.find('id') && p.string('id') ? guidParam(ctx, 'id') : undefined;
    if (p.string('fir')) throw invalidParam('fir', 'absent', '(a template)', 'fir: templates of other engines cannot be used here; send the image');
    const image = await requireImage(ctx, fi);
    const existing = id ? await personOn(fi, server, id).catch((err: unknown) => (isDomainError(err, 'PERSON_NOT_FOUND') ? undefined : Promise.reject(err))) : undefined;
    let uuid: string;
    if (existing) {
      // A known id: the photo is one more face of that person, and the fields sent replace its own.
      await services.faces.enrol(image, { collectionIds: [server.id], owner: { personId: existing.id } });
      await services.persons.update(existing.id, {
        surname,
        department,
        ...(name !== undefined ? { name: name || existing.name } : {}),
        ...(patronymic !== undefined ? { patronymic } : {}),
        ...(comment !== undefined ? { comment } : {}),
        attributes: withAttributes(existing, { ...(name !== undefined ? { nameless: !name } : {}), ...(additionalParams ? { additionalParams } : {}) }),
      });
      uuid = existing.uuid;
    } else {
      const attributes: FaceIntellectAttributes = { nameless: !name, ...(additionalParams ? { additionalParams } : {}) };
      const enrolled = await services.faces.enrol(image, {
        collectionIds: [server.id],
        owner: { newPerson: { uuid: id, name: name || surname, surname, patronymic, department, comment, attributes: { [ATTRIBUTES_KEY]: attributes } } },
      });
      uuid = enrolled.person!.uuid;
    }
    ctx.body = { Status: 'SUCCESS', Result: guid(uuid), Description: '' };
  });

  router.post('/ReadPersons', operation('read', 'read'), async (ctx) => {
    const p = params(ctx);
    const server = await serverOf(ctx, fi);
    const page = p.int('page', { min: 1 }) ?? 1;
    const pageSize = p.int('pageSize', { min: 1, max: MAX_PAGE_SIZE }) ?? 1;
    const ids = p.list('id') ?? [];
    const onlyAuto = p.boolean('autoCreated') === true;
    let persons: Person[];
    let total: number;
    if (ids.length) {
      const found: Person[] = [];
      for (const id of new Set(ids.map((s) => s.toLowerCase()))) {
        const person = await personOn(fi, server, id).catch((err: unknown) => (isDomainError(err, 'PERSON_NOT_FOUND') ? undefined : Promise.reject(err)));
        if (person && (!onlyAuto || person.attributes.autoCreated === true)) found.push(person);
      }
      found.sort((a, b) => b.id - a.id);
      total = found.length;
      persons = found.slice((page - 1) * pageSize, page * pageSize);
    } else {
      const filter = onlyAuto ? { attributes: { autoCreated: true } } : {};
      [persons, total] = await Promise.all([
        services.persons.list([server.id], filter, { page: page - 1, size: pageSize }, 'newest'),
        services.persons.count([server.id], filter),
      ]);
    }
    // Each person's reference image: its first face on the server (one query for the page).
    const first = new Map<number, string>();
    if (persons.length) {
      for (const f of await services.faces.list([server.id], { personIds: persons.map((x) => x.id) })) if (!first.has(f.personId!)) first.set(f.personId!, f.uuid);
    }
    const list = persons.map((person) => personJson(person, first.get(person.id) ?? null));
    ctx.body = { PersonList: list, Total: total, Response: { Status: 'OK' } };
  });

  router.post('/UpdatePerson', operation('update', 'write'), async (ctx) => {
    const server = await serverOf(ctx, fi);
    const person = await personOn(fi, server, guidParam(ctx, 'id'));
    const name = textParam(ctx, 'name');
    const additionalParams = objectParam(ctx, 'additionalParams');
    const changes: PersonChanges = {};
    for (const field of ['surname', 'patronymic', 'department', 'comment'] as const) {
      const v = textParam(ctx, field);
      if (v !== undefined) changes[field] = v;
    }
    if (name) changes.name = name;
    if (name !== undefined || additionalParams) {
      changes.attributes = withAttributes(person, {
        ...(name !== undefined ? { nameless: !name } : {}),
        ...(additionalParams ? { additionalParams: { ...fiAttributes(person).additionalParams, ...additionalParams } } : {}),
      });
    }
    await services.persons.update(person.id, changes);
    ctx.body = { Status: 'SUCCESS', Result: guid(person.uuid), Description: '' };
  });

  router.post('/DeletePersons', operation('delete', 'write'), async (ctx) => {
    const server = await serverOf(ctx, fi);
    const ids = params(ctx).list('id', { required: true, missingMessage: 'id is required (person GUIDs, or "*all*")' });
    const all = ids.some((id) => id.replace(/\s+/g, '') === '*all*');
    let persons: Person[];
    if (all) persons = await services.persons.list([server.id], {}, undefined, 'created');
    else {
      // Every id must be found before anything is deleted.
      persons = [];
      for (const id of new Set(ids)) {
        if (!UUID_RE.test(id)) throw invalidParam('id', 'a GUID or "*all*"', id);
        persons.push(await personOn(fi, server, id.toLowerCase()));
      }
    }
    for (const person of persons) await removeFromServer(fi, server, person);
    if (all) await services.faces.removeFromCollection(server.id, (await services.faces.list([server.id])).filter((f) => f.personId === null));
    ctx.body = { Description: '', Result: all ? '*all*' : ids.join(','), Status: 'SUCCESS' };
  });

  router.post('/MergePersons', operation('update', 'write'), async (ctx) => {
    const server = await serverOf(ctx, fi);
    const from = await personOn(fi, server, guidParam(ctx, 'id'));
    const into = await personOn(fi, server, guidParam(ctx, 'into'));
    // Recognitions still on their way to the database count for the person they were of: written first.
    await services.events.flush();
    await services.persons.merge(from.id, into.id);
    ctx.body = { Status: 'SUCCESS', Result: guid(into.uuid), Description: '' };
  });

  const getImage = async (ctx: Koa.Context) => {
    const server = await serverOf(ctx, fi);
    const id = guidParam(ctx, 'id');
    let face = await services.faces.getByUuid(id, [server.id]).catch((err: unknown) => (isDomainError(err, 'FACE_NOT_FOUND') ? undefined : Promise.reject(err)));
    if (!face) {
      // A person's id: its reference image.
      const person = await personOn(fi, server, id).catch(() => undefined);
      const [first] = person ? await services.faces.list([server.id], { personId: person.id }, { size: 1 }) : [];
      if (!first) throw new DomainError('FACE_NOT_FOUND', `no image ${guid(id)} on this server`, { face: id });
      face = first;
    }
    const photo = await services.faces.photo(face.id, [server.id]);
    if (photo) {
      ctx.type = photo.mimeType;
      ctx.body = photo.bytes;
      return;
    }
    // Photos not kept (SAVE_IMAGES=false): the crop of the face cut at enrolment (THUMBNAILS, the picture the
    // console shows), which is what an operator screen that shows a person's image wants; nothing only when no
    // crop is kept either.
    const crop = await faceThumbnail(fi.db, face.id);
    if (!crop) throw new DomainError('FACE_NOT_FOUND', `image ${guid(face.uuid)} is not kept (SAVE_IMAGES=false, and no crop of the face)`, { face: id });
    ctx.set('X-Image-Kind', 'face-crop');
    ctx.type = 'image/jpeg';
    ctx.body = crop;
  };
  router.get('/GetImage', operation('image', 'read'), getImage);
  router.post('/GetImage', operation('image', 'read'), getImage);

  const descriptions = (ctx: Koa.Context) => {
    ctx.body = ERROR_DESCRIPTIONS;
  };
  router.get('/FaceErrorDescriptions', descriptions);
  router.post('/FaceErrorDescriptions', descriptions);
}

/**
 * Takes the person off the server: a person living in the server's namespace goes with its faces; any other
 * loses its faces on this server (faces also in other collections stay there) and goes once it has no face left.
 */
async function removeFromServer(fi: FaceIntellect, server: Server, person: Person): Promise<void> {
  const { services } = fi;
  if (person.ownerCollectionId === server.id) return services.persons.delete(person.id);
  await services.faces.removeFromCollection(server.id, await services.faces.list([server.id], { personId: person.id }));
  await services.persons.deleteIfFaceless(person.id);
}
