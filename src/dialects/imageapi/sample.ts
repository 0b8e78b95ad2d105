// A "sample": the JSON the Image API's services pass along a chain, an image and the objects found in it. The
// two JSON versions differ in their conventions: v1 carries the image as "$image" (base64) and UPPERCASE enums,
// v2 as "_image": {"blob", "format": "IMAGE"} and lowercase ones. Both take bounding boxes normalised to the
// image, [x1, y1, x2, y2]. Incoming samples may use either image form; answers use their version's.
import type { Box } from '../../domain/types';
import { invalid } from './errors';

export type Version = 'v1' | 'v2';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;
export type SampleObject = Record<string, Json>;

export interface Sample {
  /** Every top-level field as sent (unknown ones are returned unchanged). */
  body: Record<string, Json>;
  /** The image's base64 text, when the sample carries one. */
  imageBase64?: string;
  objects: SampleObject[];
}

/** Most objects one sample may carry. */
export const MAX_OBJECTS = 1000;

/** The sample in a JSON body, validated; objects are copied so answers never alias the request. */
export function readSample(body: unknown): Sample {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw invalid(['body'], 'the body must be a JSON object (a sample)', 'type_error.dict');
  const record = body as Record<string, Json>;
  let imageBase64: string | undefined;
  if (record.$image !== undefined && record.$image !== null) {
    if (typeof record.$image !== 'string') throw invalid(['body', '$image'], 'str type expected', 'type_error.str');
    imageBase64 = record.$image;
  } else if (record._image !== undefined && record._image !== null) {
    const img = record._image as Json;
    if (!img || typeof img !== 'object' || typeof img.blob !== 'string') {
      throw invalid(['body', '_image', 'blob'], '_image must be an object with a base64 "blob"', 'type_error.str');
    }
    imageBase64 = img.blob;
  }
  const objects = record.objects ?? [];
  if (!Array.isArray(objects)) throw invalid(['body', 'objects'], 'value is not a valid list', 'type_error.list');
  if (objects.length > MAX_OBJECTS) throw invalid(['body', 'objects'], `at most ${MAX_OBJECTS} objects per sample`);
  const copied = objects.map((o: unknown, i: number) => {
    if (!o || typeof o !== 'object' || Array.isArray(o)) throw invalid(['body', 'objects', i], 'value is not a valid dict', 'type_error.dict');
    const obj = { ...(o as SampleObject) };
    if (obj.bbox !== undefined) readBbox(obj.bbox, ['body', 'objects', i, 'bbox']);
    return obj;
  });
  return { body: record, imageBase64, objects: copied };
}

/** A normalised [x1, y1, x2, y2] box, checked. */
export function readBbox(value: unknown, loc: (string | number)[]): [number, number, number, number] {
  if (!Array.isArray(value) || value.length !== 4 || !value.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    throw invalid(loc, 'bbox must be [x1, y1, x2, y2]: four numbers normalised to the image');
  }
  const [x1, y1, x2, y2] = value as number[];
  if (!(x2 > x1 && y2 > y1)) throw invalid(loc, 'bbox must have x2 > x1 and y2 > y1');
  return [x1, y1, x2, y2];
}

const clamp01 = (v: number) => Math.min(1, Math.max(0, v));

/** A pixel box as the Image API's normalised [x1, y1, x2, y2], within the image. */
export function toBbox(box: Box, width: number, height: number): [number, number, number, number] {
  return [clamp01(box.x / width), clamp01(box.y / height), clamp01((box.x + box.width) / width), clamp01((box.y + box.height) / height)];
}

/** A normalised bbox in pixels. */
export function fromBbox(bbox: readonly number[], width: number, height: number): Box {
  const [x1, y1, x2, y2] = bbox;
  return { x: x1 * width, y: y1 * height, width: (x2 - x1) * width, height: (y2 - y1) * height };
}

/** An enum value in the version's case. */
export const enumCase = (version: Version, value: string) => (version === 'v1' ? value.toUpperCase() : value.toLowerCase());

/** The image field of an answer in the version's form. */
export function imageField(version: Version, base64: string): Record<string, Json> {
  return version === 'v1' ? { $image: base64 } : { _image: { blob: base64, format: 'IMAGE' } };
}

/** The answer: the sample's fields as sent, its image in the version's form, the objects as processed. */
export function answer(version: Version, sample: Sample, objects: SampleObject[]): Record<string, Json> {
  const rest = { ...sample.body };
  delete rest.$image;
  delete rest._image;
  return { ...(sample.imageBase64 !== undefined ? imageField(version, sample.imageBase64) : {}), ...rest, objects };
}
