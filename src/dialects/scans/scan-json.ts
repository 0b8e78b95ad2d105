// A stored scan as the API shows it, in both of the forms its clients know: the compare call's answer
// (snake_case: id, created, channel, reference, compare_result, compare_similarity, face1, face2) and the
// Spring entity of the update model (camelCase: companyId, createdDate, updatedDate, createdById, updatedById,
// elapsedTime, compareResult, compareSimilarity, salesChannel). Both show the same values, so a client written
// against either form reads every answer (create, read, update, list) alike.
import type { Scan } from '../../store/scans';

export const CHANNELS = ['WEB', 'MOBILE', 'OTHER'] as const;
export type Channel = (typeof CHANNELS)[number];

export const COMPARE_RESULTS = ['Same person', 'Different person', 'No face1', 'No face2', 'Failed to open file1', 'Failed to open file2'] as const;
export type CompareResult = (typeof COMPARE_RESULTS)[number];

/** Python's naive isoformat with microseconds, as the compare call shows `created` ("2024-05-01T12:12:06.090098"), in UTC. */
export function pythonTimestamp(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000');
}

export function scanJson(s: Scan): Record<string, unknown> {
  return {
    id: s.id,
    created: pythonTimestamp(s.createdAt),
    channel: s.channel,
    reference: s.reference,
    compare_result: s.compareResult,
    compare_similarity: s.compareSimilarity,
    face1: s.face1,
    face2: s.face2,
    companyId: s.company,
    createdDate: s.createdAt.toISOString(),
    updatedDate: s.updatedAt ? s.updatedAt.toISOString() : null,
    createdById: s.createdBy,
    updatedById: s.updatedBy,
    elapsedTime: s.elapsedTime,
    compareResult: s.compareResult,
    compareSimilarity: s.compareSimilarity,
    salesChannel: s.channel,
  };
}
