#include "attributes/mask_features.h"

#include <cmath>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>

#include "aligner.h"
#include "errors.h"
#include "landmarks.h"

namespace faceserver {

namespace {

// Regions of the aligned face (eyes at y~52, nose tip ~72, mouth ~92).
const cv::Rect kForehead(38, 12, 36, 18);
const cv::Rect kUnderEyes(28, 58, 56, 10);  // cheekbones and the nose bridge: a mask's upper edge
const cv::Rect kNose(44, 60, 24, 18);
const cv::Rect kLowerFace(24, 78, 64, 32);  // mouth and chin: what a mask covers

// Mean and standard deviation of L, a, b, hue-free saturation; 12 values for a region in Lab + HSV.
void colourStats(const cv::Mat& lab, const cv::Mat& hsv, const cv::Rect& r, std::vector<float>& out) {
  cv::Scalar m, s, hm, hs;
  cv::meanStdDev(lab(r), m, s);
  cv::meanStdDev(hsv(r), hm, hs);
  for (int c = 0; c < 3; ++c) out.push_back(static_cast<float>(m[c] / 128.0));
  for (int c = 0; c < 3; ++c) out.push_back(static_cast<float>(s[c] / 64.0));
  out.push_back(static_cast<float>(hm[1] / 255.0));
  out.push_back(static_cast<float>(hs[1] / 128.0));
  out.push_back(static_cast<float>(hm[2] / 255.0));
  out.push_back(static_cast<float>(hs[2] / 128.0));
  // Hue is circular; use the mean of its unit vector.
  double sx = 0, sy = 0;
  const cv::Mat h = hsv(r);
  for (int y = 0; y < h.rows; ++y)
    for (int x = 0; x < h.cols; ++x) {
      const double a = h.at<cv::Vec3b>(y, x)[0] * (CV_PI / 90.0);
      sx += std::cos(a), sy += std::sin(a);
    }
  const double n = static_cast<double>(r.area());
  out.push_back(static_cast<float>(sx / n));
  out.push_back(static_cast<float>(sy / n));
}

// Share of the region's pixels whose Lab colour is within `radius` of `reference` (skin-like pixels).
float shareNear(const cv::Mat& lab, const cv::Rect& r, const cv::Scalar& reference, double radius) {
  int near = 0;
  const cv::Mat roi = lab(r);
  for (int y = 0; y < roi.rows; ++y)
    for (int x = 0; x < roi.cols; ++x) {
      const cv::Vec3b p = roi.at<cv::Vec3b>(y, x);
      const double dl = (p[0] - reference[0]) * 0.5, da = p[1] - reference[1], db = p[2] - reference[2];
      if (dl * dl + da * da + db * db < radius * radius) ++near;
    }
  return static_cast<float>(near) / static_cast<float>(r.area());
}

float gradientEnergy(const cv::Mat& gray, const cv::Rect& r) {
  cv::Mat gx, gy, mag;
  cv::Sobel(gray(r), gx, CV_32F, 1, 0);
  cv::Sobel(gray(r), gy, CV_32F, 0, 1);
  cv::magnitude(gx, gy, mag);
  return static_cast<float>(cv::mean(mag)[0]);
}

}  // namespace

cv::Mat alignFace112(const cv::Mat& bgr, const Face& face) {
  return alignFace(bgr, alignmentPoints(face));
}

std::vector<float> maskFeatures(const cv::Mat& aligned112) {
  if (aligned112.size() != cv::Size(112, 112) || aligned112.type() != CV_8UC3)
    throw EngineError(ErrorCode::InvalidArgument, "mask features need a 112x112 BGR face");
  cv::Mat lab, hsv, gray;
  cv::cvtColor(aligned112, lab, cv::COLOR_BGR2Lab);
  cv::cvtColor(aligned112, hsv, cv::COLOR_BGR2HSV);
  cv::cvtColor(aligned112, gray, cv::COLOR_BGR2GRAY);

  std::vector<float> f;
  f.reserve(kMaskFeatureCount);
  colourStats(lab, hsv, kForehead, f);
  colourStats(lab, hsv, kLowerFace, f);

  // Skin reference: the forehead's mean colour. A mask makes the nose and lower face unlike it.
  const cv::Scalar skin = cv::mean(lab(kForehead));
  f.push_back(shareNear(lab, kUnderEyes, skin, 12.0));
  f.push_back(shareNear(lab, kNose, skin, 12.0));
  f.push_back(shareNear(lab, kLowerFace, skin, 12.0));
  f.push_back(shareNear(lab, kLowerFace, skin, 24.0));

  const float upperTexture = gradientEnergy(gray, kForehead) + 1.f;
  f.push_back(gradientEnergy(gray, kLowerFace) / upperTexture);
  f.push_back(gradientEnergy(gray, kNose) / upperTexture);

  // Shape of the lower face: a coarse HOG (3 blocks of 2x2 cells, 9 bins) over mouth and chin.
  static const cv::HOGDescriptor hog(cv::Size(64, 32), cv::Size(32, 32), cv::Size(16, 16), cv::Size(16, 16), 9);
  std::vector<float> h;
  hog.compute(gray(kLowerFace), h);
  f.insert(f.end(), h.begin(), h.end());
  if (static_cast<int>(f.size()) != kMaskFeatureCount)
    throw EngineError(ErrorCode::Internal, "mask feature count changed: " + std::to_string(f.size()));
  return f;
}

}  // namespace faceserver
