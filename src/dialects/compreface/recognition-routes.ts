// CompreFace's recognition service: subjects, examples (faces), recognize, verify against an example, and the
// embeddings endpoints. Every route here needs a recognition key and works in that key's collection.
import Router from '@koa/router';
import { DomainError } from '../../domain/errors';
import { toUnitEmbeddings } from '../../domain/embeddings';
import { checkPersonName } from '../../domain/persons';
import { CF, CompreFaceError } from './errors';
import { bodyProperty, callContext, collectionOf, requireImage, type CompreFace } from './context';
import { faceJson, knownPlugins, pluginAttributes, pluginsVersionsJson } from './face-json';
import {
  detectFacesParam,
  detProbThresholdParam,
  facePluginsParam,
  limitParam,
  optionalSubjectParam,
  pageParams,
  predictionCountParam,
  requiredSubjectParam,
  statusParam,
} from './params';
import type Koa from 'koa';

function subjectFromBody(ctx: Koa.Context): string {
  const subject = bodyProperty(ctx, 'subject');
  if (subject === undefined || subject === null) throw new DomainError('MISSING_ARGUMENT', 'Empty required field: subject', { param: 'subject' });
  return checkPersonName(subject, 'subject');
}

/** Probe options shared by recognize and verify. */
function probeOptions(ctx: Koa.Context, withDetectFaces: boolean) {
  const plugins = knownPlugins(facePluginsParam(ctx));
  return {
    plugins,
    status: statusParam(ctx),
    detect: {
      limit: limitParam(ctx),
      minScore: detProbThresholdParam(ctx),
      attributes: pluginAttributes(plugins),
      detectFaces: withDetectFaces ? detectFacesParam(ctx) : true,
    },
  };
}

