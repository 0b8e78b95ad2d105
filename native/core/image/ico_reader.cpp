#include "image/ico_reader.h"

#include <cstring>

#include "errors.h"
#include "image/byte_view.h"

namespace faceserver {

namespace {

constexpr size_t kDirectoryHeader = 6;
constexpr size_t kEntrySize = 16;
constexpr size_t kBmpFileHeader = 14;

[[noreturn]] void corrupt(const char* what) {
  throw EngineError(ErrorCode::CorruptImage, what);
}

void putLe32(std::vector<uint8_t>& out, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) out[at + i] = static_cast<uint8_t>(v >> (8 * i));
}

// An ICO BMP entry is a DIB without the 14-byte file header, whose height counts the colour rows plus the
// 1-bit AND mask rows. Rebuild a normal BMP file: file header, DIB with the real height, the same data.
std::vector<uint8_t> bmpFileFromDib(const ByteView& dib) {
  const uint32_t infoSize = dib.le32(0);
  if (infoSize < 40 || !dib.has(0, infoSize)) corrupt("ICO bitmap header is invalid");
  const uint16_t bitCount = dib.le16(14);
  const uint32_t compression = dib.le32(16);
  uint32_t colours = dib.le32(32);
  if (bitCount <= 8 && colours == 0) colours = 1u << bitCount;
  if (colours > 256) corrupt("ICO bitmap palette is too large");
  size_t paletteBytes = bitCount <= 8 ? colours * 4 : 0;
  if (compression == 3 && infoSize == 40) paletteBytes += 12;  // BI_BITFIELDS masks follow the header
  const size_t pixelOffset = kBmpFileHeader + infoSize + paletteBytes;

  std::vector<uint8_t> file(kBmpFileHeader + dib.size());
  file[0] = 'B';
  file[1] = 'M';
  putLe32(file, 2, static_cast<uint32_t>(file.size()));
  putLe32(file, 10, static_cast<uint32_t>(pixelOffset));
  std::memcpy(file.data() + kBmpFileHeader, dib.data(), dib.size());
  const int32_t doubledHeight = static_cast<int32_t>(dib.le32(8));
  putLe32(file, kBmpFileHeader + 8, static_cast<uint32_t>(doubledHeight / 2));
  return file;
}

}  // namespace

std::vector<uint8_t> extractIcoImage(const uint8_t* data, size_t size) {
  const ByteView b(data, size);
  const uint16_t count = b.le16(4);
  if (count == 0) corrupt("ICO directory is empty");
  size_t best = 0;
  uint64_t bestScore = 0;
  for (size_t i = 0; i < count; ++i) {
    const size_t entry = kDirectoryHeader + i * kEntrySize;
    const uint64_t width = b.u8(entry) == 0 ? 256 : b.u8(entry);
    const uint64_t height = b.u8(entry + 1) == 0 ? 256 : b.u8(entry + 1);
    const uint64_t score = (width * height) << 8 | b.le16(entry + 6);  // pixels, then bits per pixel
    if (score > bestScore) {
      bestScore = score;
      best = entry;
    }
  }
  const uint32_t length = b.le32(best + 8);
  const uint32_t offset = b.le32(best + 12);
  if (!b.has(offset, length) || length == 0) corrupt("ICO entry lies outside the file");
  const ByteView image(data + offset, length);
  if (image.startsWith(0, "\x89PNG\r\n\x1a\n", 8)) return std::vector<uint8_t>(image.data(), image.data() + length);
  return bmpFileFromDib(image);
}

}  // namespace faceserver
