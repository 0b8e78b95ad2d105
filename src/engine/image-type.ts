// The MIME type of an image from its first bytes, for storing it with enrolled photos and serving them back:
// the addon's sniffer (native/core/image/image_header.h), the same that picks the decoder, so the formats named
// are exactly the ones the engine decodes.
import { loadAddon } from './addon';

/** "image/jpeg", "image/png", "image/gif", "image/bmp", "image/webp", "image/tiff", "image/x-icon", or undefined. */
export function imageMimeType(bytes: Uint8Array): string | undefined {
  return loadAddon().imageMimeType(bytes) as string | undefined;
}
