// `faceserver import` / `export` against a running server: the admin API's bulk routes (src/admin/bulk-routes.ts).
import type { BulkAdmin, BulkCapacity, EnrolledFace, ExportPage, ImportedFace, PhotoResult } from '../admin/bulk';
import { callAdmin, type AdminEndpoint, type Json } from './admin-client';

/** Enrolling one photo waits for the engine's queue: longer than a key call may. */
const PHOTO_TIMEOUT_MS = 120_000;

export class RemoteBulkAdmin implements BulkAdmin {
  readonly where: string;

  constructor(private readonly to: AdminEndpoint) {
    this.where = to.where;
  }

  async capacity(): Promise<BulkCapacity> {
    return (await callAdmin(this.to, 'GET', '/bulk/capacity')) as unknown as BulkCapacity;
  }

  async collection(name: string, create: boolean): Promise<{ id: number; name: string }> {
    return (await callAdmin(this.to, 'POST', '/bulk/collections', { name, create })).collection as { id: number; name: string };
  }

  async enrolled(collectionId: number, afterId: number, limit: number): Promise<EnrolledFace[]> {
    return (await callAdmin(this.to, 'GET', `/bulk/collections/${collectionId}/enrolled?after=${afterId}&limit=${limit}`, undefined, PHOTO_TIMEOUT_MS)).faces as EnrolledFace[];
  }

  async enrolPhoto(collectionId: number, name: string, image: Buffer): Promise<PhotoResult> {
    const body: Json = { name, image: image.toString('base64') };
    return (await callAdmin(this.to, 'POST', `/bulk/collections/${collectionId}/photos`, body, PHOTO_TIMEOUT_MS)) as unknown as PhotoResult;
  }

  async importFaces(collectionId: number, faces: ImportedFace[]): Promise<number> {
    const r = await callAdmin(this.to, 'POST', `/bulk/collections/${collectionId}/faces`, { faces } as unknown as Json, PHOTO_TIMEOUT_MS);
    return r.imported as number;
  }

  async exportPage(collectionId: number, afterId: number, limit: number, photos: boolean): Promise<ExportPage & { lastId: number }> {
    const path = `/bulk/collections/${collectionId}/export?after=${afterId}&limit=${limit}${photos ? '&photos=true' : ''}`;
    return (await callAdmin(this.to, 'GET', path, undefined, PHOTO_TIMEOUT_MS)) as unknown as ExportPage & { lastId: number };
  }

  async close(): Promise<void> {}
}
