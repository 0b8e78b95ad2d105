#include "image/gif_decoder.h"

#include <gif_lib.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "errors.h"

namespace faceserver {

namespace {

[[noreturn]] void corrupt(const char* what) {
  throw EngineError(ErrorCode::CorruptImage, what);
}

struct MemorySource {
  const uint8_t* data;
  size_t size;
  size_t pos;
};

int readFromMemory(GifFileType* gif, GifByteType* out, int wanted) {
  auto* src = static_cast<MemorySource*>(gif->UserData);
  const size_t n = std::min(static_cast<size_t>(std::max(wanted, 0)), src->size - src->pos);
  std::memcpy(out, src->data + src->pos, n);
  src->pos += n;
  return static_cast<int>(n);
}

struct GifCloser {
  void operator()(GifFileType* gif) const {
    int error = 0;
    DGifCloseFile(gif, &error);
  }
};
using GifHandle = std::unique_ptr<GifFileType, GifCloser>;

// Reads the frame's colour indices, de-interlacing if needed. Rows come in the order giflib delivers them.
std::vector<GifByteType> readIndices(GifFileType* gif, int width, int height) {
  std::vector<GifByteType> indices(static_cast<size_t>(width) * height);
  std::vector<int> rows;
  if (gif->Image.Interlace) {
    const int starts[] = {0, 4, 2, 1}, steps[] = {8, 8, 4, 2};
    for (int pass = 0; pass < 4; ++pass)
      for (int y = starts[pass]; y < height; y += steps[pass]) rows.push_back(y);
  } else {
    for (int y = 0; y < height; ++y) rows.push_back(y);
  }
  for (int y : rows)
    if (DGifGetLine(gif, indices.data() + static_cast<size_t>(y) * width, width) != GIF_OK)
      corrupt("GIF frame is truncated or corrupt");
  return indices;
}

}  // namespace

cv::Mat decodeGifFirstFrame(const uint8_t* data, size_t size, const ImageLimits& limits) {
  MemorySource source{data, size, 0};
  int error = 0;
  GifHandle gif(DGifOpen(&source, readFromMemory, &error));
  if (!gif) corrupt("GIF header is corrupt");

  int transparent = -1;
  while (true) {
    GifRecordType record;
    if (DGifGetRecordType(gif.get(), &record) != GIF_OK) corrupt("GIF is truncated before its first frame");
    if (record == TERMINATE_RECORD_TYPE) corrupt("GIF has no frame");
    if (record == EXTENSION_RECORD_TYPE) {
      int code = 0;
      GifByteType* block = nullptr;
      if (DGifGetExtension(gif.get(), &code, &block) != GIF_OK) corrupt("GIF extension is corrupt");
      if (code == GRAPHICS_EXT_FUNC_CODE && block != nullptr) {
        GraphicsControlBlock gcb;
        if (DGifExtensionToGCB(block[0], block + 1, &gcb) == GIF_OK) transparent = gcb.TransparentColor;
      }
      while (block != nullptr)
        if (DGifGetExtensionNext(gif.get(), &block) != GIF_OK) corrupt("GIF extension is corrupt");
      continue;
    }
    if (record != IMAGE_DESC_RECORD_TYPE) continue;
    if (DGifGetImageDesc(gif.get()) != GIF_OK) corrupt("GIF frame descriptor is corrupt");
    break;
  }

  const GifImageDesc& frame = gif->Image;
  if (frame.Width <= 0 || frame.Height <= 0) corrupt("GIF frame is empty");
  limits.checkDimensions(frame.Width, frame.Height);
  // The canvas is the logical screen, grown to hold the frame if the screen size is smaller (some encoders).
  const int64_t canvasWidth = std::max<int64_t>(gif->SWidth, int64_t{frame.Left} + frame.Width);
  const int64_t canvasHeight = std::max<int64_t>(gif->SHeight, int64_t{frame.Top} + frame.Height);
  limits.checkDimensions(canvasWidth, canvasHeight);

  const ColorMapObject* colours = frame.ColorMap != nullptr ? frame.ColorMap : gif->SColorMap;
  if (colours == nullptr || colours->ColorCount <= 0) corrupt("GIF has no colour table");
  const std::vector<GifByteType> indices = readIndices(gif.get(), frame.Width, frame.Height);

  cv::Vec3b background(0, 0, 0);
  if (gif->SColorMap != nullptr && gif->SBackGroundColor >= 0 && gif->SBackGroundColor < gif->SColorMap->ColorCount) {
    const GifColorType& c = gif->SColorMap->Colors[gif->SBackGroundColor];
    background = cv::Vec3b(c.Blue, c.Green, c.Red);
  }
  cv::Mat canvas(static_cast<int>(canvasHeight), static_cast<int>(canvasWidth), CV_8UC3, cv::Scalar::all(0));
  canvas.setTo(cv::Scalar(background[0], background[1], background[2]));
  for (int y = 0; y < frame.Height; ++y) {
    auto* row = canvas.ptr<cv::Vec3b>(frame.Top + y);
    for (int x = 0; x < frame.Width; ++x) {
      const int index = indices[static_cast<size_t>(y) * frame.Width + x];
      if (index == transparent || index >= colours->ColorCount) continue;
      const GifColorType& c = colours->Colors[index];
      row[frame.Left + x] = cv::Vec3b(c.Blue, c.Green, c.Red);
    }
  }
  return canvas;
}

}  // namespace faceserver
