// Detection: faces of an image with the attributes asked for. Shared by recognize and verify, which need the
// embeddings too.
import { DomainError } from './errors';
import type { FaceAnalyzer } from './face-analyzer';
import type { AnalyzedFace, AttributeName, ImageAnalysis } from './types';

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

/**
 * A second face at least this fraction of the biggest face's area makes "the" face of a photo ambiguous.
 * Smaller ones are bystanders (LFW portraits often show part of another face in the background).
 */
export const AMBIGUOUS_FACE_AREA_RATIO = 0.5;

/**
 * The one face a photo is about (enrolment, the source of a verification): the biggest, unless another face
 * is nearly as big (TOO_MANY_FACES). `faces` is biggest first.
 */
export function dominantFace(analysis: ImageAnalysis, what = 'the given image'): AnalyzedFace {
  const [first, second] = analysis.faces;
  if (!first) throw new DomainError('NO_FACE', 'No face is found in the given image');
  const area = (f: AnalyzedFace) => f.box.width * f.box.height;
  if (second && area(second) >= AMBIGUOUS_FACE_AREA_RATIO * area(first)) {
    throw new DomainError('TOO_MANY_FACES', `More than one face in ${what}`);
  }
  return first;
}