export function recognitionRoutes(router: Router, cf: CompreFace): void {
  const { subjects } = cf;
  const { identification, analysis, verification } = cf.services;

  // Subjects
  router.post('/recognition/subjects', async (ctx) => {
    const name = await subjects.create(collectionOf(ctx), subjectFromBody(ctx));
    ctx.status = 201;
    ctx.body = { subject: name };
  });
  router.put('/recognition/subjects/:subject', async (ctx) => {
    await subjects.rename(collectionOf(ctx), ctx.params.subject, subjectFromBody(ctx));
    ctx.body = { updated: true };
  });
  router.delete('/recognition/subjects/:subject', async (ctx) => {
    ctx.body = { subject: await subjects.delete(collectionOf(ctx), ctx.params.subject) };
  });
  router.delete('/recognition/subjects', async (ctx) => {
    ctx.body = { deleted: await subjects.deleteAll(collectionOf(ctx)) };
  });
  router.get(['/recognition/subjects', '/recognition/subjects/'], async (ctx) => {
    ctx.body = { subjects: await subjects.list(collectionOf(ctx)) };
  });

  // Examples
  router.post('/recognition/faces', async (ctx) => {
    const collectionId = collectionOf(ctx);
    const subject = requiredSubjectParam(ctx);
    const minScore = detProbThresholdParam(ctx);
    const image = await requireImage(ctx, cf, 'file');
    const example = await subjects.enrol(collectionId, subject, image, minScore);
    ctx.status = 201;
    ctx.body = { image_id: example.id, subject: example.subject };
  });
  router.get(['/recognition/faces', '/recognition/faces/'], async (ctx) => {
    const { page, size } = pageParams(ctx);
    const result = await subjects.examples(collectionOf(ctx), { subject: optionalSubjectParam(ctx), page, size });
    ctx.body = {
      faces: result.items.map((e) => ({ image_id: e.id, subject: e.subject })),
      page_number: result.page,
      page_size: result.size,
      total_pages: Math.ceil(result.total / result.size),
      total_elements: result.total,
    };
  });
  router.delete('/recognition/faces', async (ctx) => {
    ctx.body = { deleted: await subjects.deleteExamplesOf(collectionOf(ctx), optionalSubjectParam(ctx)) };
  });
  router.post('/recognition/faces/delete', async (ctx) => {
    const ids = ctx.request.body as unknown;
    if (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string')) {
      throw new CompreFaceError(400, CF.VALIDATION_CONSTRAINT_VIOLATION, 'request body should be a JSON array of image ids');
    }
    const deleted = await subjects.deleteExamples(collectionOf(ctx), ids as string[]);
    ctx.body = deleted.map((e) => ({ image_id: e.id, subject: e.subject }));
  });
  router.delete('/recognition/faces/:image_id', async (ctx) => {
    const e = await subjects.deleteExample(collectionOf(ctx), ctx.params.image_id);
    ctx.body = { image_id: e.id, subject: e.subject };
  });
  router.get('/recognition/faces/:image_id/img', async (ctx) => {
    sendPhoto(ctx, await examplePhoto(cf, collectionOf(ctx), ctx.params.image_id));
  });

  // Recognize
  router.post('/recognition/recognize', async (ctx) => {
    const collectionId = collectionOf(ctx);
    const { plugins, status, detect } = probeOptions(ctx, true);
    const limit = predictionCountParam(ctx);
    const image = await requireImage(ctx, cf, 'file');
    const r = await identification.identifyImage(
      image,
      detect,
      { collectionIds: [collectionId], limit, by: 'person', matchCosine: cf.matchCosine },
      callContext(ctx, 'recognize'),
    );
    ctx.body = {
      result: r.faces.map(({ face, matches }) =>
        faceJson(face, r.analysis, plugins, status, {
          subjects: matches.map((m) => ({ similarity: cf.similarity(m.cosine), subject: m.personName })),
        }),
      ),
      ...(status ? { plugins_versions: pluginsVersionsJson(plugins) } : {}),
    };
  });

  // Verify against a stored example
  router.post('/recognition/faces/:image_id/verify', async (ctx) => {
    const collectionId = collectionOf(ctx);
    const { plugins, status, detect } = probeOptions(ctx, false);
    const example = await subjects.example(collectionId, ctx.params.image_id);
    const image = await requireImage(ctx, cf, 'file');
    const probe = await analysis.detect(image, { ...detect, embeddings: true });
    const probes = probe.faces.map((f) => ({ embedding: f.embedding, box: f.box, image, crop: f.crop })); // for the events' thumbnails
    const scores = await verification.compareWithFace(example, [collectionId], probes, { matchCosine: cf.matchCosine }, callContext(ctx, 'faces/verify'));
    ctx.body = {
      result: probe.faces.map((face, i) => faceJson(face, probe, plugins, status, { similarity: cf.similarity(scores[i].cosine) })),
      ...(status ? { plugins_versions: pluginsVersionsJson(plugins) } : {}),
    };
  });

  // Embeddings
  router.post('/recognition/embeddings/recognize', async (ctx) => {
    const collectionId = collectionOf(ctx);
    const limit = predictionCountParam(ctx);
    const input = bodyProperty(ctx, 'embeddings');
    const probes = toUnitEmbeddings(input).map((embedding) => ({ embedding }));
    const results = await identification.identify(
      probes,
      { collectionIds: [collectionId], limit, by: 'person', matchCosine: cf.matchCosine },
      callContext(ctx, 'embeddings/recognize'),
    );
    ctx.body = {
      result: results.map((matches, i) => ({
        embedding: (input as number[][])[i],
        similarities: matches.map((m) => ({ subject: m.personName, similarity: cf.similarity(m.cosine) })),
      })),
    };
  });
  router.post('/recognition/embeddings/faces/:image_id/verify', async (ctx) => {
    const collectionId = collectionOf(ctx);
    const example = await subjects.example(collectionId, ctx.params.image_id);
    const input = bodyProperty(ctx, 'embeddings');
    const probes = toUnitEmbeddings(input).map((embedding) => ({ embedding }));
    const scores = await verification.compareWithFace(example, [collectionId], probes, { matchCosine: cf.matchCosine }, callContext(ctx, 'embeddings/faces/verify'));
    ctx.body = { result: scores.map((s, i) => ({ embedding: (input as number[][])[i], similarity: cf.similarity(s.cosine) })) };
  });
}

/** The example's stored photo; undefined for an unknown id or when photos are not kept. */
export async function examplePhoto(cf: CompreFace, collectionId: number, imageId: string): Promise<{ bytes: Buffer; mimeType: string } | undefined> {
  try {
    const example = await cf.subjects.example(collectionId, imageId);
    return await cf.services.faces.photo(example.id, [collectionId]);
  } catch (err) {
    if (err instanceof DomainError && err.code === 'FACE_NOT_FOUND') return undefined;
    throw err;
  }
}

/** An example's photo, or empty bytes when there is none (as CompreFace answers). */
export function sendPhoto(ctx: Koa.Context, photo: { bytes: Buffer; mimeType: string } | undefined): void {
  ctx.set('Cache-Control', 'private, max-age=0, no-store');
  if (!photo) {
    ctx.status = 200;
    ctx.type = 'image/jpeg';
    ctx.body = Buffer.alloc(0);
    return;
  }
  ctx.type = photo.mimeType;
  ctx.body = photo.bytes;
}
