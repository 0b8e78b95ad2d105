// Analysis: the faces of an image with what was asked for (embeddings, attributes), its bodies, and the rules that pick the
// face or faces a request is about (the dominant face of an enrolment photo, the faces inside given boxes, the
// biggest, all, or exactly one).
import { imageMimeType } from '../engine/image-type';
import { DomainError } from './errors';
import type { FaceAnalyzer } from './face-analyzer';
import type { AnalyzedFace, AttributeName, BodyAnalysis, Box, DetectBodiesOptions, ImageAnalysis } from './types';

export interface DetectOptions {
  /** 0 or absent: every face, biggest first; n: the n biggest. */
  limit?: number;
  minScore?: number;
  attributes?: AttributeName[];
  /** Compute embeddings and templates (needed to identify, verify, enrol or return them). */
  embeddings: boolean;
  /** false: treat the whole image as one face crop. Default true. */
  detectFaces?: boolean;
}

/**
 * Which faces of an image a request is about:
 * dominant: the one face the photo is about, refusing ambiguous photos (see dominantFace);
 * biggest: the biggest face; all: every face; one: the only face, refusing photos with several.
 */
export type FaceSelection = 'dominant' | 'biggest' | 'all' | 'one';

export class AnalysisService {
  constructor(private readonly analyzer: FaceAnalyzer) {}

  /** The image's faces, biggest first (possibly none). */
  analyze(image: Buffer, opts: DetectOptions): Promise<ImageAnalysis> {
    return this.analyzer.analyze(image, {
      detectFaces: opts.detectFaces ?? true,
      minScore: opts.minScore,
      maxFaces: opts.limit ?? 0,
      template: opts.embeddings,
      attributes: opts.attributes ?? [],
    });
  }

  /** The upright people (bodies) in the image, with the oriented image's size (possibly none). */
  detectBodies(image: Buffer, opts: DetectBodiesOptions = {}): Promise<BodyAnalysis> {
    return this.analyzer.detectBodies(image, opts);
  }

  /**
   * An image's MIME type from its first bytes ("image/jpeg", "image/png", "image/gif", "image/bmp", "image/webp",
   * "image/tiff", "image/x-icon"; undefined otherwise): the same sniffer that picks the engine's decoder.
   */
  mimeType(image: Uint8Array): string | undefined {
    return imageMimeType(image);
  }

  /** The image's faces; NO_FACE when there are none. */
  async detect(image: Buffer, opts: DetectOptions): Promise<ImageAnalysis> {
    const analysis = await this.analyze(image, opts);
    if (analysis.faces.length === 0) throw new DomainError('NO_FACE', 'No face is found in the given image');
    return analysis;
  }
}

/** How many detections a selection needs to look at (the rest cannot change its answer). */
export function detectionLimit(selection: FaceSelection): number {
  return selection === 'all' ? 0 : selection === 'biggest' ? 1 : selection === 'one' ? 2 : 3;
}

/** Detection options for a request that needs the embeddings of the faces `select` picks (limits combined). */
export function analysisOptions(detect: Omit<DetectOptions, 'embeddings'>, select: FaceSelection = 'all'): DetectOptions {
  const a = detect.limit ?? 0;
  const b = detectionLimit(select);
  return { ...detect, embeddings: true, limit: a && b ? Math.min(a, b) : a || b };
}

/** The faces of `analysis` the selection picks; NO_FACE when there are none, TOO_MANY_FACES when refused. */
export function selectFaces(analysis: ImageAnalysis, selection: FaceSelection, what = 'the given image'): AnalyzedFace[] {
  if (!analysis.faces.length) throw new DomainError('NO_FACE', `No face is found in ${what}`);
  switch (selection) {
    case 'all':
      return analysis.faces;
    case 'biggest':
      return [analysis.faces[0]];
    case 'one':
      if (analysis.faces.length > 1) throw new DomainError('TOO_MANY_FACES', `More than one face in ${what}`, { faces: analysis.faces.length });
      return [analysis.faces[0]];
    case 'dominant':
      return [dominantFace(analysis, what)];
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
 * TOO_MANY_FACES. `faces` is biggest first.
 */
export function dominantFace(analysis: ImageAnalysis, what = 'the given image'): AnalyzedFace {
  const [first, ...others] = analysis.faces;
  if (!first) throw new DomainError('NO_FACE', `No face is found in ${what}`);
  const area = (f: AnalyzedFace) => f.box.width * f.box.height;
  const offCentre = (f: AnalyzedFace) =>
    Math.hypot(f.box.x + f.box.width / 2 - analysis.width / 2, f.box.y + f.box.height / 2 - analysis.height / 2);
  const rivals = others.filter((f) => area(f) >= RIVAL_FACE_AREA_RATIO * area(first));
  if (rivals.some((f) => offCentre(f) < 2 * offCentre(first))) {
    throw new DomainError('TOO_MANY_FACES', `More than one face in ${what}`, { faces: 1 + rivals.length });
  }
  return first;
}

/** Intersection over union of two boxes. */
export function boxOverlap(a: Box, b: Box): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / (a.width * a.height + b.width * b.height - inter);
}

/** A given box and a detected face overlapping it at least this much are the same face. */
export const SAME_FACE_OVERLAP = 0.3;

/**
 * The detected face in each given box (a caller's face boxes, e.g. from its own detector): the detection that
 * overlaps the box most. NO_FACE names the box that holds none.
 */
export function facesInBoxes(analysis: ImageAnalysis, boxes: readonly Box[]): AnalyzedFace[] {
  return boxes.map((box, i) => {
    let best: AnalyzedFace | undefined;
    let bestOverlap = SAME_FACE_OVERLAP;
    for (const f of analysis.faces) {
      const overlap = boxOverlap(box, f.box);
      if (overlap >= bestOverlap) [best, bestOverlap] = [f, overlap];
    }
    if (!best) throw new DomainError('NO_FACE', `No face is found in box ${i + 1}`, { box });
    return best;
  });
}
