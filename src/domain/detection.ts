// Detection: faces of an image with the attributes asked for. Shared by recognize and verify, which need the
// embeddings too.
import { DomainError } from './errors';
import type { FaceAnalyzer } from './face-analyzer';
import type { AttributeName, ImageAnalysis } from './types';

export interface DetectOptions {
  /** 0: every face, biggest first. */
  limit: number;
  minScore?: number;
  attributes: AttributeName[];
  /** Compute embeddings (needed to recognise, verify, or return them). */
  embeddings: boolean;
  /** false: treat the whole image as one face crop. */
  detectFaces: boolean;
}

export class DetectionService {
  constructor(private readonly analyzer: FaceAnalyzer) {}

  /** The image's faces; NO_FACE when there are none. */
  async detect(image: Buffer, opts: DetectOptions): Promise<ImageAnalysis> {
    const analysis = await this.analyzer.analyze(image, {
      detectFaces: opts.detectFaces,
      minScore: opts.minScore,
      maxFaces: opts.limit,
      template: opts.embeddings,
      attributes: opts.attributes,
    });
    if (analysis.faces.length === 0) throw new DomainError('NO_FACE', 'No face is found in the given image');
    return analysis;
  }
}
