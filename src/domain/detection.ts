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
 * A second face at least this fraction of the biggest face's area is a rival for "the" face of a photo;
 * smaller ones are bystanders (LFW portraits often show part of another face in the background).
 */
export const RIVAL_FACE_AREA_RATIO = 0.5;

/**
 * The one face a photo is about (enrolment, the source of a verification): the biggest face, provided it is
 * clearly the most central too, i.e. every rival (a face at least RIVAL_FACE_AREA_RATIO of its area) is at
 * least twice as far from the image centre. Otherwise the photo is ambiguous (two people side by side):
 * TOO_MANY_FACES, as CompreFace answers. `faces` is biggest first.
 */
export function dominantFace(analysis: ImageAnalysis, what = 'the given image'): AnalyzedFace {
  const [first, ...others] = analysis.faces;
  if (!first) throw new DomainError('NO_FACE', 'No face is found in the given image');
  const area = (f: AnalyzedFace) => f.box.width * f.box.height;
  const offCentre = (f: AnalyzedFace) =>
    Math.hypot(f.box.x + f.box.width / 2 - analysis.width / 2, f.box.y + f.box.height / 2 - analysis.height / 2);
  const rivals = others.filter((f) => area(f) >= RIVAL_FACE_AREA_RATIO * area(first));
  if (rivals.some((f) => offCentre(f) < 2 * offCentre(first))) throw new DomainError('TOO_MANY_FACES', `More than one face in ${what}`);
  return first;
}
