// Recognition (1:N): each face of a probe image, or each given embedding, against a collection's enrolled
// faces; results are subjects ranked by their best face's similarity. Every call records its events.
import type { DetectionService, DetectOptions } from './detection';
import { EventRecorder, MATCH_SIMILARITY, type CallContext } from './events';
import type { FaceSearcher } from './face-search';
import { similarityFromCosine } from './similarity';
import type { AnalyzedFace, ImageAnalysis, SubjectMatch } from './types';

/** -1 asks for every subject. */
export type PredictionCount = number;

export interface RecognizedFace {
  face: AnalyzedFace;
  matches: SubjectMatch[];
}

export interface ImageRecognition {
  analysis: ImageAnalysis;
  faces: RecognizedFace[];
  /** Milliseconds spent searching the collection (all faces). */
  searchMs: number;
}

const ALL_SUBJECTS_K = 10_000;

export class RecognitionService {
  constructor(
    private readonly detection: DetectionService,
    private readonly searcher: FaceSearcher,
    private readonly events: EventRecorder,
  ) {}

  async recognizeImage(
    collectionId: number,
    image: Buffer,
    opts: Omit<DetectOptions, 'embeddings'> & { predictionCount: PredictionCount },
    ctx: CallContext,
  ): Promise<ImageRecognition> {
    const analysis = await this.detection.detect(image, { ...opts, embeddings: true });
    const started = performance.now();
    const matches = await Promise.all(analysis.faces.map((f) => this.bestSubjects(collectionId, f.embedding, opts.predictionCount)));
    const searchMs = performance.now() - started;
    const faces = analysis.faces.map((face, i) => ({ face, matches: matches[i] }));
    await this.events.record(
      ctx,
      faces.map(({ face, matches: m }) => ({
        collectionId,
        box: face.box,
        embedding: face.embedding,
        faceId: m[0]?.faceId,
        personId: m[0]?.personId,
        similarity: m[0]?.similarity,
        verdict: m[0] && m[0].similarity >= MATCH_SIMILARITY ? 'match' : 'no_match',
      })),
    );
    return { analysis, faces, searchMs };
  }

  async recognizeEmbeddings(
    collectionId: number,
    embeddings: Float32Array[],
    predictionCount: PredictionCount,
    ctx: CallContext,
  ): Promise<SubjectMatch[][]> {
    const results = await Promise.all(embeddings.map((e) => this.bestSubjects(collectionId, e, predictionCount)));
    await this.events.record(
      ctx,
      results.map((m, i) => ({
        collectionId,
        embedding: embeddings[i],
        faceId: m[0]?.faceId,
        personId: m[0]?.personId,
        similarity: m[0]?.similarity,
        verdict: m[0] && m[0].similarity >= MATCH_SIMILARITY ? 'match' : 'no_match',
      })),
    );
    return results;
  }

  /** The most similar subjects, each scored by its best face. */
  private async bestSubjects(collectionId: number, embedding: Float32Array, predictionCount: PredictionCount): Promise<SubjectMatch[]> {
    // The nearest face's subject is the best subject, so one hit answers the usual prediction_count=1. For more
    // subjects look further, since several nearest faces may belong to one subject.
    const k = predictionCount < 0 ? ALL_SUBJECTS_K : predictionCount === 1 ? 1 : Math.min(ALL_SUBJECTS_K, Math.max(predictionCount * 10, 50));
    // Hits carry their face's person and names come from the searcher's cache: no query per request.
    const hits = await this.searcher.search(collectionId, embedding, k);
    const best = new Map<number, { faceId: number; similarity: number }>();
    for (const hit of hits) {
      if (hit.personId === null) continue;
      const similarity = similarityFromCosine(hit.cosine);
      const seen = best.get(hit.personId);
      if (!seen || similarity > seen.similarity) best.set(hit.personId, { faceId: hit.faceId, similarity });
    }
    const ranked = [...best.entries()].sort((a, b) => b[1].similarity - a[1].similarity);
    const top = predictionCount < 0 ? ranked : ranked.slice(0, predictionCount);
    const names = top.length ? await this.searcher.personNames(top.map(([personId]) => personId)) : new Map<number, string>();
    // A person deleted since the index last heard is left out, as its faces are about to be.
    return top
      .filter(([personId]) => names.has(personId))
      .map(([personId, m]) => ({ personId, subject: names.get(personId)!, faceId: m.faceId, similarity: m.similarity }));
  }
}
