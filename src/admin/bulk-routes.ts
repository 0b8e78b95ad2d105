// The admin API's bulk routes (/admin/v1/bulk), for `faceserver import` and `faceserver export` while the
// server runs; behind the same guard as the rest of the admin API (src/admin/routes.ts).
import type Router from '@koa/router';
import type Koa from 'koa';
import { DomainError } from '../domain/errors';
import { BULK_PAGE_MAX, type BulkAdmin, type ImportedFace } from './bulk';

function body(ctx: Koa.Context): Record<string, unknown> {
  const b = ctx.request.body as unknown;
  return b && typeof b === 'object' && !Array.isArray(b) ? (b as Record<string, unknown>) : {};
}

function requiredString(ctx: Koa.Context, name: string): string {
  const v = body(ctx)[name];
  if (v === undefined || v === null) throw new DomainError('MISSING_ARGUMENT', `"${name}" is required`, { param: name });
  if (typeof v !== 'string') throw new DomainError('INVALID_ARGUMENT', `"${name}" must be a string`, { param: name, expected: 'string', value: v });
  return v;
}

/** A non-negative integer from the path or the query string. */
function int(value: unknown, name: string, fallback?: number): number {
  if ((value === undefined || value === '') && fallback !== undefined) return fallback;
  const n = typeof value === 'string' && /^\d{1,15}$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n)) throw new DomainError('INVALID_ARGUMENT', `${name} must be a non-negative integer`, { param: name, value });
  return n;
}

const collectionId = (ctx: Koa.Context) => int(ctx.params.id, 'collection');
const page = (ctx: Koa.Context) => ({ after: int(ctx.query.after, 'after', 0), limit: int(ctx.query.limit, 'limit', BULK_PAGE_MAX) });

export function addBulkRoutes(router: Router, bulk: BulkAdmin): void {
  router.get('/bulk/capacity', async (ctx) => {
    ctx.body = await bulk.capacity();
  });
  router.post('/bulk/collections', async (ctx) => {
    const create = body(ctx).create;
    if (create !== undefined && typeof create !== 'boolean') throw new DomainError('INVALID_ARGUMENT', '"create" must be a boolean', { param: 'create', value: create });
    ctx.body = { collection: await bulk.collection(requiredString(ctx, 'name'), create === true) };
  });
  router.get('/bulk/collections/:id/enrolled', async (ctx) => {
    const { after, limit } = page(ctx);
    ctx.body = { faces: await bulk.enrolled(collectionId(ctx), after, limit) };
  });
  router.post('/bulk/collections/:id/photos', async (ctx) => {
    const name = requiredString(ctx, 'name');
    const data = requiredString(ctx, 'image');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(data)) throw new DomainError('INVALID_BASE64', '"image" is not base64', { param: 'image' });
    const result = await bulk.enrolPhoto(collectionId(ctx), name, Buffer.from(data, 'base64'));
    ctx.status = result.outcome === 'enrolled' ? 201 : 200;
    ctx.body = result;
  });
  router.post('/bulk/collections/:id/faces', async (ctx) => {
    const faces = body(ctx).faces;
    if (!Array.isArray(faces)) throw new DomainError('MISSING_ARGUMENT', '"faces" (an array) is required', { param: 'faces' });
    ctx.status = 201;
    ctx.body = { imported: await bulk.importFaces(collectionId(ctx), faces as ImportedFace[]) };
  });
  router.get('/bulk/collections/:id/export', async (ctx) => {
    const { after, limit } = page(ctx);
    const photos = ctx.query.photos === 'true' || ctx.query.photos === '1';
    ctx.body = await bulk.exportPage(collectionId(ctx), after, limit, photos);
  });
}
