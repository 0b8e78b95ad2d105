// Verification (1:1): probe faces against one stored example, a source image's face against a target image's
// faces, or embeddings against embeddings. Similarities are on CompreFace's scale; every call records events.
import { dominantFace, type DetectionService, type DetectOptions } from './detection';
import { EventRecorder, MATCH_SIMILARITY, type CallContext } from './events';
import type { ExampleService } from './examples';
import { cosine, similarityFromCosine } from './similarity';
import type { AnalyzedFace, ImageAnalysis } from './types';

export interface ComparedFace {
  face: AnalyzedFace;
  similarity: number;
}

export interface ImagePairVerification {
  source: { analysis: ImageAnalysis; face: AnalyzedFace };
  target: { analysis: ImageAnalysis; faces: ComparedFace[] };
}

const verdict = (similarity: number) => (similarity >= MATCH_SIMILARITY ? 'match' : 'no_match');

export class VerificationService {
  constructor(
    private readonly detection: DetectionService,
    private readonly examples: ExampleService,
    private readonly events: EventRecorder,
  ) {}

  /** Each face of the image against one stored example of the collection. */
  async verifyImageAgainstExample(
    collectionId: number,
    exampleId: string,
    image: Buffer,
    opts: Omit<DetectOptions, 'embeddings'>,
    ctx: CallContext,
  ): Promise<{ analysis: ImageAnalysis; faces: ComparedFace[] }> {
    const stored = await this.examples.embedding(collectionId, exampleId);
    const analysis = await this.detection.detect(image, { ...opts, embeddings: true });
    const faces = analysis.faces.map((face) => ({ face, similarity: similarityFromCosine(cosine(face.embedding, stored.embedding)) }));
    await this.events.record(
      ctx,
      faces.map((f) => ({
        collectionId,
        box: f.face.box,
        embedding: f.face.embedding,
        faceId: stored.faceId,
        personId: stored.personId,
        similarity: f.similarity,
        verdict: verdict(f.similarity),
      })),
    );
    return { analysis, faces };
  }

  /** The source image's single face against every face of the target image. */
  async verifyImages(source: Buffer, target: Buffer, opts: Omit<DetectOptions, 'embeddings'>, ctx: CallContext): Promise<ImagePairVerification> {
    // The source must show one face: the three biggest detections are enough to tell.
    const sourceAnalysis = await this.detection.detect(source, { ...opts, limit: 3, embeddings: true });
    const sourceFace = dominantFace(sourceAnalysis, 'the source image');
    const targetAnalysis = await this.detection.detect(target, { ...opts, embeddings: true });
    const faces = targetAnalysis.faces.map((face) => ({ face, similarity: similarityFromCosine(cosine(face.embedding, sourceFace.embedding)) }));
    await this.events.record(
      ctx,
      faces.map((f) => ({ box: f.face.box, embedding: f.face.embedding, similarity: f.similarity, verdict: verdict(f.similarity) })),
    );
    return { source: { analysis: sourceAnalysis, face: sourceFace }, target: { analysis: targetAnalysis, faces } };
  }

  /** Given embeddings against one stored example. */
  async verifyEmbeddingsAgainstExample(collectionId: number, exampleId: string, embeddings: Float32Array[], ctx: CallContext): Promise<number[]> {
    const stored = await this.examples.embedding(collectionId, exampleId);
    const similarities = embeddings.map((e) => similarityFromCosine(cosine(e, stored.embedding)));
    await this.events.record(
      ctx,
      similarities.map((s, i) => ({
        collectionId,
        embedding: embeddings[i],
        faceId: stored.faceId,
        personId: stored.personId,
        similarity: s,
        verdict: verdict(s),
      })),
    );
    return similarities;
  }

  /** A source embedding against target embeddings. */
  async verifyEmbeddings(source: Float32Array, targets: Float32Array[], ctx: CallContext): Promise<number[]> {
    const similarities = targets.map((t) => similarityFromCosine(cosine(source, t)));
    await this.events.record(
      ctx,
      similarities.map((s, i) => ({ embedding: targets[i], similarity: s, verdict: verdict(s) })),
    );
    return similarities;
  }
}
