// Identification (1:N): probes against the faces of the collections a caller names, ranked by cosine, each
// match with its calibrated false-accept rate and its person's name; by face, or by person (each person scored
// by its best face). Every call over images or embeddings records one event per probe.
import { analysisOptions, selectFaces, type AnalysisService, type DetectOptions, type FaceSelection } from './analysis';
import type { ScoreCalibration } from './calibration';
import type { CallContext, EventRecorder } from './events';
import type { FaceSearcher } from './face-search';
import type { AnalyzedFace, Box, FaceHit, ImageAnalysis, Match } from './types';

/** Most matches one search returns. */
export const MAX_MATCHES = 10_000;

export interface IdentifyOptions {
  /** The collections to search (the caller's scope, or the part of it a request names). */
  collectionIds: readonly number[];
  /** Matches per probe; -1: all. */
  limit: number;
  /** person: one match per person (its best face; faces without a person are left out); face: every face. */
  by: 'person' | 'face';
  /** Only matches with at least this cosine. */
  minCosine?: number;
  /** The event verdict: 'match' when the best match reaches this cosine. */
  matchCosine: number;
}

export interface Probe {
  embedding: Float32Array;
  box?: Box | null;
  /** The image the face was found in (for the event's thumbnail). */
  image?: Buffer | null;
  /** The face's crop from the engine (the event's thumbnail, instead of cutting one from the image). */
  crop?: Buffer | null;
}

export interface IdentifiedFace {
  face: AnalyzedFace;
  matches: Match[];
}

export interface ImageIdentification {
  analysis: ImageAnalysis;
  faces: IdentifiedFace[];
  /** Milliseconds spent searching (all faces). */
  searchMs: number;
}

export class IdentificationService {
  constructor(
    private readonly analysis: AnalysisService,
    private readonly searcher: FaceSearcher,
    private readonly calibration: ScoreCalibration,
    private readonly events: EventRecorder,
  ) {}

  /** The faces of an image (chosen by `select`, default all) identified; NO_FACE when it has none. */
  async identifyImage(image: Buffer, detect: Omit<DetectOptions, 'embeddings'>, opts: IdentifyOptions & { select?: FaceSelection }, ctx: CallContext): Promise<ImageIdentification> {
    const analysis = await this.analysis.detect(image, analysisOptions(detect, opts.select));
    const chosen = selectFaces(analysis, opts.select ?? 'all');
    const started = performance.now();
    const matches = await this.identify(chosen.map((f) => ({ embedding: f.embedding, box: f.box, image, crop: f.crop })), opts, ctx);
    return { analysis, faces: chosen.map((face, i) => ({ face, matches: matches[i] })), searchMs: performance.now() - started };
  }

  /** Each probe's matches, best first; records one event per probe. */
  async identify(probes: Probe[], opts: IdentifyOptions, ctx: CallContext): Promise<Match[][]> {
    const results = await Promise.all(probes.map((p) => this.search(p.embedding, opts)));
    await this.events.record(
      ctx,
      results.map((matches, i) => {
        const best = matches[0];
        return {
          collectionId: opts.collectionIds.length === 1 ? opts.collectionIds[0] : null,
          box: probes[i].box ?? null,
          image: probes[i].image,
          crop: probes[i].crop,
          embedding: probes[i].embedding,
          faceId: best?.faceId,
          personId: best?.personId,
          cosine: best?.cosine,
          far: best?.far,
          verdict: best && best.cosine >= opts.matchCosine ? 'match' : 'no_match',
        };
      }),
    );
    return results;
  }

  /** How many faces a search of the collection compares, when the searcher knows without a query. */
  comparedCount(collectionId: number): number | undefined {
    return this.searcher.comparedCount?.(collectionId);
  }

  /** One probe's matches, best first, without recording an event. */
  async search(probe: Float32Array, opts: Omit<IdentifyOptions, 'matchCosine'>): Promise<Match[]> {
    const limit = opts.limit < 0 ? MAX_MATCHES : Math.min(opts.limit, MAX_MATCHES);
    if (limit === 0 || !opts.collectionIds.length) return [];
    // By person, look further than `limit`: several nearest faces may belong to one person. The nearest face's
    // person is the best person, so one hit answers the usual limit of 1.
    const k = opts.by === 'face' || limit === 1 ? limit : Math.min(MAX_MATCHES, Math.max(limit * 10, 50));
    const perCollection = await Promise.all(opts.collectionIds.map((c) => this.searcher.search(c, probe, { k, threshold: opts.minCosine })));
    const hits = bestPerKey(perCollection.flat(), opts.by === 'person' ? (h) => h.personId : (h) => h.faceId).slice(0, limit);
    const personIds = hits.map((h) => h.personId).filter((id): id is number => id !== null);
    const names = personIds.length ? await this.searcher.personNames(personIds) : new Map<number, string>();
    const matches: Match[] = [];
    for (const h of hits) {
      const personName = h.personId === null ? null : (names.get(h.personId) ?? undefined);
      if (personName === undefined) continue; // a person deleted since the index last heard: its faces are going too
      matches.push({ ...h, personName, far: this.calibration.far(h.cosine) });
    }
    return matches;
  }
}

/** Hits with a key (face, or person), the best per key, best first; hits whose key is null are left out. */
function bestPerKey(hits: FaceHit[], key: (h: FaceHit) => number | null): FaceHit[] {
  const best = new Map<number, FaceHit>();
  for (const h of hits) {
    const k = key(h);
    if (k === null) continue;
    const seen = best.get(k);
    if (!seen || h.cosine > seen.cosine) best.set(k, h);
  }
  return [...best.values()].sort((a, b) => b.cosine - a.cosine || a.faceId - b.faceId);
}
