// CompreFace's detection and verification services, and the static image URL with the key in its path.
import type Router from '@koa/router';
import { DomainError } from '../../domain/errors';
import { toUnitEmbedding, toUnitEmbeddings } from '../../domain/embeddings';
import { bodyProperty, callContext, requireImage, type CompreFaceDeps } from './context';
import { faceJson, knownPlugins, pluginAttributes, pluginsVersionsJson, round5 } from './face-json';
import { detectFacesParam, detProbThresholdParam, facePluginsParam, limitParam, statusParam } from './params';
import { sendPhoto } from './recognition-routes';
import { staticImageCollection } from './auth';

export function serviceRoutes(router: Router, deps: CompreFaceDeps): void {
  const { detection, verification, examples, keys } = deps.services;

  router.post('/detection/detect', async (ctx) => {
    const plugins = knownPlugins(facePluginsParam(ctx));
    const status = statusParam(ctx);
    const opts = {
      limit: limitParam(ctx),
      minScore: detProbThresholdParam(ctx),
      attributes: pluginAttributes(plugins),
      detectFaces: detectFacesParam(ctx),
      embeddings: plugins.includes('calculator'),
    };
    const image = await requireImage(ctx, deps, 'file');
    const analysis = await detection.detect(image, opts);
    ctx.body = {
      result: analysis.faces.map((face) => faceJson(face, analysis, plugins, status)),
      ...(status ? { plugins_versions: pluginsVersionsJson(plugins) } : {}),
    };
  });

  router.post('/verification/verify', async (ctx) => {
    const plugins = knownPlugins(facePluginsParam(ctx));
    const status = statusParam(ctx);
    const opts = {
      limit: limitParam(ctx),
      minScore: detProbThresholdParam(ctx),
      attributes: pluginAttributes(plugins),
      detectFaces: detectFacesParam(ctx),
    };
    const source = await requireImage(ctx, deps, 'source_image');
    const target = await requireImage(ctx, deps, 'target_image');
    const r = await verification.verifyImages(source, target, opts, callContext(ctx, 'verification/verify'));
    ctx.body = {
      result: [
        {
          source_image_face: faceJson(r.source.face, r.source.analysis, plugins, status),
          face_matches: r.target.faces.map(({ face, similarity }) => faceJson(face, r.target.analysis, plugins, status, { similarity: round5(similarity) })),
          ...(status ? { plugins_versions: pluginsVersionsJson(plugins) } : {}),
        },
      ],
    };
  });

  router.post('/verification/embeddings/verify', async (ctx) => {
    const rawSource = bodyProperty(ctx, 'source');
    if (rawSource === undefined || rawSource === null) throw new DomainError('MISSING_ARGUMENT', 'Empty required field: source');
    const source = toUnitEmbedding(rawSource, 'source');
    const rawTargets = bodyProperty(ctx, 'targets');
    const targets = toUnitEmbeddings(rawTargets, 'targets');
    const sims = await verification.verifyEmbeddings(source, targets, callContext(ctx, 'verification/embeddings/verify'));
    ctx.body = { result: sims.map((s, i) => ({ embedding: (rawTargets as number[][])[i], similarity: round5(s) })) };
  });

  // <img src> friendly: the recognition key is in the path, not a header.
  router.get('/static/:key/images/:image_id', async (ctx) => {
    const key = ctx.params.key;
    // The request log prints the path: keep the key out of it.
    ctx.path = `/api/v1/static/${key.slice(0, 8)}…/images/${ctx.params.image_id}`;
    sendPhoto(ctx, await examples.photo(await staticImageCollection(keys, key), ctx.params.image_id));
  });
}
