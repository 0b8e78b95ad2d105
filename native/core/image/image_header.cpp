#include "image/image_header.h"

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "errors.h"
#include "image/byte_view.h"
#include "image/ico_reader.h"

namespace faceserver {

namespace {

[[noreturn]] void corrupt(const char* what) {
  throw EngineError(ErrorCode::CorruptImage, what);
}

ImageHeader jpegHeader(const ByteView& b) {
  // Walk the marker segments up to the first start-of-frame, which holds the dimensions.
  size_t pos = 2;
  while (true) {
    if (b.u8(pos) != 0xFF) corrupt("JPEG marker expected");
    while (b.u8(pos) == 0xFF) ++pos;  // fill bytes
    const uint8_t marker = b.u8(pos++);
    if (marker == 0xD8 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) continue;  // no length
    if (marker == 0xD9 || marker == 0xDA) corrupt("JPEG has no frame header before its scan");
    const uint16_t length = b.be16(pos);
    if (length < 2) corrupt("JPEG segment length is invalid");
    const bool startOfFrame = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    if (startOfFrame) return {ImageFormat::Jpeg, b.be16(pos + 5), b.be16(pos + 3)};
    pos += length;
  }
}

// Position just after the first start-of-scan segment header; throws CorruptImage if there is none.
size_t jpegScanStart(const ByteView& b) {
  size_t pos = 2;
  while (true) {
    if (b.u8(pos) != 0xFF) corrupt("JPEG marker expected");
    while (b.u8(pos) == 0xFF) ++pos;
    const uint8_t marker = b.u8(pos++);
    if (marker == 0xD8 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) continue;
    if (marker == 0xD9) corrupt("JPEG ends before its scan");
    const uint16_t length = b.be16(pos);
    if (length < 2) corrupt("JPEG segment length is invalid");
    pos += length;
    if (marker == 0xDA) return pos;
  }
}

ImageHeader pngHeader(const ByteView& b) {
  if (!b.startsWith(12, "IHDR", 4)) corrupt("PNG does not start with IHDR");
  return {ImageFormat::Png, b.be32(16), b.be32(20)};
}

ImageHeader bmpHeader(const ByteView& b) {
  const uint32_t dibSize = b.le32(14);
  if (dibSize == 12) return {ImageFormat::Bmp, b.le16(18), b.le16(20)};  // OS/2 core header
  if (dibSize < 40) corrupt("BMP info header is too short");
  const int64_t width = static_cast<int32_t>(b.le32(18));
  const int64_t height = static_cast<int32_t>(b.le32(22));  // negative = top-down rows
  return {ImageFormat::Bmp, std::llabs(width), std::llabs(height)};
}

ImageHeader gifHeader(const ByteView& b) {
  return {ImageFormat::Gif, b.le16(6), b.le16(8)};
}

ImageHeader tiffHeader(const ByteView& b) {
  const bool little = b.u8(0) == 'I';
  auto u16 = [&](size_t at) { return little ? b.le16(at) : b.be16(at); };
  auto u32 = [&](size_t at) { return little ? b.le32(at) : b.be32(at); };
  const size_t ifd = u32(4);
  const uint16_t entries = u16(ifd);
  int64_t width = -1, height = -1, tileWidth = 0, tileHeight = 0;
  for (size_t i = 0; i < entries; ++i) {
    const size_t entry = ifd + 2 + i * 12;
    const uint16_t tag = u16(entry);
    if (tag != 256 && tag != 257 && tag != 322 && tag != 323) continue;
    const uint16_t type = u16(entry + 2);
    int64_t value;
    if (type == 3)
      value = u16(entry + 8);  // SHORT
    else if (type == 4)
      value = u32(entry + 8);  // LONG
    else
      corrupt("TIFF dimension has an invalid type");
    if (tag == 256)
      width = value;
    else if (tag == 257)
      height = value;
    else if (tag == 322)
      tileWidth = value;
    else
      tileHeight = value;
  }
  if (width < 0 || height < 0) corrupt("TIFF has no image dimensions");
  // The decoder allocates one tile up front (up to 1 GB in OpenCV 4.6): refuse tiles far bigger than the image.
  // (In double: the claimed sizes may be up to 2^32 each, and the limits are checked later.)
  if (double(tileWidth) * double(tileHeight) > 4.0 * std::max(double(width) * double(height), 256.0 * 256.0))
    corrupt("TIFF tiles are larger than the image");
  return {ImageFormat::Tiff, width, height};
}

ImageHeader webpHeader(const ByteView& b) {
  if (b.startsWith(12, "VP8 ", 4)) {
    if (!b.startsWith(23, "\x9d\x01\x2a", 3)) corrupt("WebP VP8 start code missing");
    return {ImageFormat::WebP, b.le16(26) & 0x3FFF, b.le16(28) & 0x3FFF};
  }
  if (b.startsWith(12, "VP8L", 4)) {
    if (b.u8(20) != 0x2F) corrupt("WebP lossless signature missing");
    const uint32_t bits = b.le32(21);
    return {ImageFormat::WebP, (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1};
  }
  if (b.startsWith(12, "VP8X", 4)) {
    const int64_t width = 1 + (b.u8(24) | (b.u8(25) << 8) | (b.u8(26) << 16));
    const int64_t height = 1 + (b.u8(27) | (b.u8(28) << 8) | (b.u8(29) << 16));
    return {ImageFormat::WebP, width, height};
  }
  corrupt("WebP has no known image chunk");
}

}  // namespace

bool jpegIsComplete(const uint8_t* data, size_t size) {
  const ByteView b(data, size);
  size_t pos;
  try {
    pos = jpegScanStart(b);
  } catch (const EngineError&) {
    return false;
  }
  // Entropy-coded data stuffs every 0xFF with 0x00, so FF D9 after the scan header is the real end marker.
  for (; pos + 1 < size; ++pos)
    if (data[pos] == 0xFF && data[pos + 1] == 0xD9) return true;
  return false;
}

const char* imageFormatName(ImageFormat format) {
  switch (format) {
    case ImageFormat::Jpeg: return "jpeg";
    case ImageFormat::Png: return "png";
    case ImageFormat::Bmp: return "bmp";
    case ImageFormat::Gif: return "gif";
    case ImageFormat::Tiff: return "tiff";
    case ImageFormat::WebP: return "webp";
    case ImageFormat::Ico: return "ico";
    case ImageFormat::Unknown: break;
  }
  return "unknown";
}

const char* imageMimeType(ImageFormat format) {
  switch (format) {
    case ImageFormat::Jpeg: return "image/jpeg";
    case ImageFormat::Png: return "image/png";
    case ImageFormat::Bmp: return "image/bmp";
    case ImageFormat::Gif: return "image/gif";
    case ImageFormat::Tiff: return "image/tiff";
    case ImageFormat::WebP: return "image/webp";
    case ImageFormat::Ico: return "image/x-icon";
    case ImageFormat::Unknown: break;
  }
  return nullptr;
}

ImageFormat sniffImageFormat(const uint8_t* data, size_t size) {
  const ByteView b(data, size);
  if (b.startsWith(0, "\xFF\xD8\xFF", 3)) return ImageFormat::Jpeg;
  if (b.startsWith(0, "\x89PNG\r\n\x1a\n", 8)) return ImageFormat::Png;
  if (b.startsWith(0, "BM", 2)) return ImageFormat::Bmp;
  if (b.startsWith(0, "GIF87a", 6) || b.startsWith(0, "GIF89a", 6)) return ImageFormat::Gif;
  if (b.startsWith(0, "II*\0", 4) || b.startsWith(0, "MM\0*", 4)) return ImageFormat::Tiff;
  // RIFF alone counts when the file is too short to say more: then the header read reports truncation.
  if (b.startsWith(0, "RIFF", 4) && (size < 12 || b.startsWith(8, "WEBP", 4))) return ImageFormat::WebP;
  if (b.startsWith(0, "\0\0\1\0", 4)) return ImageFormat::Ico;
  return ImageFormat::Unknown;
}

ImageHeader readImageHeader(const uint8_t* data, size_t size) {
  const ByteView b(data, size);
  switch (sniffImageFormat(data, size)) {
    case ImageFormat::Jpeg: return jpegHeader(b);
    case ImageFormat::Png: return pngHeader(b);
    case ImageFormat::Bmp: return bmpHeader(b);
    case ImageFormat::Gif: return gifHeader(b);
    case ImageFormat::Tiff: return tiffHeader(b);
    case ImageFormat::WebP: return webpHeader(b);
    case ImageFormat::Ico: {
      const std::vector<uint8_t> entry = extractIcoImage(data, size);  // always a PNG or BMP file
      ImageHeader inner = readImageHeader(entry.data(), entry.size());
      inner.format = ImageFormat::Ico;
      return inner;
    }
    case ImageFormat::Unknown: break;
  }
  throw EngineError(ErrorCode::UnsupportedFormat,
                    "not a supported image format (jpeg, png, bmp, gif, tiff, webp, ico)");
}

}  // namespace faceserver
