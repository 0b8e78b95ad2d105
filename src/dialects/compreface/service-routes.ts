// CompreFace's detection and verification services, and the static image URL with the key in its path.
import type Router from '@koa/router';
import { DomainError } from '../../domain/errors';
import { clientAddress } from '../../http/auth';
import { toUnitEmbedding, toUnitEmbeddings } from '../../domain/embeddings';
import { bodyProperty, callContext, requireImage, type CompreFace } from './context';
import { faceJson, knownPlugins, pluginAttributes, pluginsVersionsJson } from './face-json';
import { detectFacesParam, detProbThresholdParam, facePluginsParam, limitParam, statusParam } from './params';
import { examplePhoto, sendPhoto } from './recognition-routes';
import { staticImageCollection } from './auth';

export function serviceRoutes(router: Router, cf: CompreFace): void {
  const { analysis, verification, keys } = cf.services;

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
    const image = await requireImage(ctx, cf, 'file');
    const detected = await analysis.detect(image, opts);
    ctx.body = {
      result: detected.faces.map((face) => faceJson(face, detected, plugins, status)),
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
    const source = await requireImage(ctx, cf, 'source_image');
    const target = await requireImage(ctx, cf, 'target_image');
    // The source must show one face; every face of the target is compared with it.
    const r = await verification.compareImages(
      source,
      target,
      opts,
      { matchCosine: cf.matchCosine, sourceSelect: 'dominant', targetSelect: 'all' },
      callContext(ctx, 'verification/verify'),
    );
    ctx.body = {
      result: [
        {
          source_image_face: faceJson(r.source.faces[0], r.source.analysis, plugins, status),
          face_matches: r.target.faces.map((face, j) => faceJson(face, r.target.analysis, plugins, status, { similarity: cf.similarity(r.scores[0][j].cosine) })),
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
    const scores = await verification.compare(
      targets.map((t) => ({ probe: t, reference: source })),
      { matchCosine: cf.matchCosine },
      callContext(ctx, 'verification/embeddings/verify'),
    );
    ctx.body = { result: scores.map((s, i) => ({ embedding: (rawTargets as number[][])[i], similarity: cf.similarity(s.cosine) })) };
  });

  // <img src> friendly: the recognition key is in the path, not a header.
  router.get('/static/:key/images/:image_id', async (ctx) => {
    const key = ctx.params.key;
    // The request log prints the path: keep the key out of it.
    ctx.path = `/api/v1/static/${key.slice(0, 8)}…/images/${ctx.params.image_id}`;
    sendPhoto(ctx, await examplePhoto(cf, await staticImageCollection(keys, key, clientAddress(ctx)), ctx.params.image_id));
  });
}
