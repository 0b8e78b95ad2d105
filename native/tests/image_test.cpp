// Image decoding: every format, orientation, grey/RGBA conversion, limits checked before decoding, and
// hostile inputs (empty, truncated, random, huge claimed sizes) failing with the right code.
#include <gif_lib.h>

#include <chrono>
#include <cstring>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <random>
#include <string>
#include <vector>

#include "errors.h"
#include "image/image_decoder.h"
#include "image/image_header.h"
#include "testing.h"

using namespace faceserver;

namespace {

using Bytes = std::vector<uint8_t>;

// A small colour image with a distinct value per pixel, so orientation and channel order are checkable.
cv::Mat gradient(int width, int height) {
  cv::Mat m(height, width, CV_8UC3);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) m.at<cv::Vec3b>(y, x) = cv::Vec3b(uchar(x * 5), uchar(y * 7), uchar(200));
  return m;
}

Bytes encode(const std::string& ext, const cv::Mat& image) {
  Bytes out;
  CHECK(cv::imencode(ext, image, out));
  return out;
}

DecodedImage decode(const Bytes& bytes, const ImageLimits& limits = ImageLimits()) {
  return decodeImage(bytes.data(), bytes.size(), limits);
}

// A GIF made with giflib's encoder: 4-colour palette, pixel (x, y) = (x + y) % 4, optional transparency.
Bytes makeGif(int width, int height, int transparentIndex = -1) {
  Bytes out;
  auto write = [](GifFileType* gif, const GifByteType* data, int n) {
    auto* sink = static_cast<Bytes*>(gif->UserData);
    sink->insert(sink->end(), data, data + n);
    return n;
  };
  int error = 0;
  GifFileType* gif = EGifOpen(&out, write, &error);
  CHECK(gif != nullptr);
  GifColorType colours[4] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {255, 255, 255}};
  ColorMapObject* map = GifMakeMapObject(4, colours);
  CHECK(EGifPutScreenDesc(gif, width, height, 2, 3, map) == GIF_OK);
  if (transparentIndex >= 0) {
    GraphicsControlBlock gcb{};
    gcb.TransparentColor = transparentIndex;
    GifByteType ext[4];
    const size_t len = EGifGCBToExtension(&gcb, ext);
    CHECK(EGifPutExtension(gif, GRAPHICS_EXT_FUNC_CODE, static_cast<int>(len), ext) == GIF_OK);
  }
  CHECK(EGifPutImageDesc(gif, 0, 0, width, height, false, nullptr) == GIF_OK);
  std::vector<GifPixelType> row(width);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) row[x] = static_cast<GifPixelType>((x + y) % 4);
    CHECK(EGifPutLine(gif, row.data(), width) == GIF_OK);
  }
  CHECK(EGifCloseFile(gif, &error) == GIF_OK);
  GifFreeMapObject(map);
  return out;
}

void putLe16(Bytes& b, size_t at, uint16_t v) {
  b[at] = uint8_t(v);
  b[at + 1] = uint8_t(v >> 8);
}
void putLe32(Bytes& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = uint8_t(v >> (8 * i));
}

// An ICO directory holding the given entries (PNG files or headerless BMP DIBs) with their nominal sizes.
Bytes makeIco(const std::vector<std::pair<int, Bytes>>& entries) {
  Bytes ico(6 + 16 * entries.size(), 0);
  putLe16(ico, 2, 1);
  putLe16(ico, 4, static_cast<uint16_t>(entries.size()));
  for (size_t i = 0; i < entries.size(); ++i) {
    const size_t dir = 6 + 16 * i;
    ico[dir] = ico[dir + 1] = static_cast<uint8_t>(entries[i].first % 256);
    putLe16(ico, dir + 4, 1);
    putLe16(ico, dir + 6, 32);
    putLe32(ico, dir + 8, static_cast<uint32_t>(entries[i].second.size()));
    putLe32(ico, dir + 12, static_cast<uint32_t>(ico.size()));
    ico.insert(ico.end(), entries[i].second.begin(), entries[i].second.end());
  }
  return ico;
}

// An ICO BMP entry: the BMP file without its 14-byte header, height doubled, plus the 1-bit AND mask.
Bytes icoBmpEntry(const cv::Mat& image) {
  Bytes bmp = encode(".bmp", image);
  Bytes dib(bmp.begin() + 14, bmp.end());
  putLe32(dib, 8, static_cast<uint32_t>(image.rows * 2));
  const size_t maskRow = ((image.cols + 31) / 32) * 4;
  dib.insert(dib.end(), maskRow * image.rows, 0);
  return dib;
}

