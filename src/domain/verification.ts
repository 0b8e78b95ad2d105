// Verification (1:1): a probe face against a reference face, scored by cosine with its calibrated false-accept
// and false-reject rates. References are enrolled faces, other images' faces, or embeddings and templates a
// caller sends. Every comparison records one event.
import { analysisOptions, selectFaces, type AnalysisService, type DetectOptions, type FaceSelection } from './analysis';
import type { ScoreCalibration } from './calibration';
import type { CallContext, EventRecorder } from './events';
import type { Face, FaceService } from './faces';
import type { AnalyzedFace, Box, ImageAnalysis } from './types';

export interface Score {
  cosine: number;
  /** Share of different-person pairs scoring at least this cosine. */
  far: number;
  /** Share of same-person pairs scoring below this cosine. */
  frr: number;
}

export interface Comparison {
  probe: Float32Array;
  probeBox?: Box | null;
  /** The image the probe face was found in (for the event's thumbnail). */
  probeImage?: Buffer | null;
  /** The probe face's crop from the engine (the thumbnail itself). */
  probeCrop?: Buffer | null;
  reference: Float32Array;
  /** When the reference is an enrolled face: recorded with the event. */
  referenceFace?: { id: number; personId: number | null; collectionId?: number | null };
  /** Recorded with the event (what the dialect adds, e.g. the id of the record it keeps; never photos). */
  attributes?: Record<string, unknown>;
}

export interface CompareOptions {
  /** The event verdict: 'match' at or above this cosine. */
  matchCosine: number;
}

export interface ImagePairVerification {
  source: { analysis: ImageAnalysis; faces: AnalyzedFace[] };
  target: { analysis: ImageAnalysis; faces: AnalyzedFace[] };
  /** scores[i][j]: source face i against target face j. */
  scores: Score[][];
}

/** Cosine of two embeddings, each normalised here so callers may pass raw vectors. */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`embedding lengths differ: ${a.length} vs ${b.length}`);
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  if (na === 0 || nb === 0) return 0;
  return dot / Math.sqrt(na * nb);
}

export class VerificationService {
  constructor(
    private readonly analysis: AnalysisService,
    private readonly faces: FaceService,
    private readonly calibration: ScoreCalibration,
    private readonly events: EventRecorder,
  ) {}

  /** The score of a cosine on the calibrated scale (no event: for callers that already compared). */
  score(c: number): Score {
    return { cosine: c, far: this.calibration.far(c), frr: this.calibration.frr(c) };
  }

  /** Scores each comparison and records one event each. */
  async compare(comparisons: Comparison[], opts: CompareOptions, ctx: CallContext): Promise<Score[]> {
    const scores = comparisons.map((c) => this.score(cosine(c.probe, c.reference)));
    await this.events.record(
      ctx,
      comparisons.map((c, i) => ({
        collectionId: c.referenceFace?.collectionId ?? null,
        box: c.probeBox ?? null,
        image: c.probeImage,
        crop: c.probeCrop,
        embedding: c.probe,
        faceId: c.referenceFace?.id,
        personId: c.referenceFace?.personId,
        cosine: scores[i].cosine,
        far: scores[i].far,
        verdict: scores[i].cosine >= opts.matchCosine ? 'match' : 'no_match',
        attributes: c.attributes,
      })),
    );
    return scores;
  }

  /** Probes against one enrolled face (found by the caller within its scope: FaceService.get / getByUuid). */
  async compareWithFace(
    face: Face,
    scope: readonly number[],
    probes: { embedding: Float32Array; box?: Box | null; image?: Buffer | null; crop?: Buffer | null }[],
    opts: CompareOptions,
    ctx: CallContext,
  ): Promise<Score[]> {
    const embedding = await this.faces.embeddingOf(face);
    const referenceFace = { id: face.id, personId: face.personId, collectionId: face.collectionIds.find((c) => scope.includes(c)) ?? null };
    return this.compare(
      probes.map((p) => ({ probe: p.embedding, probeBox: p.box, probeImage: p.image, probeCrop: p.crop, reference: embedding, referenceFace })),
      opts,
      ctx,
    );
  }

  /**
   * The faces of two images compared pairwise (source faces chosen by `sourceSelect`, target faces by
   * `targetSelect`); each target face is a probe against each source face. NO_FACE / TOO_MANY_FACES name the image.
   */
  async compareImages(
    source: Buffer,
    target: Buffer,
    detect: Omit<DetectOptions, 'embeddings'>,
    opts: CompareOptions & { sourceSelect: FaceSelection; targetSelect: FaceSelection },
    ctx: CallContext,
  ): Promise<ImagePairVerification> {
    const sourceAnalysis = await this.analysis.analyze(source, analysisOptions(detect, opts.sourceSelect));
    const sourceFaces = selectFaces(sourceAnalysis, opts.sourceSelect, 'the source image');
    const targetAnalysis = await this.analysis.analyze(target, analysisOptions(detect, opts.targetSelect));
    const targetFaces = selectFaces(targetAnalysis, opts.targetSelect, 'the target image');
    const pairs = sourceFaces.flatMap((s) => targetFaces.map((t) => ({ probe: t.embedding, probeBox: t.box, probeImage: target, probeCrop: t.crop, reference: s.embedding })));
    const flat = await this.compare(pairs, opts, ctx);
    const scores = sourceFaces.map((_, i) => flat.slice(i * targetFaces.length, (i + 1) * targetFaces.length));
    return { source: { analysis: sourceAnalysis, faces: sourceFaces }, target: { analysis: targetAnalysis, faces: targetFaces }, scores };
  }
}
