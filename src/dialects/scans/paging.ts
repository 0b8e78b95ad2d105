// Spring Data paging as the scan API's list endpoint takes and answers it: `page` (from 0), `size` (default 20,
// at most 2000: Spring's own limits) and `sort=property[,property...][,asc|desc]` (repeatable) in the query;
// a Page object (content, pageable, totalElements, totalPages, number, size, sort, first, last,
// numberOfElements, empty) out. Unlike Spring, bad values are refused (400) rather than silently replaced.
import type Koa from 'koa';
import { invalidParam, params } from '../../http/params';
import type { ScanListOptions, ScanSortColumn } from '../../store/scans';

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 2000;

/** Sortable properties: the entity's names, and the compare answer's where they differ. */
export const SORT_PROPERTIES: Readonly<Record<string, ScanSortColumn>> = {
  createdDate: 'created_at',
  created: 'created_at',
  updatedDate: 'updated_at',
  compareSimilarity: 'compare_similarity',
  compare_similarity: 'compare_similarity',
  compareResult: 'compare_result',
  compare_result: 'compare_result',
  salesChannel: 'channel',
  channel: 'channel',
  reference: 'reference',
  elapsedTime: 'elapsed_time',
  id: 'id',
};

export interface PageRequest {
  page: number;
  size: number;
  sort: ScanListOptions['sort'];
  /** As given, for the answer's sort description. */
  sortGiven: boolean;
}

/** Reads page, size and sort from the query string. */
export function pageRequest(ctx: Koa.Context): PageRequest {
  const p = params(ctx, ['query']);
  const page = p.int('page', { min: 0, max: 1_000_000_000 }) ?? 0;
  const size = p.int('size', { min: 1, max: MAX_PAGE_SIZE }) ?? DEFAULT_PAGE_SIZE;
  const sort: { column: ScanSortColumn; descending: boolean }[] = [];
  for (const raw of p.find('sort')?.values ?? []) {
    if (typeof raw !== 'string') continue;
    const parts = raw
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    if (!parts.length) continue;
    const last = parts[parts.length - 1].toLowerCase();
    const direction = last === 'asc' || last === 'desc' ? (parts.pop(), last) : 'asc';
    if (!parts.length) throw invalidParam('sort', 'property[,asc|desc]', raw, `sort "${raw}" names no property`);
    for (const property of parts) {
      const column = Object.hasOwn(SORT_PROPERTIES, property) ? SORT_PROPERTIES[property] : undefined;
      if (!column) {
        throw invalidParam('sort', `one of ${Object.keys(SORT_PROPERTIES).join(', ')}`, property, `No property '${property}' found for type 'FaceRecognitionScan'`);
      }
      if (!sort.some((s) => s.column === column)) sort.push({ column, descending: direction === 'desc' });
    }
  }
  return { page, size, sort, sortGiven: sort.length > 0 };
}

/** Spring Data's Page as Jackson writes it. */
export function pageJson<T>(content: T[], req: PageRequest, total: number): Record<string, unknown> {
  const sort = { empty: !req.sortGiven, sorted: req.sortGiven, unsorted: !req.sortGiven };
  const totalPages = Math.ceil(total / req.size);
  return {
    content,
    pageable: { pageNumber: req.page, pageSize: req.size, sort, offset: req.page * req.size, paged: true, unpaged: false },
    last: req.page >= totalPages - 1,
    totalElements: total,
    totalPages,
    size: req.size,
    number: req.page,
    sort,
    first: req.page === 0,
    numberOfElements: content.length,
    empty: content.length === 0,
  };
}