// A JPEG with an APP1 Exif segment holding only the orientation tag.
Bytes jpegWithOrientation(const cv::Mat& image, uint16_t orientation) {
  Bytes jpeg = encode(".jpg", image);
  Bytes tiff = {'M', 'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0};
  tiff[18] = uint8_t(orientation >> 8);
  tiff[19] = uint8_t(orientation);
  Bytes app1 = {0xFF, 0xE1, 0, 0, 'E', 'x', 'i', 'f', 0, 0};
  app1.insert(app1.end(), tiff.begin(), tiff.end());
  const uint16_t length = static_cast<uint16_t>(app1.size() - 2);
  app1[2] = uint8_t(length >> 8);
  app1[3] = uint8_t(length);
  jpeg.insert(jpeg.begin() + 2, app1.begin(), app1.end());
  return jpeg;
}

// A minimal PNG: signature + IHDR claiming the given size, and nothing after it.
Bytes pngClaiming(uint32_t width, uint32_t height) {
  Bytes png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R'};
  for (uint32_t v : {width, height})
    for (int i = 3; i >= 0; --i) png.push_back(uint8_t(v >> (8 * i)));
  for (uint8_t b : {8, 2, 0, 0, 0, 0, 0, 0, 0}) png.push_back(b);
  return png;
}

}  // namespace

TEST(decodes_every_opencv_format_to_bgr) {
  const cv::Mat source = gradient(40, 30);
  const std::pair<const char*, ImageFormat> formats[] = {{".jpg", ImageFormat::Jpeg},
                                                         {".png", ImageFormat::Png},
                                                         {".bmp", ImageFormat::Bmp},
                                                         {".tiff", ImageFormat::Tiff},
                                                         {".webp", ImageFormat::WebP}};
  for (const auto& [ext, format] : formats) {
    const DecodedImage image = decode(encode(ext, source));
    CHECK(image.format == format);
    CHECK(image.bgr.cols == 40 && image.bgr.rows == 30 && image.bgr.type() == CV_8UC3);
    CHECK(cv::norm(image.bgr, source, cv::NORM_INF) <= 60);  // lossy formats stay close
  }
  CHECK(cv::norm(decode(encode(".png", source)).bgr, source, cv::NORM_INF) == 0);
}

TEST(mime_type_from_the_first_bytes) {
  const cv::Mat image = gradient(8, 6);
  auto mime = [](const Bytes& b) {
    const char* m = imageMimeType(sniffImageFormat(b.data(), b.size()));
    return std::string(m ? m : "(none)");
  };
  CHECK(mime(encode(".jpg", image)) == "image/jpeg");
  CHECK(mime(encode(".png", image)) == "image/png");
  CHECK(mime(encode(".bmp", image)) == "image/bmp");
  CHECK(mime(encode(".tiff", image)) == "image/tiff");
  CHECK(mime(encode(".webp", image)) == "image/webp");
  CHECK(mime(makeGif(4, 4)) == "image/gif");
  CHECK(mime(makeIco({{16, encode(".png", gradient(16, 16))}})) == "image/x-icon");
  CHECK(mime(Bytes{'n', 'o', 'p', 'e'}) == "(none)");
  CHECK(mime(Bytes{}) == "(none)");
  CHECK(mime(Bytes{0xff, 0xd8}) == "(none)");  // too short to be a JPEG
}

TEST(lossless_webp_header_is_read) {
  const cv::Mat source = gradient(33, 17);
  const DecodedImage image = decode(encode(".webp", source));  // default quality: lossy VP8
  CHECK(image.bgr.cols == 33 && image.bgr.rows == 17);
  Bytes lossless;
  CHECK(cv::imencode(".webp", source, lossless, {cv::IMWRITE_WEBP_QUALITY, 101}));  // > 100 = VP8L
  CHECK(std::memcmp(lossless.data() + 12, "VP8L", 4) == 0);
  CHECK(cv::norm(decode(lossless).bgr, source, cv::NORM_INF) == 0);
}

TEST(grey_and_rgba_become_bgr) {
  cv::Mat grey(10, 12, CV_8UC1, cv::Scalar(90));
  const DecodedImage g = decode(encode(".png", grey));
  CHECK(g.bgr.type() == CV_8UC3 && g.bgr.at<cv::Vec3b>(5, 5) == cv::Vec3b(90, 90, 90));
  cv::Mat rgba(10, 12, CV_8UC4, cv::Scalar(10, 20, 30, 255));  // B, G, R, A in OpenCV order
  const DecodedImage c = decode(encode(".png", rgba));
  CHECK(c.bgr.type() == CV_8UC3 && c.bgr.at<cv::Vec3b>(2, 3) == cv::Vec3b(10, 20, 30));
  cv::Mat grey16(8, 8, CV_16UC1, cv::Scalar(256 * 50));
  CHECK(decode(encode(".png", grey16)).bgr.type() == CV_8UC3);
}

