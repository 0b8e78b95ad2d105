// The 3DiVi Face SDK Image API (issue 13): each processing service at /<service>/process/image (multipart field
// "image") and /<service>/process/sample (a JSON sample), the same under /<service>/v1/... and /<service>/v2/...;
// unversioned paths speak v1, as 3DiVi's public demo client sends. Keys of kind imageapi by `Authorization:
// Bearer` or a TOKEN header (IMAGEAPI_AUTH=none lets anonymous requests through); errors as its FastAPI
// services render them.
import Router from '@koa/router';
import type Koa from 'koa';
import type { Dialect } from '../../http/app';
import { authenticateRequest, readCredential, type KeyAuthOptions } from '../../http/auth';
import { imageFromValue, readImage } from '../../http/image-input';
import { DomainError } from '../../domain/errors';
import { DIALECT, type ImageApiDeps } from './context';
import { invalid, renderImageApiError } from './errors';
import { IMAGE_API_OPENAPI } from './openapi';
import { readSample, type Sample, type Version } from './sample';
import { SERVICES, serviceRoutes, type ImageApiService } from './services';

export type { ImageApiDeps } from './context';
export { imageApiSettings } from './context';

async function authenticate(deps: ImageApiDeps, ctx: Koa.Context, service: ImageApiService) {
  const opts: KeyAuthOptions = { keys: deps.services.keys, schemes: ['bearer', 'token-header'], kinds: ['imageapi'], scope: service.scope };
  if (deps.settings.auth === 'none' && !readCredential(ctx, opts.schemes)) return undefined;
  return authenticateRequest(ctx, opts);
}

function handler(deps: ImageApiDeps, service: ImageApiService, version: Version, transport: 'image' | 'sample'): Koa.Middleware {
  const imageOptions = { ...deps.image, maxBytes: deps.settings.maxImageBytes, rawBodyField: 'image' };
  return async (ctx) => {
    const grant = await authenticate(deps, ctx, service);
    let sample: Sample;
    let image: Buffer | undefined;
    let images: Buffer[] | undefined;
    if (transport === 'image' && service.name === 'verify-matcher') {
      // Two photos (the field "image" twice) compared, or the two biggest faces of one.
      images = (ctx.request.uploads?.image ?? []).map((u) => u.bytes);
      if (images.some((b) => b.length > imageOptions.maxBytes)) throw new DomainError('IMAGE_TOO_LARGE', `image is larger than ${imageOptions.maxBytes} bytes`, { limit: imageOptions.maxBytes });
      if (images.length < 1 || images.length > 2) throw invalid(['body', 'image'], 'verify-matcher takes two images (the multipart field "image" twice) or one with two faces', 'value_error.missing');
      sample = { body: {}, objects: [] };
    } else if (transport === 'image') {
      image = await readImage(ctx, 'image', imageOptions);
      if (!image) throw invalid(['body', 'image'], 'field required: the image as a multipart file field "image"', 'value_error.missing');
      sample = { body: {}, imageBase64: image.toString('base64'), objects: [] };
    } else {
      if (ctx.request.bodyKind !== 'json') throw invalid(['body'], 'the sample must be a JSON body (Content-Type: application/json)', 'type_error.dict');
      sample = readSample(ctx.request.body);
      // verify-matcher compares templates only: an image sent along is returned, never decoded.
      if (sample.imageBase64 !== undefined && service.image !== 'ignored') {
        image = await imageFromValue(sample.imageBase64, imageOptions);
      }
    }
    ctx.body = await service.run(deps, { version, sample, image, images, grant, query: ctx.query, koa: ctx });
  };
}

export function createImageApiDialect(deps: ImageApiDeps): Dialect {
  const router = new Router();
  for (const service of SERVICES) {
    for (const r of serviceRoutes(service.name)) router.post(r.path, handler(deps, service, r.version, r.transport));
  }
  return {
    name: DIALECT,
    prefixes: SERVICES.map((s) => `/${s.name}`),
    renderError: renderImageApiError,
    router,
    paramSources: ['query', 'json', 'multipart'],
    cors: { allowHeaders: ['Authorization', 'TOKEN'] },
    openapi: IMAGE_API_OPENAPI,
  };
}
