// Original photos of enrolled faces (only when SAVE_IMAGES is on). A photo is deleted with its last face.
import crypto from 'node:crypto';
import type { Queryable } from './db';

export interface Photo {
  id: number;
  sha256: Buffer;
  mimeType: string | null;
  bytes: Buffer;
  createdAt: Date;
}

export function sha256(bytes: Buffer): Buffer {
  return crypto.createHash('sha256').update(bytes).digest();
}

export async function insertPhoto(q: Queryable, bytes: Buffer, mimeType?: string | null): Promise<number> {
  const r = await q.query<{ id: number }>(`INSERT INTO photos (sha256, mime_type, bytes) VALUES ($1, $2, $3) RETURNING id`, [
    sha256(bytes),
    mimeType ?? null,
    bytes,
  ]);
  return r.rows[0].id;
}

interface PhotoRow {
  id: number;
  sha256: Buffer;
  mime_type: string | null;
  bytes: Buffer;
  created_at: Date;
}

const toPhoto = (r: PhotoRow): Photo => ({ id: r.id, sha256: r.sha256, mimeType: r.mime_type, bytes: r.bytes, createdAt: r.created_at });

export async function getPhoto(q: Queryable, id: number): Promise<Photo | undefined> {
  const r = await q.query<PhotoRow>(`SELECT id, sha256, mime_type, bytes, created_at FROM photos WHERE id = $1`, [id]);
  return r.rows[0] && toPhoto(r.rows[0]);
}

/** The stored photo a face was enrolled from, if photos are kept. */
export async function getFacePhoto(q: Queryable, faceId: number): Promise<Photo | undefined> {
  const r = await q.query<PhotoRow>(
    `SELECT p.id, p.sha256, p.mime_type, p.bytes, p.created_at FROM faces f JOIN photos p ON p.id = f.photo_id WHERE f.id = $1`,
    [faceId],
  );
  return r.rows[0] && toPhoto(r.rows[0]);
}
