// Every recognize and verify call leaves one recognition event per probe face, so history is reportable in SQL.
import type { Queryable } from '../store/db';
import { insertEvents, type NewRecognitionEvent } from '../store/events';
import type { Box } from './types';

/** Who asked: recorded with each event. */
export interface CallContext {
  dialect: string;
  endpoint: string;
  requestId?: string;
}

export interface ProbeOutcome {
  collectionId?: number | null;
  box?: Box | null;
  embedding?: Float32Array | null;
  /** The best match, if any. */
  faceId?: number | null;
  personId?: number | null;
  similarity?: number | null;
  verdict: 'match' | 'no_match';
}

export class EventRecorder {
  constructor(private readonly db: Queryable) {}

  async record(ctx: CallContext, outcomes: ProbeOutcome[]): Promise<void> {
    const events: NewRecognitionEvent[] = outcomes.map((o) => ({
      collectionId: o.collectionId ?? null,
      faceId: o.faceId ?? null,
      personId: o.personId ?? null,
      similarity: o.similarity ?? null,
      verdict: o.verdict,
      box: o.box ?? null,
      embedding: o.embedding && o.embedding.length === 512 ? o.embedding : null,
      dialect: ctx.dialect,
      endpoint: ctx.endpoint,
      requestId: ctx.requestId ?? null,
    }));
    await insertEvents(this.db, events);
  }
}

/** The similarity at and above which a comparison counts as the same person (the equal-error point). */
export const MATCH_SIMILARITY = 0.5;
