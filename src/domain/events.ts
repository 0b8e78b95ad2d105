// Every identify, verify and compare call leaves one recognition event per probe face, so history is reportable
// in SQL whichever dialect served the call. The recorder turns a call's outcomes into event rows and hands them
// to the store's writer (src/store/event-writer.ts), which writes them behind the response.
import type { NewRecognitionEvent } from '../store/events';
import { EMBEDDING_DIM, type Box } from './types';

/** Who asked: recorded with each event. */
export interface CallContext {
  dialect: string;
  endpoint: string;
  requestId?: string;
  cameraId?: number | null;
}

export interface ProbeOutcome {
  collectionId?: number | null;
  box?: Box | null;
  embedding?: Float32Array | null;
  /** The best match, if any. */
  faceId?: number | null;
  personId?: number | null;
  cosine?: number | null;
  far?: number | null;
  verdict: 'match' | 'no_match';
  /** The image the probe face was found in: the event's thumbnail is cut from it (never stored itself). */
  image?: Buffer | null;
  /** The probe face's crop from the engine: the event's thumbnail as it is (no image needed then). */
  crop?: Buffer | null;
  /** What the dialect adds (e.g. a watch-list verdict); never photos or embeddings. */
  attributes?: Record<string, unknown>;
}

/** Where event rows go (the store's EventWriter). */
export interface EventSink {
  write(events: NewRecognitionEvent[]): Promise<void>;
  flush(): Promise<void>;
}

export class EventRecorder {
  constructor(private readonly sink: EventSink) {}

  record(ctx: CallContext, outcomes: ProbeOutcome[]): Promise<void> {
    const occurredAt = new Date();
    return this.sink.write(
      outcomes.map((o) => ({
        occurredAt,
        cameraId: ctx.cameraId ?? null,
        collectionId: o.collectionId ?? null,
        faceId: o.faceId ?? null,
        personId: o.personId ?? null,
        similarity: o.cosine ?? null,
        far: o.far ?? null,
        verdict: o.verdict,
        box: o.box ?? null,
        embedding: o.embedding && o.embedding.length === EMBEDDING_DIM ? o.embedding : null,
        dialect: ctx.dialect,
        endpoint: ctx.endpoint,
        requestId: ctx.requestId ?? null,
        attributes: o.attributes,
        ...(o.crop ? { thumbnail: o.crop, probeImage: null } : { probeImage: o.image && o.box ? o.image : null }),
      })),
    );
  }

  /** Resolves once every event recorded before the call is in the database. */
  flush(): Promise<void> {
    return this.sink.flush();
  }
}
