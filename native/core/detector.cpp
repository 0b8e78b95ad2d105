#include "detector.h"

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>

#include "errors.h"

namespace faceserver {

namespace {

constexpr int kNetWidth = 320;
constexpr int kNetHeight = 240;
constexpr float kNmsIou = 0.4f;
constexpr double kSmallestNetFace = 20.0;  // px in the net's input that it still finds reliably
constexpr double kLevelStep = 3.0;         // scale ratio between pyramid levels
constexpr int kWindowOverlap = 80;         // net px shared by neighbouring windows of one level
constexpr float kEdgeMargin = 2.f;         // net px: a box this close to a cut window edge is partial
constexpr float kInsideShare = 0.6f;       // a box this much inside a bigger one is a part of that face

// True when `small` lies mostly inside the bigger `big`: a fine pyramid window that saw only part of a big
// face (say mouth and nose) can score that part as a face of its own.
bool isPartOf(const cv::Rect2f& small, const cv::Rect2f& big) {
  return big.area() > small.area() && (small & big).area() > kInsideShare * small.area();
}

float iou(const cv::Rect2f& a, const cv::Rect2f& b) {
  const float inter = (a & b).area();
  const float uni = a.area() + b.area() - inter;
  return uni > 0.f ? inter / uni : 0.f;
}

// Evenly spaced window starts covering [0, total) with windows of `size` and at most `step` apart.
std::vector<int> windowStarts(int total, int size, int step) {
  if (size >= total) return {0};
  const int count = static_cast<int>(std::ceil(static_cast<double>(total - size) / std::max(step, 1))) + 1;
  std::vector<int> starts;
  for (int i = 0; i < count; ++i)
    starts.push_back(static_cast<int>(std::lround(double(i) * (total - size) / (count - 1))));
  return starts;
}

cv::Rect2f squareAndClip(const cv::Rect2f& box, const cv::Size& image) {
  const float side = box.height;
  const float cx = box.x + box.width / 2.f;
  const cv::Rect2f square(cx - side / 2.f, box.y, side, side);
  return square & cv::Rect2f(0.f, 0.f, static_cast<float>(image.width), static_cast<float>(image.height));
}

}  // namespace

void Detector::detectWindow(const cv::Mat& image, const cv::Rect& region, double scale, float minScore,
                            std::vector<Candidate>& out) {
  const int width = std::min(kNetWidth, static_cast<int>(std::lround(region.width * scale)));
  const int height = std::min(kNetHeight, static_cast<int>(std::lround(region.height * scale)));
  if (width < 1 || height < 1) return;
  // Letterbox: the scaled region at the top-left, the rest mid-grey (zero after the net's normalisation).
  cv::Mat canvas(kNetHeight, kNetWidth, CV_8UC3, cv::Scalar::all(127));
  cv::resize(image(region), canvas(cv::Rect(0, 0, width, height)), cv::Size(width, height), 0, 0,
             scale < 1.0 ? cv::INTER_AREA : cv::INTER_LINEAR);
  const cv::Mat blob = cv::dnn::blobFromImage(canvas, 1.0 / 128.0, cv::Size(), cv::Scalar::all(127), false, false);
  net_.setInput(blob, "input");
  std::vector<cv::Mat> outputs;
  net_.forward(outputs, std::vector<cv::String>{"scores", "boxes"});
  ++forwards_;
  const cv::Mat& scores = outputs[0];
  const cv::Mat& boxes = outputs[1];
  if (scores.total() % 2 != 0 || boxes.total() != scores.total() * 2)
    throw EngineError(ErrorCode::Internal, "detector output has an unexpected shape");
  const int anchors = static_cast<int>(scores.total() / 2);
  const float* s = scores.ptr<float>();
  const float* b = boxes.ptr<float>();

  const bool cutLeft = region.x > 0, cutTop = region.y > 0;
  const bool cutRight = region.x + region.width < image.cols, cutBottom = region.y + region.height < image.rows;
  for (int i = 0; i < anchors; ++i) {
    const float score = s[2 * i + 1];
    if (!(score >= minScore)) continue;  // also rejects NaN
    const float x1 = std::max(0.f, b[4 * i] * kNetWidth), y1 = std::max(0.f, b[4 * i + 1] * kNetHeight);
    const float x2 = std::min<float>(width, b[4 * i + 2] * kNetWidth);
    const float y2 = std::min<float>(height, b[4 * i + 3] * kNetHeight);
    if (!(x2 > x1 && y2 > y1)) continue;
    if ((cutLeft && x1 <= kEdgeMargin) || (cutTop && y1 <= kEdgeMargin) || (cutRight && x2 >= width - kEdgeMargin) ||
        (cutBottom && y2 >= height - kEdgeMargin))
      continue;
    const float inv = static_cast<float>(1.0 / scale);
    out.push_back({cv::Rect2f(region.x + x1 * inv, region.y + y1 * inv, (x2 - x1) * inv, (y2 - y1) * inv), score});
  }
}

std::vector<Detector::Candidate> Detector::detectPyramid(const cv::Mat& image, const DetectOptions& options) {
  std::vector<Candidate> candidates;
  const cv::Rect whole(0, 0, image.cols, image.rows);
  double scale = std::min(double(kNetWidth) / image.cols, double(kNetHeight) / image.rows);
  detectWindow(image, whole, scale, options.minScore, candidates);

  const double finestScale = std::min(1.0, kSmallestNetFace / std::max(options.minFaceSize, 20));
  while (finestScale / scale > 1.3) {
    scale = std::min(scale * kLevelStep, finestScale);
    const int windowWidth = std::min(image.cols, static_cast<int>(kNetWidth / scale));
    const int windowHeight = std::min(image.rows, static_cast<int>(kNetHeight / scale));
    const int stepX = static_cast<int>((kNetWidth - kWindowOverlap) / scale);
    const int stepY = static_cast<int>((kNetHeight - kWindowOverlap) / scale);
    for (int y : windowStarts(image.rows, windowHeight, stepY))
      for (int x : windowStarts(image.cols, windowWidth, stepX))
        detectWindow(image, cv::Rect(x, y, windowWidth, windowHeight), scale, options.minScore, candidates);
  }
  return candidates;
}

std::vector<Face> Detector::detect(const cv::Mat& bgr, const DetectOptions& options) {
  if (bgr.empty() || bgr.type() != CV_8UC3) throw EngineError(ErrorCode::InvalidArgument, "detector needs a BGR image");
  forwards_ = 0;
  std::vector<Candidate> candidates = detectPyramid(bgr, options);
  if (candidates.empty()) {
    // A tight crop: give the net the context it was trained with, by a grey border around the image.
    const int pad = std::max(1, std::max(bgr.cols, bgr.rows) / 4);
    cv::Mat padded;
    cv::copyMakeBorder(bgr, padded, pad, pad, pad, pad, cv::BORDER_CONSTANT, cv::Scalar::all(127));
    const double scale = std::min(double(kNetWidth) / padded.cols, double(kNetHeight) / padded.rows);
    detectWindow(padded, cv::Rect(0, 0, padded.cols, padded.rows), scale, options.minScore, candidates);
    for (auto& c : candidates) c.box -= cv::Point2f(static_cast<float>(pad), static_cast<float>(pad));
  }

  std::sort(candidates.begin(), candidates.end(), [](const auto& a, const auto& b) { return a.score > b.score; });
  std::vector<Candidate> kept;
  for (const auto& c : candidates)
    if (std::none_of(kept.begin(), kept.end(), [&](const auto& k) { return iou(k.box, c.box) > kNmsIou; }))
      kept.push_back(c);
  std::vector<Face> faces;
  for (const auto& c : kept) {
    if (std::any_of(kept.begin(), kept.end(), [&](const auto& k) { return isPartOf(c.box, k.box); })) continue;
    Face face;
    face.box = squareAndClip(c.box, bgr.size());
    face.score = c.score;
    if (face.box.area() > 0.f) faces.push_back(face);
  }
  std::stable_sort(faces.begin(), faces.end(),
                   [](const Face& a, const Face& b) { return a.box.area() > b.box.area(); });
  if (options.maxFaces > 0 && faces.size() > static_cast<size_t>(options.maxFaces)) faces.resize(options.maxFaces);
  return faces;
}

}  // namespace faceserver