TEST(gif_first_frame_with_palette_and_transparency) {
  const DecodedImage image = decode(makeGif(7, 5));
  CHECK(image.format == ImageFormat::Gif);
  CHECK(image.bgr.cols == 7 && image.bgr.rows == 5);
  CHECK(image.bgr.at<cv::Vec3b>(0, 0) == cv::Vec3b(0, 0, 255));  // index 0 = red
  CHECK(image.bgr.at<cv::Vec3b>(0, 1) == cv::Vec3b(0, 255, 0));  // index 1 = green
  CHECK(image.bgr.at<cv::Vec3b>(1, 1) == cv::Vec3b(255, 0, 0));  // index 2 = blue
  // Transparent index 1 shows the background colour (index 3, white).
  const DecodedImage t = decode(makeGif(7, 5, 1));
  CHECK(t.bgr.at<cv::Vec3b>(0, 1) == cv::Vec3b(255, 255, 255));
  CHECK(t.bgr.at<cv::Vec3b>(0, 0) == cv::Vec3b(0, 0, 255));
}

TEST(ico_picks_the_biggest_entry_png_or_bmp) {
  const cv::Mat small = gradient(16, 16), big = gradient(32, 32);
  const DecodedImage png = decode(makeIco({{16, icoBmpEntry(small)}, {32, encode(".png", big)}}));
  CHECK(png.format == ImageFormat::Ico);
  CHECK(png.bgr.cols == 32 && cv::norm(png.bgr, big, cv::NORM_INF) == 0);
  const DecodedImage bmp = decode(makeIco({{16, encode(".png", small)}, {32, icoBmpEntry(big)}}));
  CHECK(bmp.bgr.cols == 32 && bmp.bgr.rows == 32);
  CHECK(cv::norm(bmp.bgr, big, cv::NORM_INF) == 0);
}

TEST(exif_orientation_is_applied) {
  const cv::Mat source = gradient(40, 20);
  const DecodedImage plain = decode(jpegWithOrientation(source, 1));
  CHECK(plain.bgr.cols == 40 && plain.bgr.rows == 20);
  const DecodedImage rotated = decode(jpegWithOrientation(source, 6));  // 6 = rotate 90 clockwise to display
  CHECK(rotated.bgr.cols == 20 && rotated.bgr.rows == 40);
  cv::Mat expected;
  cv::rotate(decode(encode(".jpg", source)).bgr, expected, cv::ROTATE_90_CLOCKWISE);
  CHECK(cv::norm(rotated.bgr, expected, cv::NORM_INF) <= 2);
}

TEST(one_pixel_images_decode) {
  const cv::Mat pixel(1, 1, CV_8UC3, cv::Scalar(1, 2, 3));
  for (const char* ext : {".jpg", ".png", ".bmp", ".tiff", ".webp"}) {
    const DecodedImage image = decode(encode(ext, pixel));
    CHECK(image.bgr.cols == 1 && image.bgr.rows == 1);
  }
  CHECK(decode(makeGif(1, 1)).bgr.total() == 1);
  CHECK(decode(makeIco({{1, encode(".png", pixel)}})).bgr.total() == 1);
}

TEST(huge_claimed_sizes_are_rejected_from_the_header) {
  std::vector<Bytes> claims = {pngClaiming(50000, 50000)};
  // A real JPEG whose frame header is patched to claim 50000x50000.
  Bytes jpeg = encode(".jpg", gradient(16, 16));
  for (size_t i = 2; i + 8 < jpeg.size(); ++i)
    if (jpeg[i] == 0xFF && jpeg[i + 1] == 0xC0) {
      jpeg[i + 5] = jpeg[i + 7] = 0xC3;
      jpeg[i + 6] = jpeg[i + 8] = 0x50;
      break;
    }
  claims.push_back(jpeg);
  Bytes gif = makeGif(4, 4);
  putLe16(gif, 6, 60000);
  putLe16(gif, 8, 60000);
  claims.push_back(gif);
  Bytes bmp = encode(".bmp", gradient(4, 4));
  putLe32(bmp, 18, 40000);
  putLe32(bmp, 22, static_cast<uint32_t>(-40000));
  claims.push_back(bmp);
  const auto start = std::chrono::steady_clock::now();
  for (const Bytes& claim : claims) CHECK_THROWS_CODE(decode(claim), ErrorCode::ImageTooLarge);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  CHECK(ms < 200);  // nothing was decoded (7.5 GB of pixels each), even under sanitizers on a busy machine
}

