// Biometric templates as the Image API exchanges them: the engine's versioned binary template (its header names
// the model and pipeline: the domain's template codec, src/domain/embeddings.ts), v1 as "$template" (base64) with "template_size" (its
// bytes), v2 under "template" keyed by the extractor's name with {blob, format NDARRAY, dtype uint8, shape}.
// A template of another model or pipeline is refused (TEMPLATE_MISMATCH) with a message naming both; the
// template's own header decides, whatever v2 key it is sent under.
// Verification of two templates: distance = Euclidean distance of the unit embeddings; fa_r / fr_r = the
// calibrated false-accept / false-reject rates with that distance as the threshold; score = the calibration's
// logistic fit of P(same person) over the distance (0..1, higher = more alike, strictly monotone).
import { DomainError } from '../../domain/errors';
import type { ScoreCalibration } from '../../domain/calibration';
import { embeddingFromTemplate, serverTemplateOrigin, templateOrigin, type TemplateOrigin } from '../../domain/embeddings';
import { DECODE_FAILED, ImageApiError, invalid } from './errors';
import type { Json, SampleObject, Version } from './sample';

export const TEMPLATE_KEY_PREFIX = '_face_template_extractor_';

const keyOf = (o: TemplateOrigin) => `${TEMPLATE_KEY_PREFIX}${o.modelId.toString(16).padStart(8, '0')}_${o.pipelineVersion}`;

/** The v2 key of a template: the extractor, its model id and pipeline version, from the template's header. */
export function templateKey(template: Buffer): string {
  const origin = templateOrigin(template);
  if (!origin) throw new Error('template too short');
  return keyOf(origin);
}

let ownKey: string | undefined;
/** This server's v2 template key. */
export function serverTemplateKey(): string {
  ownKey ??= keyOf(serverTemplateOrigin());
  return ownKey;
}

export function templateFields(version: Version, template: Buffer): Record<string, Json> {
  const blob = template.toString('base64');
  if (version === 'v1') return { $template: blob, template_size: template.length };
  return { template: { [templateKey(template)]: { blob, format: 'NDARRAY', dtype: 'uint8', shape: [template.length] } } };
}

const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

function decodeBase64(text: string): Buffer {
  const clean = text.replace(/\s+/g, '');
  if (!clean.length || clean.length % 4 === 1 || !BASE64_RE.test(clean)) throw new ImageApiError(400, DECODE_FAILED);
  return Buffer.from(clean, 'base64');
}

/** True when the object carries a template in either version's form. */
export const hasTemplate = (o: SampleObject) => o.$template !== undefined || (o.template !== undefined && o.template !== null);

/** The unit embedding of an object's template (v1 or v2 form); `loc` names it in validation errors. */
export function readTemplate(o: SampleObject, loc: (string | number)[]): Float32Array {
  let blob: unknown;
  let key: string | undefined;
  if (o.$template !== undefined) {
    blob = o.$template;
    if (typeof blob !== 'string') throw invalid([...loc, '$template'], 'str type expected', 'type_error.str');
  } else {
    const t = o.template;
    if (!t || typeof t !== 'object' || Array.isArray(t)) throw invalid([...loc, 'template'], 'template must be an object keyed by the extractor', 'type_error.dict');
    const keys = Object.keys(t).filter((k) => k.startsWith(TEMPLATE_KEY_PREFIX));
    if (keys.length !== 1) throw invalid([...loc, 'template'], `template must hold one ${TEMPLATE_KEY_PREFIX}<model> entry`);
    // The blob's own header decides whose template it is (clients written against 3DiVi's document may name
    // its extractor's key for any template); the key is only named in the error.
    key = keys[0];
    const entry = t[keys[0]] as Json;
    if (!entry || typeof entry.blob !== 'string') throw invalid([...loc, 'template', keys[0], 'blob'], 'str type expected', 'type_error.str');
    if (entry.format !== undefined && entry.format !== 'NDARRAY') throw invalid([...loc, 'template', keys[0], 'format'], 'format must be NDARRAY');
    blob = entry.blob;
  }
  const bytes = decodeBase64(blob as string);
  try {
    return embeddingFromTemplate(bytes);
  } catch (err) {
    if ((err as { code?: string }).code === 'TEMPLATE_MISMATCH') {
      const sent = key && key !== serverTemplateKey() ? ` (sent as ${key})` : '';
      throw new DomainError(
        'TEMPLATE_MISMATCH',
        `the template${sent} was not made by this server's extractor (${serverTemplateKey()}) or is damaged: ${(err as Error).message}; extract both templates with this server`,
      );
    }
    throw err;
  }
}

export interface Verification {
  distance: number;
  fa_r: number;
  fr_r: number;
  score: number;
}

/** Euclidean distance of two unit embeddings of the given cosine. */
export const distanceOf = (cosine: number) => Math.sqrt(Math.max(0, 2 - 2 * cosine));

export function verification(calibration: ScoreCalibration, cosine: number): Verification {
  const distance = distanceOf(cosine);
  const { c0, c1 } = calibration.logistic;
  return {
    distance,
    fa_r: calibration.far(cosine),
    fr_r: calibration.frr(cosine),
    score: (Math.tanh((c0 - distance) * c1) + 1) / 2,
  };
}
