#include "landmarks.h"

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <opencv2/imgproc.hpp>

#include "errors.h"

namespace faceserver {

namespace {

constexpr int kInputSide = 64;
constexpr int kPoints = 68;

cv::Point2f mean(const Face& face, std::initializer_list<int> indices) {
  cv::Point2f sum(0.f, 0.f);
  for (int i : indices) sum += face.landmarks[i];
  return sum / static_cast<float>(indices.size());
}

// The square of side max(w, h) centred on the box, as whole pixels.
cv::Rect squareAround(const cv::Rect2f& box) {
  const float side = std::max(box.width, box.height);
  const float cx = box.x + box.width / 2.f, cy = box.y + box.height / 2.f;
  const int s = std::max(1, static_cast<int>(std::lround(side)));
  return cv::Rect(static_cast<int>(std::lround(cx - side / 2.f)), static_cast<int>(std::lround(cy - side / 2.f)), s, s);
}

// The pixels of `rect`, with the part outside the image filled by replicating its edge.
cv::Mat cropWithBorder(const cv::Mat& image, const cv::Rect& rect) {
  const cv::Rect inside = rect & cv::Rect(0, 0, image.cols, image.rows);
  if (inside.area() == 0) return cv::Mat(rect.size(), image.type(), cv::Scalar::all(0));
  cv::Mat crop;
  cv::copyMakeBorder(image(inside), crop, inside.y - rect.y, rect.br().y - inside.br().y, inside.x - rect.x,
                     rect.br().x - inside.br().x, cv::BORDER_REPLICATE);
  return crop;
}

}  // namespace

void LandmarkModel::fit(const cv::Mat& bgr, Face& face) {
  const cv::Rect square = squareAround(face.box);
  cv::Mat grey;
  cv::cvtColor(cropWithBorder(bgr, square), grey, cv::COLOR_BGR2GRAY);
  cv::Mat input;
  cv::resize(grey, input, cv::Size(kInputSide, kInputSide), 0, 0,
             square.width > kInputSide ? cv::INTER_AREA : cv::INTER_LINEAR);
  net_.setInput(cv::dnn::blobFromImage(input, 1.0 / 256.0), "input");
  const cv::Mat out = net_.forward();
  if (out.total() != 2 * kPoints) throw EngineError(ErrorCode::Internal, "landmark output has an unexpected shape");
  const float* v = out.ptr<float>();
  for (int i = 0; i < kPoints; ++i)
    face.landmarks[i] = cv::Point2f(square.x + v[2 * i] * square.width, square.y + v[2 * i + 1] * square.height);
  face.hasLandmarks = true;
}

std::array<cv::Point2f, 5> alignmentPoints(const Face& face) {
  if (!face.hasLandmarks) throw EngineError(ErrorCode::InvalidArgument, "face has no landmarks");
  return {mean(face, {37, 38, 40, 41}), mean(face, {43, 44, 46, 47}), face.landmarks[30], mean(face, {48, 60}),
          mean(face, {54, 64})};
}

std::vector<NamedKeypoint> namedKeypoints(const Face& face) {
  if (!face.hasLandmarks) throw EngineError(ErrorCode::InvalidArgument, "face has no landmarks");
  const auto& p = face.landmarks;
  return {
      {"left_eye_brow_left", p[17]},
      {"left_eye_brow_up", p[19]},
      {"left_eye_brow_right", p[21]},
      {"right_eye_brow_left", p[22]},
      {"right_eye_brow_up", p[24]},
      {"right_eye_brow_right", p[26]},
      {"left_eye_left", p[36]},
      {"left_eye", mean(face, {36, 37, 38, 39, 40, 41})},
      {"left_eye_right", p[39]},
      {"right_eye_left", p[42]},
      {"right_eye", mean(face, {42, 43, 44, 45, 46, 47})},
      {"right_eye_right", p[45]},
      {"left_ear_bottom", p[2]},
      {"right_ear_bottom", p[14]},
      {"nose_left", p[31]},
      {"nose", p[30]},
      {"nose_right", p[35]},
      {"mouth_left", p[48]},
      {"mouth", mean(face, {62, 66})},
      {"mouth_right", p[54]},
      {"chin", p[8]},
  };
}

}  // namespace faceserver
