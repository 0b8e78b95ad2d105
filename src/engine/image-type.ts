// The MIME type of an image from its first bytes (the formats the engine decodes), for storing it with
// enrolled photos and serving them back.
const SIGNATURES: { mime: string; test: (b: Buffer) => boolean }[] = [
  { mime: 'image/jpeg', test: (b) => b.length > 2 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff },
  { mime: 'image/png', test: (b) => b.length > 7 && b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) },
  { mime: 'image/gif', test: (b) => b.length > 5 && /^GIF8[79]a$/.test(b.subarray(0, 6).toString('latin1')) },
  { mime: 'image/bmp', test: (b) => b.length > 1 && b[0] === 0x42 && b[1] === 0x4d },
  { mime: 'image/webp', test: (b) => b.length > 11 && b.subarray(0, 4).toString('latin1') === 'RIFF' && b.subarray(8, 12).toString('latin1') === 'WEBP' },
  { mime: 'image/tiff', test: (b) => b.length > 3 && (b.subarray(0, 4).equals(Buffer.from([0x49, 0x49, 0x2a, 0])) || b.subarray(0, 4).equals(Buffer.from([0x4d, 0x4d, 0, 0x2a]))) },
  { mime: 'image/x-icon', test: (b) => b.length > 3 && b[0] === 0 && b[1] === 0 && b[2] === 1 && b[3] === 0 },
];

export function imageMimeType(bytes: Buffer): string | undefined {
  return SIGNATURES.find((s) => s.test(bytes))?.mime;
}
