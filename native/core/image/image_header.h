// Recognises an image format from its first bytes and reads the pixel dimensions from its header, without
// decoding any pixels, so size limits can be enforced before a decoder allocates anything.
#pragma once

#include <cstddef>
#include <cstdint>

namespace faceserver {

enum class ImageFormat { Unknown, Jpeg, Png, Bmp, Gif, Tiff, WebP, Ico };

const char* imageFormatName(ImageFormat format);  // "jpeg", "png", ...

// "image/jpeg", "image/png", ... ("image/x-icon" for ICO); nullptr for Unknown.
const char* imageMimeType(ImageFormat format);

// From the magic bytes only; Unknown when nothing matches.
ImageFormat sniffImageFormat(const uint8_t* data, size_t size);

struct ImageHeader {
  ImageFormat format = ImageFormat::Unknown;
  int64_t width = 0;  // as stored (before EXIF orientation)
  int64_t height = 0;
};

// Throws EngineError: UnsupportedFormat for unknown bytes, CorruptImage for a truncated or invalid header.
// For ICO this is the size of the entry the decoder will pick (see ico_reader.h).
ImageHeader readImageHeader(const uint8_t* data, size_t size);

// True when a JPEG has an end-of-image marker after its first scan. libjpeg decodes a truncated file into a
// grey-padded image with only a warning, so truncation is caught here instead.
bool jpegIsComplete(const uint8_t* data, size_t size);

}  // namespace faceserver