TEST(tiff_tiles_far_bigger_than_the_image_are_refused) {
  // A hand-made little-endian TIFF directory: 16x16 image, 60000x60000 tiles (OpenCV would allocate a tile).
  Bytes tiff = {'I', 'I', 42, 0, 8, 0, 0, 0, 4, 0};
  for (auto [tag, value] : {std::pair<uint16_t, uint32_t>{256, 16}, {257, 16}, {322, 60000}, {323, 60000}}) {
    const size_t at = tiff.size();
    tiff.resize(at + 12, 0);
    putLe16(tiff, at, tag);
    putLe16(tiff, at + 2, 4);  // LONG
    putLe32(tiff, at + 4, 1);
    putLe32(tiff, at + 8, value);
  }
  tiff.resize(tiff.size() + 4, 0);
  CHECK_THROWS_CODE(decode(tiff), ErrorCode::CorruptImage);
  ImageLimits unlimited;
  unlimited.maxWidth = unlimited.maxHeight = unlimited.maxPixels = INT64_MAX;
  CHECK_THROWS_CODE(decode(pngClaiming(0xFFFFFFFF, 0xFFFFFFFF), unlimited), ErrorCode::ImageTooLarge);
}

TEST(limits_are_configurable) {
  const Bytes png = encode(".png", gradient(200, 100));
  ImageLimits limits;
  limits.maxPixels = 200 * 100;
  CHECK(decode(png, limits).bgr.cols == 200);
  limits.maxPixels = 200 * 100 - 1;
  CHECK_THROWS_CODE(decode(png, limits), ErrorCode::ImageTooLarge);
  limits = ImageLimits();
  limits.maxWidth = 199;
  CHECK_THROWS_CODE(decode(png, limits), ErrorCode::ImageTooLarge);
  limits = ImageLimits();
  limits.maxHeight = 99;
  CHECK_THROWS_CODE(decode(png, limits), ErrorCode::ImageTooLarge);
  limits = ImageLimits();
  limits.maxBytes = png.size() - 1;
  CHECK_THROWS_CODE(decode(png, limits), ErrorCode::ImageTooLarge);
}

TEST(empty_unknown_and_random_bytes_fail_cleanly) {
  CHECK_THROWS_CODE(decode(Bytes()), ErrorCode::CorruptImage);
  CHECK_THROWS_CODE(decode(Bytes{'h', 'e', 'l', 'l', 'o'}), ErrorCode::UnsupportedFormat);
  std::mt19937 rng(7);
  for (int round = 0; round < 200; ++round) {
    Bytes noise(1 + rng() % 4096);
    for (auto& b : noise) b = static_cast<uint8_t>(rng());
    CHECK_THROWS_CODE(decode(noise), ErrorCode::UnsupportedFormat);
  }
}

TEST(random_bytes_behind_a_valid_magic_never_crash) {
  std::mt19937 rng(11);
  const Bytes magics[] = {{0xFF, 0xD8, 0xFF}, {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'},
                          {'B', 'M'},         {'G', 'I', 'F', '8', '9', 'a'},
                          {'I', 'I', '*', 0}, {0, 0, 1, 0}};
  for (const Bytes& magic : magics)
    for (int round = 0; round < 100; ++round) {
      Bytes data = magic;
      const size_t extra = rng() % 2048;
      for (size_t i = 0; i < extra; ++i) data.push_back(static_cast<uint8_t>(rng()));
      try {
        const DecodedImage image = decode(data);
        CHECK(image.bgr.type() == CV_8UC3);
      } catch (const EngineError& e) {
        CHECK(e.code() == ErrorCode::CorruptImage || e.code() == ErrorCode::ImageTooLarge);
      }
    }
}

TEST(truncated_files_are_corrupt) {
  const cv::Mat source = gradient(64, 48);
  std::vector<std::pair<std::string, Bytes>> files;
  for (const char* ext : {".jpg", ".png", ".bmp", ".tiff", ".webp"}) files.emplace_back(ext, encode(ext, source));
  files.emplace_back(".gif", makeGif(64, 48));
  files.emplace_back(".ico", makeIco({{64, encode(".png", source)}}));
  for (const auto& [ext, bytes] : files)
    for (double keep : {0.9, 0.5, 0.1}) {
      const Bytes cut(bytes.begin(), bytes.begin() + static_cast<long>(bytes.size() * keep));
      try {
        decode(cut);
        FS_FAIL(ext << " cut to " << keep << " decoded");
      } catch (const EngineError& e) {
        if (e.code() != ErrorCode::CorruptImage) FS_FAIL(ext << " cut to " << keep << ": " << errorCodeName(e.code()));
      }
    }
}
