// The change notifications that migrations/0002 sends at commit (channel faceserver_faces). They only say
// what to re-read; the template always comes from the database.
export const FACE_CHANGES_CHANNEL = 'faceserver_faces';

export interface FaceChange {
  collectionId: number;
  /** Absent for whole-collection changes (reload, drop). */
  faceId?: number;
  op: 'add' | 'remove' | 'update' | 'reload' | 'drop';
  /** The collection's change version after the change (absent for drop). */
  version?: number;
}

const OPS = new Set(['add', 'remove', 'update', 'reload', 'drop']);

const isId = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/** Parses a payload; undefined when it is not one of ours. */
export function parseFaceChange(payload: string): FaceChange | undefined {
  let raw: { c?: unknown; f?: unknown; op?: unknown; v?: unknown };
  try {
    raw = JSON.parse(payload);
  } catch {
    return undefined;
  }
  if (!raw || typeof raw !== 'object' || !isId(raw.c) || typeof raw.op !== 'string' || !OPS.has(raw.op)) return undefined;
  if (raw.f !== undefined && !isId(raw.f)) return undefined;
  if (raw.v !== undefined && !isId(raw.v)) return undefined;
  if ((raw.op === 'add' || raw.op === 'remove' || raw.op === 'update') && raw.f === undefined) return undefined;
  return { collectionId: raw.c, faceId: raw.f as number | undefined, op: raw.op as FaceChange['op'], version: raw.v as number | undefined };
}
