// Maps analysed faces to CompreFace's JSON: box, the face plugins' outputs in CompreFace's shapes (age, gender,
// mask, landmarks, calculator, pose) plus ours under their own slugs (emotion, liveness, quality, eyes, mouth),
// and, with status=true, execution_time per face and plugins_versions.
import type { AnalyzedFace, AttributeName, ImageAnalysis } from '../../domain/types';

/** CompreFace plugin slug -> the engine attribute it needs (landmarks and calculator need none). */
const PLUGIN_ATTRIBUTE: Record<string, AttributeName | null> = {
  age: 'age',
  gender: 'gender',
  mask: 'mask',
  pose: 'pose',
  landmarks: null,
  calculator: null,
  emotion: 'emotion',
  liveness: 'liveness',
  quality: 'quality',
  eyes: 'eyes',
  mouth: 'mouth',
};

export const PLUGIN_VERSIONS: Record<string, string> = {
  detector: 'faceserver.RfbDetector',
  calculator: 'faceserver.MobileFaceNetCalculator',
  landmarks: 'faceserver.Landmarks68',
  age: 'faceserver.SsrNetAgeEstimator',
  gender: 'faceserver.SsrNetGenderEstimator',
  mask: 'faceserver.MaskClassifier',
  pose: 'faceserver.HopeNetPoseEstimator',
  emotion: 'faceserver.EmotionEstimator',
  liveness: 'faceserver.MiniFasNetLiveness',
  quality: 'faceserver.QualityAssessment',
  eyes: 'faceserver.EyeStateEstimator',
  mouth: 'faceserver.MouthOpening',
};

/** The plugins of a request that we know, in request order, without repeats. */
export function knownPlugins(slugs: string[]): string[] {
  return [...new Set(slugs.filter((s) => s in PLUGIN_ATTRIBUTE))];
}

export function pluginAttributes(plugins: string[]): AttributeName[] {
  return [...new Set(plugins.map((p) => PLUGIN_ATTRIBUTE[p]).filter((a): a is AttributeName => a !== null && a !== undefined))];
}

const round = (x: number, digits: number) => Number(x.toFixed(digits));
export const round5 = (x: number) => round(x, 5);

export function boxJson(face: AnalyzedFace, image: { width: number; height: number }) {
  const x0 = Math.max(0, Math.round(face.box.x));
  const y0 = Math.max(0, Math.round(face.box.y));
  return {
    probability: round5(face.score),
    x_max: Math.min(image.width, Math.round(face.box.x + face.box.width)),
    y_max: Math.min(image.height, Math.round(face.box.y + face.box.height)),
    x_min: x0,
    y_min: y0,
  };
}

/** The plugins' outputs for one face, keyed by slug. */
export function pluginsJson(face: AnalyzedFace, plugins: string[]): Record<string, unknown> {
  const a = face.attributes;
  const out: Record<string, unknown> = {};
  for (const p of plugins) {
    switch (p) {
      case 'age':
        if (a.age) out.age = { ...(a.age.probability !== undefined ? { probability: a.age.probability } : {}), high: a.age.high, low: a.age.low };
        break;
      case 'gender':
        if (a.gender) out.gender = { probability: a.gender.probability, value: a.gender.value };
        break;
      case 'mask':
        if (a.mask) {
          out.mask = a.mask.masked
            ? { probability: a.mask.probability, value: 'with_mask' }
            : { probability: 1 - a.mask.probability, value: 'without_mask' };
        }
        break;
      case 'pose':
        if (a.pose) out.pose = { pitch: a.pose.pitch, roll: a.pose.roll, yaw: a.pose.yaw };
        break;
      case 'landmarks':
        out.landmarks = face.landmarks5.map(([x, y]) => [Math.round(x), Math.round(y)]);
        break;
      case 'calculator':
        out.embedding = Array.from(face.embedding);
        break;
      case 'emotion':
        if (a.emotion) out.emotion = { value: a.emotion.top, probability: a.emotion.probabilities[a.emotion.top], probabilities: a.emotion.probabilities };
        break;
      case 'liveness':
        if (a.liveness) out.liveness = { value: a.liveness.real ? 'real' : 'fake', probability: a.liveness.score };
        break;
      case 'quality':
        if (a.quality) out.quality = a.quality;
        break;
      case 'eyes':
        if (a.eyes) out.eyes = a.eyes;
        break;
      case 'mouth':
        if (a.mouth) out.mouth = a.mouth;
        break;
    }
  }
  return out;
}

/**
 * Per-face execution_time: the engine times stages for the whole image, so each face reports the image's stage
 * times (as CompreFace does for the detector). detector = decode + detect; calculator = landmarks, alignment
 * and embedding; each attribute under its plugin's slug.
 */
export function executionTimeJson(analysis: ImageAnalysis, plugins: string[], extra: Record<string, number> = {}): Record<string, number> {
  const t = analysis.timings;
  const sum = (...stages: string[]) => stages.reduce((s, k) => s + (t[k] ?? 0), 0);
  const out: Record<string, number> = {
    detector: round(sum('decode', 'detect'), 1),
    calculator: round(sum('landmarks', 'align', 'template', 'embed'), 1),
  };
  for (const p of plugins) {
    const attr = PLUGIN_ATTRIBUTE[p];
    if (attr) out[p] = round(t[attr] ?? 0, 1);
  }
  for (const [k, v] of Object.entries(extra)) out[k] = round(v, 1);
  return out;
}

export function pluginsVersionsJson(plugins: string[]): Record<string, string> {
  const out: Record<string, string> = { detector: PLUGIN_VERSIONS.detector, calculator: PLUGIN_VERSIONS.calculator };
  for (const p of plugins) if (PLUGIN_VERSIONS[p]) out[p] = PLUGIN_VERSIONS[p];
  return out;
}

/** One face as CompreFace shows it: plugins, box, then whatever the endpoint adds. */
export function faceJson(face: AnalyzedFace, analysis: ImageAnalysis, plugins: string[], status: boolean, add: Record<string, unknown> = {}) {
  return {
    ...pluginsJson(face, plugins),
    box: boxJson(face, analysis),
    ...add,
    ...(status ? { execution_time: executionTimeJson(analysis, plugins) } : {}),
  };
}
