// Pixel work of the onnxruntime peer, in plain JavaScript: every crop, resize and alignment warp of the
// pipeline is one affine resampling of the decoded image straight into a model's NCHW float input.

/** A decoded 8-bit image, interleaved RGB rows (what sharp's raw output gives). */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** Maps an output pixel (x, y) to the source position (a*x + b*y + c, d*x + e*y + f). */
export interface InverseAffine {
  a: number;
  b: number;
  c: number;
  d: number;
  e: number;
  f: number;
}

/** How the model wants its input tensor filled. */
export interface TensorLayout {
  width: number;
  height: number;
  /** 'bgr' and 'rgb' give 3 planes in that order; 'grey' one plane of 0.299R + 0.587G + 0.114B. */
  colour: 'bgr' | 'rgb' | 'grey';
  /** value = (pixel - mean) * scale */
  mean: number;
  scale: number;
  /** Outside the image: 'replicate' the edge (like cv::resize) or 'zero' (like cv::warpAffine's default). */
  border: 'replicate' | 'zero';
}

/** Inverse map of cv::resize (INTER_LINEAR, half-pixel centres) of the whole image to (width, height). */
export function resizeMap(image: RgbImage, width: number, height: number): InverseAffine {
  const sx = image.width / width;
  const sy = image.height / height;
  return { a: sx, b: 0, c: 0.5 * sx - 0.5, d: 0, e: sy, f: 0.5 * sy - 0.5 };
}

/** Inverse map of cropping the square (x, y, side) and resizing it to (width, height). */
export function cropMap(x: number, y: number, side: number, width: number, height: number): InverseAffine {
  const sx = side / width;
  const sy = side / height;
  return { a: sx, b: 0, c: x + 0.5 * sx - 0.5, d: 0, e: sy, f: y + 0.5 * sy - 0.5 };
}

/**
 * Samples the image bilinearly at the mapped position of every output pixel, rounds to 8 bits as OpenCV's
 * intermediate images do, and writes the normalised planes of a 1xCxHxW tensor.
 */
export function sampleToTensor(image: RgbImage, map: InverseAffine, layout: TensorLayout): Float32Array {
  const { width, height } = layout;
  const planeSize = width * height;
  const planes = layout.colour === 'grey' ? 1 : 3;
  const out = new Float32Array(planes * planeSize);
  const src = image.data;
  const maxX = image.width - 1;
  const maxY = image.height - 1;
  const zeroBorder = layout.border === 'zero';
  const rowBytes = image.width * 3;
  const { mean, scale } = layout;
  // Plane index of R, G and B in the output.
  const rPlane = layout.colour === 'bgr' ? 2 : 0;
  const bPlane = layout.colour === 'bgr' ? 0 : 2;

  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const sx = map.a * x + map.b * y + map.c;
      const sy = map.d * x + map.e * y + map.f;
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const fx = sx - x0;
      const fy = sy - y0;
      let r: number;
      let g: number;
      let b: number;
      if (x0 >= 0 && y0 >= 0 && x0 < maxX && y0 < maxY) {
        // fast path: all four neighbours inside
        const i00 = (y0 * image.width + x0) * 3;
        const i10 = i00 + rowBytes;
        const w00 = (1 - fx) * (1 - fy), w01 = fx * (1 - fy), w10 = (1 - fx) * fy, w11 = fx * fy;
        r = w00 * src[i00] + w01 * src[i00 + 3] + w10 * src[i10] + w11 * src[i10 + 3];
        g = w00 * src[i00 + 1] + w01 * src[i00 + 4] + w10 * src[i10 + 1] + w11 * src[i10 + 4];
        b = w00 * src[i00 + 2] + w01 * src[i00 + 5] + w10 * src[i10 + 2] + w11 * src[i10 + 5];
      } else {
        r = g = b = 0;
        // The four neighbours with their weights; a zero border drops the ones outside the image.
        for (let k = 0; k < 4; k++) {
          let px = x0 + (k & 1);
          let py = y0 + (k >> 1);
          const w = ((k & 1) === 1 ? fx : 1 - fx) * ((k >> 1) === 1 ? fy : 1 - fy);
          if (w === 0) continue;
          if (px < 0 || py < 0 || px > maxX || py > maxY) {
            if (zeroBorder) continue;
            px = px < 0 ? 0 : px > maxX ? maxX : px;
            py = py < 0 ? 0 : py > maxY ? maxY : py;
          }
          const i = (py * image.width + px) * 3;
          r += w * src[i];
          g += w * src[i + 1];
          b += w * src[i + 2];
        }
      }
      const o = y * width + x;
      if (planes === 1) {
        out[o] = (Math.round(0.299 * Math.round(r) + 0.587 * Math.round(g) + 0.114 * Math.round(b)) - mean) * scale;
      } else {
        out[rPlane * planeSize + o] = (((r + 0.5) | 0) - mean) * scale;
        out[planeSize + o] = (((g + 0.5) | 0) - mean) * scale;
        out[bPlane * planeSize + o] = (((b + 0.5) | 0) - mean) * scale;
      }
    }
  }
  return out;
}
