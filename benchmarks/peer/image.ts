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

/** Which part of the tensor to fill and how finely: the rest stays 0 (mid-grey when mean is 127). */
export interface SampleArea {
  width: number;
  height: number;
  /** n x n bilinear samples averaged per output pixel: approximates cv::INTER_AREA when shrinking n times. */
  supersample: number;
}

/** Inverse map of cv::resize (half-pixel centres) of the whole image by `scale`. */
export function scaleMap(scale: number): InverseAffine {
  const s = 1 / scale;
  return { a: s, b: 0, c: 0.5 * s - 0.5, d: 0, e: s, f: 0.5 * s - 0.5 };
}

/** Inverse map of cropping the square (x, y, side) and resizing it to (width, height). */
export function cropMap(x: number, y: number, side: number, width: number, height: number): InverseAffine {
  const sx = side / width;
  const sy = side / height;
  return { a: sx, b: 0, c: x + 0.5 * sx - 0.5, d: 0, e: sy, f: y + 0.5 * sy - 0.5 };
}

/** Bilinear RGB at a source position, written to `rgb`. */
function bilinear(image: RgbImage, sx: number, sy: number, zeroBorder: boolean, rgb: Float64Array): void {
  const src = image.data;
  const maxX = image.width - 1;
  const maxY = image.height - 1;
  const x0 = Math.floor(sx);
  const y0 = Math.floor(sy);
  const fx = sx - x0;
  const fy = sy - y0;
  if (x0 >= 0 && y0 >= 0 && x0 < maxX && y0 < maxY) {
    // fast path: all four neighbours inside
    const i00 = (y0 * image.width + x0) * 3;
    const i10 = i00 + image.width * 3;
    const w00 = (1 - fx) * (1 - fy), w01 = fx * (1 - fy), w10 = (1 - fx) * fy, w11 = fx * fy;
    rgb[0] = w00 * src[i00] + w01 * src[i00 + 3] + w10 * src[i10] + w11 * src[i10 + 3];
    rgb[1] = w00 * src[i00 + 1] + w01 * src[i00 + 4] + w10 * src[i10 + 1] + w11 * src[i10 + 4];
    rgb[2] = w00 * src[i00 + 2] + w01 * src[i00 + 5] + w10 * src[i10 + 2] + w11 * src[i10 + 5];
    return;
  }
  rgb[0] = rgb[1] = rgb[2] = 0;
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
    rgb[0] += w * src[i];
    rgb[1] += w * src[i + 1];
    rgb[2] += w * src[i + 2];
  }
}

/**
 * Samples the image at the mapped position of every output pixel of `area` (default: the whole tensor, one
 * bilinear sample each), rounds to 8 bits as OpenCV's intermediate images do, and writes the normalised
 * planes of a 1xCxHxW tensor. Axis-aligned maps (crops, resizes) take a separable path.
 */
export function sampleToTensor(image: RgbImage, map: InverseAffine, layout: TensorLayout, area?: SampleArea): Float32Array {
  const fillWidth = Math.min(layout.width, area?.width ?? layout.width);
  const fillHeight = Math.min(layout.height, area?.height ?? layout.height);
  const n = Math.max(1, Math.round(area?.supersample ?? 1));
  const tensor = new TensorWriter(layout);
  if (map.b === 0 && map.d === 0) {
    sampleSeparable(image, map, layout.border === 'zero', fillWidth, fillHeight, n, tensor);
  } else {
    sampleWarped(image, map, layout.border === 'zero', fillWidth, fillHeight, n, tensor);
  }
  return tensor.out;
}

/** Rounds an RGB value to 8 bits and stores it normalised in the layout's planes. */
class TensorWriter {
  readonly out: Float32Array;
  private readonly planeSize: number;
  private readonly grey: boolean;
  private readonly rPlane: number;
  private readonly bPlane: number;

  constructor(private readonly layout: TensorLayout) {
    this.planeSize = layout.width * layout.height;
    this.grey = layout.colour === 'grey';
    this.out = new Float32Array((this.grey ? 1 : 3) * this.planeSize);
    this.rPlane = layout.colour === 'bgr' ? 2 : 0;
    this.bPlane = layout.colour === 'bgr' ? 0 : 2;
  }

