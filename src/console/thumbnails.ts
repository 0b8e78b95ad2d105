// Small face crops for the console: cut with sharp (libvips) from the image a face was found in. The engine's
// boxes are in the pixels of the EXIF-oriented image, so the image is oriented the same way first. Crops are
// square JPEGs around the face with some margin (hair and chin make a face easier to tell at 100 px).
// libvips' own cache is off: decoded photos must not linger in memory. A crop costs one more decode of the
// image (~3-4 ms CPU for a 250 px LFW photo, ~20-35 ms for 2-12 MP photos), so recognition events normally
// carry the engine's own crop instead (native/core/face_crop.h, cut from the image it decoded: bench:http's
// HTTP cost 19% -> ~5%); this cropper serves what comes without one, behind the response (event-thumbnails.ts).
import sharp from 'sharp';
import type { Box } from '../domain/types';

sharp.cache(false);
sharp.concurrency(1);

/** How much larger than the detector's box the crop is (side). */
const MARGIN = 1.5;
const JPEG_QUALITY = 80;

export interface CropStats {
  /** Crops cut, and the total milliseconds they took. */
  count: number;
  ms: number;
  failed: number;
}

export class FaceCropper {
  readonly stats: CropStats = { count: 0, ms: 0, failed: 0 };
  private queue: Promise<unknown> = Promise.resolve();

  constructor(readonly size: number) {}

  /** A square JPEG of the face in `box`, `size` pixels a side; crops are cut one after another. */
  crop(image: Buffer, box: Box): Promise<Buffer> {
    const run = this.queue.then(() => this.cut(image, box));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async cut(image: Buffer, box: Box): Promise<Buffer> {
    const started = performance.now();
    try {
      const meta = await sharp(image).metadata();
      const swapped = (meta.orientation ?? 1) >= 5; // 90-degree orientations swap width and height
      const width = (swapped ? meta.height : meta.width) ?? 0;
      const height = (swapped ? meta.width : meta.height) ?? 0;
      const region = squareAround(box, MARGIN, width, height);
      const jpeg = await sharp(image)
        .rotate()
        .extract(region)
        .resize(this.size, this.size, { fit: 'cover' })
        .flatten({ background: '#808080' })
        .jpeg({ quality: JPEG_QUALITY, mozjpeg: false })
        .toBuffer();
      this.stats.count++;
      this.stats.ms += performance.now() - started;
      return jpeg;
    } catch (err) {
      this.stats.failed++;
      throw err;
    }
  }
}

/** The square `margin` times the box's side around its centre, clipped to the image (integer pixels). */
export function squareAround(box: Box, margin: number, width: number, height: number): { left: number; top: number; width: number; height: number } {
  const side = Math.max(box.width, box.height) * margin;
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  const left = Math.max(0, Math.floor(cx - side / 2));
  const top = Math.max(0, Math.floor(cy - side / 2));
  const right = Math.min(width, Math.ceil(cx + side / 2));
  const bottom = Math.min(height, Math.ceil(cy + side / 2));
  if (right - left < 1 || bottom - top < 1) throw new RangeError('the face box lies outside the image');
  return { left, top, width: right - left, height: bottom - top };
}
