// ICO files: a directory of PNG or headerless-BMP images. We pick the best entry (most pixels, then most
// bits per pixel) and hand back a standalone PNG or BMP file that the ordinary decoders read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace faceserver {

// Throws EngineError(CorruptImage) for a broken directory or an entry outside the file.
std::vector<uint8_t> extractIcoImage(const uint8_t* data, size_t size);

}  // namespace faceserver