  put(x: number, y: number, r: number, g: number, b: number): void {
    const { mean, scale } = this.layout;
    const o = y * this.layout.width + x;
    r = Math.round(r);
    g = Math.round(g);
    b = Math.round(b);
    if (this.grey) {
      this.out[o] = (Math.round(0.299 * r + 0.587 * g + 0.114 * b) - mean) * scale;
    } else {
      this.out[this.rPlane * this.planeSize + o] = (r - mean) * scale;
      this.out[this.planeSize + o] = (g - mean) * scale;
      this.out[this.bPlane * this.planeSize + o] = (b - mean) * scale;
    }
  }
}

/** General affine map: n x n bilinear samples per output pixel. */
function sampleWarped(image: RgbImage, map: InverseAffine, zeroBorder: boolean, width: number, height: number,
  n: number, tensor: TensorWriter): void {
  const weight = 1 / (n * n);
  const rgb = new Float64Array(3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (let j = 0; j < n; j++) {
        const oy = y + (j + 0.5) / n - 0.5;
        for (let i = 0; i < n; i++) {
          const ox = x + (i + 0.5) / n - 0.5;
          bilinear(image, map.a * ox + map.b * oy + map.c, map.d * ox + map.e * oy + map.f, zeroBorder, rgb);
          r += rgb[0];
          g += rgb[1];
          b += rgb[2];
        }
      }
      tensor.put(x, y, r * weight, g * weight, b * weight);
    }
  }
}

/** Source indices and weights along one axis: 2n taps per output coordinate (n samples x 2 neighbours). */
function axisTaps(size: number, scale: number, offset: number, sourceSize: number, n: number, zeroBorder: boolean) {
  const taps = 2 * n;
  const index = new Int32Array(size * taps);
  const weight = new Float32Array(size * taps);
  for (let o = 0; o < size; o++) {
    for (let i = 0; i < n; i++) {
      const s = scale * (o + (i + 0.5) / n - 0.5) + offset;
      const s0 = Math.floor(s);
      const f = s - s0;
      for (let k = 0; k < 2; k++) {
        let at = s0 + k;
        let w = (k === 0 ? 1 - f : f) / n;
        if (at < 0 || at >= sourceSize) {
          if (zeroBorder) w = 0;
          at = at < 0 ? 0 : sourceSize - 1;
        }
        index[o * taps + 2 * i + k] = at;
        weight[o * taps + 2 * i + k] = w;
      }
    }
  }
  return { taps, index, weight };
}

/** Axis-aligned map: a horizontal pass over the source rows in use, then a vertical pass. */
function sampleSeparable(image: RgbImage, map: InverseAffine, zeroBorder: boolean, width: number, height: number,
  n: number, tensor: TensorWriter): void {
  const xs = axisTaps(width, map.a, map.c, image.width, n, zeroBorder);
  const ys = axisTaps(height, map.e, map.f, image.height, n, zeroBorder);
  let firstRow = image.height;
  let lastRow = -1;
  for (const row of ys.index) {
    firstRow = Math.min(firstRow, row);
    lastRow = Math.max(lastRow, row);
  }
  if (lastRow < firstRow) return;
  const src = image.data;
  const stride = width * 3;
  const rows = new Float32Array((lastRow - firstRow + 1) * stride);
  for (let row = firstRow; row <= lastRow; row++) {
    const srcRow = row * image.width * 3;
    const dst = (row - firstRow) * stride;
    for (let x = 0; x < width; x++) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (let t = x * xs.taps, end = t + xs.taps; t < end; t++) {
        const i = srcRow + xs.index[t] * 3;
        const w = xs.weight[t];
        r += w * src[i];
        g += w * src[i + 1];
        b += w * src[i + 2];
      }
      rows[dst + 3 * x] = r;
      rows[dst + 3 * x + 1] = g;
      rows[dst + 3 * x + 2] = b;
    }
  }
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (let t = y * ys.taps, end = t + ys.taps; t < end; t++) {
        const i = (ys.index[t] - firstRow) * stride + 3 * x;
        const w = ys.weight[t];
        r += w * rows[i];
        g += w * rows[i + 1];
        b += w * rows[i + 2];
      }
      tensor.put(x, y, r, g, b);
    }
  }
}
