// Face-compare scans and their photos (migrations/0011_scans.sql). Every read, update and listing takes the
// company: a scan of another company is indistinguishable from one that does not exist.
import type { Queryable } from './db';

export interface Scan {
  id: string;
  company: string;
  reference: string;
  channel: string;
  compareResult: string;
  compareSimilarity: number;
  /** Each face's measurements as the API shows them; null when that photo had no face or could not be read. */
  face1: Record<string, unknown> | null;
  face2: Record<string, unknown> | null;
  /** Seconds. */
  elapsedTime: number | null;
  createdAt: Date;
  createdBy: string | null;
  updatedAt: Date | null;
  updatedBy: string | null;
}

export type NewScan = Omit<Scan, 'createdAt' | 'updatedAt' | 'updatedBy'>;

export interface ScanPhoto {
  file: 1 | 2;
  mimeType: string | null;
  bytes: Buffer;
}

/** What an update may change (absent: kept). */
export interface ScanChanges {
  compareResult?: string;
  compareSimilarity?: number;
  channel?: string;
}

/** Columns a listing may be sorted by. */
export const SCAN_SORT_COLUMNS = ['created_at', 'updated_at', 'compare_similarity', 'compare_result', 'channel', 'reference', 'elapsed_time', 'id'] as const;
export type ScanSortColumn = (typeof SCAN_SORT_COLUMNS)[number];

export interface ScanListOptions {
  offset: number;
  limit: number;
  /** In order of precedence; the newest first (then id) breaks remaining ties, so pages never overlap. */
  sort: readonly { column: ScanSortColumn; descending: boolean }[];
  /** Only scans with this reference. */
  reference?: string;
}

const COLUMNS = `id, company, reference, channel, compare_result, compare_similarity, face1, face2, elapsed_time,
  created_at, created_by, updated_at, updated_by`;

interface ScanRow {
  id: string;
  company: string;
  reference: string;
  channel: string;
  compare_result: string;
  compare_similarity: number;
  face1: Record<string, unknown> | string | null;
  face2: Record<string, unknown> | string | null;
  elapsed_time: number | null;
  created_at: Date;
  created_by: string | null;
  updated_at: Date | null;
  updated_by: string | null;
}

const json = (v: Record<string, unknown> | string | null) => (typeof v === 'string' ? (JSON.parse(v) as Record<string, unknown>) : v);

const toScan = (r: ScanRow): Scan => ({
  id: r.id,
  company: r.company,
  reference: r.reference,
  channel: r.channel,
  compareResult: r.compare_result,
  compareSimilarity: Number(r.compare_similarity),
  face1: json(r.face1),
  face2: json(r.face2),
  elapsedTime: r.elapsed_time === null ? null : Number(r.elapsed_time),
  createdAt: r.created_at,
  createdBy: r.created_by,
  updatedAt: r.updated_at,
  updatedBy: r.updated_by,
});

/** Stores a scan and, when given, its photos (run it in a transaction when there are photos). */
export async function insertScan(q: Queryable, s: NewScan, photos: readonly ScanPhoto[] = []): Promise<Scan> {
  const r = await q.query<ScanRow>(
    `INSERT INTO scans (id, company, reference, channel, compare_result, compare_similarity, face1, face2, elapsed_time, created_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING ${COLUMNS}`,
    [
      s.id,
      s.company,
      s.reference,
      s.channel,
      s.compareResult,
      s.compareSimilarity,
      s.face1 && JSON.stringify(s.face1),
      s.face2 && JSON.stringify(s.face2),
      s.elapsedTime,
      s.createdBy,
    ],
  );
  for (const p of photos) {
    await q.query(`INSERT INTO scan_photos (scan_id, file, mime_type, bytes) VALUES ($1, $2, $3, $4)`, [s.id, p.file, p.mimeType, p.bytes]);
  }
  return toScan(r.rows[0]);
}

export async function getScan(q: Queryable, company: string, id: string): Promise<Scan | undefined> {
  const r = await q.query<ScanRow>(`SELECT ${COLUMNS} FROM scans WHERE id = $1 AND company = $2`, [id, company]);
  return r.rows[0] && toScan(r.rows[0]);
}

/** Applies the changes and the audit fields; undefined when the company has no such scan. */
export async function updateScan(q: Queryable, company: string, id: string, changes: ScanChanges, updatedBy: string | null): Promise<Scan | undefined> {
  const r = await q.query<ScanRow>(
    `UPDATE scans
        SET compare_result = coalesce($3, compare_result),
            compare_similarity = coalesce($4, compare_similarity),
            channel = coalesce($5, channel),
            updated_at = now(),
            updated_by = $6
      WHERE id = $1 AND company = $2
      RETURNING ${COLUMNS}`,
    [id, company, changes.compareResult ?? null, changes.compareSimilarity ?? null, changes.channel ?? null, updatedBy],
  );
  return r.rows[0] && toScan(r.rows[0]);
}

/** One page of the company's scans and how many there are in all. */
export async function listScans(q: Queryable, company: string, o: ScanListOptions): Promise<{ scans: Scan[]; total: number }> {
  const where = o.reference === undefined ? 'company = $1' : 'company = $1 AND reference = $2';
  const args: unknown[] = o.reference === undefined ? [company] : [company, o.reference];
  const order = o.sort.map((s) => `${SORT_SQL[s.column]} ${s.descending ? 'DESC' : 'ASC'}`);
  for (const tie of ['created_at', 'id'] as const) if (!o.sort.some((s) => s.column === tie)) order.push(`${tie} DESC`);
  const count = await q.query<{ n: number }>(`SELECT count(*)::int AS n FROM scans WHERE ${where}`, args);
  const rows = await q.query<ScanRow>(
    `SELECT ${COLUMNS} FROM scans WHERE ${where} ORDER BY ${order.join(', ')} LIMIT $${args.length + 1} OFFSET $${args.length + 2}`,
    [...args, o.limit, o.offset],
  );
  return { scans: rows.rows.map(toScan), total: count.rows[0].n };
}

// Whitelisted column names (never the caller's text) for ORDER BY.
const SORT_SQL: Record<ScanSortColumn, string> = Object.fromEntries(SCAN_SORT_COLUMNS.map((c) => [c, c])) as Record<ScanSortColumn, string>;

export async function getScanPhoto(q: Queryable, company: string, id: string, file: 1 | 2): Promise<ScanPhoto | undefined> {
  const r = await q.query<{ mime_type: string | null; bytes: Buffer }>(
    `SELECT p.mime_type, p.bytes FROM scan_photos p JOIN scans s ON s.id = p.scan_id WHERE s.id = $1 AND s.company = $2 AND p.file = $3`,
    [id, company, file],
  );
  return r.rows[0] && { file, mimeType: r.rows[0].mime_type, bytes: r.rows[0].bytes };
}

/** Deletes scans (and so their photos) created more than `days` days ago (0: none); returns how many. */
export async function deleteScansOlderThan(q: Queryable, days: number): Promise<number> {
  if (days <= 0) return 0;
  const r = await q.query(`DELETE FROM scans WHERE created_at < now() - make_interval(days => $1)`, [days]);
  return r.rowCount;
}
