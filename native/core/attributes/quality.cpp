#include "attributes/quality.h"

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>
#include <vector>

#include "attributes/face_crops.h"

namespace faceserver {

namespace {

constexpr int kFaceSide = 128;  // face measures run on the square box resized to this, so they do not depend
                                // on the photo's resolution

float clamp01(float v) {
  return std::clamp(v, 0.f, 1.f);
}

// 255 where a pixel of `region` resized to side x side lies inside the image (crops replicate the edge
// outside it, which must not count as face or background).
cv::Mat insideImageMask(const cv::Size& image, const cv::Rect2f& region, int side) {
  const float s = side / region.width;
  cv::Mat mask(side, side, CV_8U, cv::Scalar(0));
  const cv::Rect inside(cvRound(-region.x * s), cvRound(-region.y * s), cvRound(image.width * s),
                        cvRound(image.height * s));
  mask(inside & cv::Rect(0, 0, side, side)).setTo(255);
  return mask;
}

// The face polygon (jaw line, then the eyebrows right to left) in the coordinates of `square` resized to side.
cv::Mat facePolygonMask(const Face& face, const cv::Rect2f& square, int side) {
  const float s = side / square.width;
  std::vector<cv::Point> poly;
  auto add = [&](int i) {
    poly.emplace_back(cvRound((face.landmarks[i].x - square.x) * s), cvRound((face.landmarks[i].y - square.y) * s));
  };
  for (int i = 0; i <= 16; ++i) add(i);
  for (int i = 26; i >= 17; --i) add(i);
  std::vector<cv::Point> hull;
  cv::convexHull(poly, hull);
  cv::Mat mask(side, side, CV_8U, cv::Scalar(0));
  cv::fillConvexPoly(mask, hull, cv::Scalar(255));
  return mask;
}

// OFIQ illumination uniformity: intersection of the normalised luminance histograms of the face's two halves.
float illuminationUniformity(const cv::Mat& gray, const cv::Mat& region, int splitX) {
  constexpr int kBins = 32;
  std::vector<double> left(kBins, 0.0), right(kBins, 0.0);
  double nl = 0, nr = 0;
  for (int y = 0; y < gray.rows; ++y)
    for (int x = 0; x < gray.cols; ++x) {
      if (!region.at<uchar>(y, x)) continue;
      const int bin = gray.at<uchar>(y, x) * kBins / 256;
      if (x < splitX)
        left[bin] += 1, nl += 1;
      else
        right[bin] += 1, nr += 1;
    }
  if (nl < 1 || nr < 1) return 0.f;
  double inter = 0;
  for (int b = 0; b < kBins; ++b) inter += std::min(left[b] / nl, right[b] / nr);
  return static_cast<float>(inter);
}

float shareAtOrAbove(const cv::Mat& gray, const cv::Mat& region, int level) {
  const double n = cv::countNonZero(region);
  if (n < 1) return 0.f;
  return static_cast<float>(cv::countNonZero((gray >= level) & region) / n);
}

// Thin strokes of text or logo overlays: strong small-scale top-hat responses on the skin (eyes, brows,
// nostrils and mouth are masked out because they are thin dark strokes themselves).
float strokeShare(const cv::Mat& gray, const cv::Mat& region, const Face& face, const cv::Rect2f& square) {
  const float s = gray.cols / square.width;
  cv::Mat skin = region.clone();
  auto blank = [&](std::initializer_list<int> idx, float grow) {
    std::vector<cv::Point> pts;
    for (int i : idx)
      pts.emplace_back(cvRound((face.landmarks[i].x - square.x) * s), cvRound((face.landmarks[i].y - square.y) * s));
    const cv::Rect r = cv::boundingRect(pts);
    const int g = cvRound(grow * std::max(r.width, r.height));
    cv::rectangle(skin, cv::Rect(r.x - g, r.y - g, r.width + 2 * g, r.height + 2 * g), cv::Scalar(0), cv::FILLED);
  };
  blank({17, 18, 19, 20, 21, 36, 37, 38, 39, 40, 41}, 0.15f);
  blank({22, 23, 24, 25, 26, 42, 43, 44, 45, 46, 47}, 0.15f);
  blank({31, 32, 33, 34, 35}, 0.3f);
  blank({48, 50, 52, 54, 56, 58}, 0.2f);
  const double n = cv::countNonZero(skin);
  if (n < 50) return 0.f;
  const cv::Mat kernel = cv::getStructuringElement(cv::MORPH_RECT, cv::Size(5, 5));
  cv::Mat white, black;
  cv::morphologyEx(gray, white, cv::MORPH_TOPHAT, kernel);
  cv::morphologyEx(gray, black, cv::MORPH_BLACKHAT, kernel);
  const cv::Mat strokes = ((white > 40) | (black > 40)) & skin;
  return static_cast<float>(cv::countNonZero(strokes) / n);
}

// Gradient magnitude beside and above the head, in a ring between 1.2x and 2x the face box.
float backgroundGradient(const cv::Mat& bgr, const Face& face) {
  constexpr int kSide = 128;  // the 2x region resized to this (face box = 64 px)
  const cv::Rect2f outer = scaledSquare(face.box, 2.f);
  // A face that fills the photo leaves no background inside it to measure (and its 2x region is larger than
  // any face crop may be).
  if (outer.width > 2.f * bgr.cols || outer.height > 2.f * bgr.rows) return 0.f;
  const cv::Mat crop = cropWithBorder(bgr, outer);
  if (crop.empty()) return 0.f;
  cv::Mat gray;
  cv::cvtColor(crop, gray, cv::COLOR_BGR2GRAY);
  cv::resize(gray, gray, cv::Size(kSide, kSide), 0, 0, cv::INTER_AREA);
  cv::Mat valid = insideImageMask(bgr.size(), outer, kSide);
  cv::erode(valid, valid, cv::Mat(), cv::Point(-1, -1), 2);  // the image edge is not background texture
  cv::Mat ring = valid.clone();
  const int inner0 = cvRound(kSide * (1.f - 1.2f / 2.f) / 2.f), innerSide = cvRound(kSide * 1.2f / 2.f);
  cv::rectangle(ring, cv::Rect(inner0, inner0, innerSide, innerSide), cv::Scalar(0), cv::FILLED);
  // Below the chin line is neck and clothing, not background.
  cv::rectangle(ring, cv::Rect(0, kSide * 3 / 4, kSide, kSide - kSide * 3 / 4), cv::Scalar(0), cv::FILLED);
  if (cv::countNonZero(ring) < 100) return 0.f;
  cv::Mat gx, gy, mag;
  cv::Sobel(gray, gx, CV_32F, 1, 0);
  cv::Sobel(gray, gy, CV_32F, 0, 1);
  cv::magnitude(gx, gy, mag);
  return static_cast<float>(cv::mean(mag, ring)[0]);
}

}  // namespace

float laplacianVariance(const cv::Mat& gray, const cv::Mat& region) {
  cv::Mat lap;
  cv::Laplacian(gray, lap, CV_32F, 3);
  cv::Scalar mean, stddev;
  cv::meanStdDev(lap, mean, stddev, region);
  return static_cast<float>(stddev[0] * stddev[0]);
}

// Immerkaer (1996): sigma = sqrt(pi/2) / 6 * mean |I * M|, M the difference of two Laplacians, which cancels
// smooth image structure; strong edges are left out because they would read as noise.
float noiseSigma(const cv::Mat& gray, const cv::Mat& region) {
  const cv::Mat m = (cv::Mat_<float>(3, 3) << 1, -2, 1, -2, 4, -2, 1, -2, 1);
  cv::Mat response, gx, gy, mag;
  cv::filter2D(gray, response, CV_32F, m);
  cv::Sobel(gray, gx, CV_32F, 1, 0);
  cv::Sobel(gray, gy, CV_32F, 0, 1);
  cv::magnitude(gx, gy, mag);
  cv::Mat flat = region.clone();
  flat.setTo(0, mag > 60.f);
  cv::erode(flat, flat, cv::Mat());
  if (cv::countNonZero(flat) < 50) return 0.f;
  const double meanAbs = cv::mean(cv::abs(response), flat)[0];
  return static_cast<float>(std::sqrt(CV_PI / 2.0) * meanAbs / 6.0);
}

float luminanceEntropyBits(const cv::Mat& gray, const cv::Mat& region) {
  std::vector<double> hist(256, 0.0);
  double n = 0;
  for (int y = 0; y < gray.rows; ++y)
    for (int x = 0; x < gray.cols; ++x)
      if (region.at<uchar>(y, x)) hist[gray.at<uchar>(y, x)] += 1, n += 1;
  if (n < 1) return 0.f;
  double bits = 0;
  for (double h : hist)
    if (h > 0) bits -= (h / n) * std::log2(h / n);
  return static_cast<float>(bits);
}

QualityResult assessQuality(const cv::Mat& bgr, const Face& face, const QualityInputs& in, const QualityThresholds& t) {
  QualityResult q;
  const cv::Rect2f square = squareBox(face.box);
  cv::Mat gray;
  cv::cvtColor(cropWithBorder(bgr, square), gray, cv::COLOR_BGR2GRAY);
  cv::resize(gray, gray, cv::Size(kFaceSide, kFaceSide), 0, 0, cv::INTER_AREA);
  cv::Mat region = facePolygonMask(face, square, kFaceSide);
  // Keep only face pixels that lie inside the photo (the crop repeats its edge outside it).
  region &= insideImageMask(bgr.size(), square, kFaceSide);

  q.faceLuminance = static_cast<float>(cv::mean(gray, region)[0]);
  q.interEyeDistance = static_cast<float>(cv::norm(rightEyeCentre(face.landmarks) - leftEyeCentre(face.landmarks)));

  const float lapVar = laplacianVariance(gray, region);
  q.sharpness.score = lapVar / (lapVar + 500.f);
  q.sharpness.ok = q.sharpness.score >= t.sharpness;

  const float noseX = (meanPoint(face.landmarks, {27, 28, 29, 30}).x - square.x) * kFaceSide / square.width;
  q.illumination.score = illuminationUniformity(gray, region, cvRound(noseX));
  q.illumination.ok = q.illumination.score >= t.illumination;

  q.flare.score = shareAtOrAbove(gray, region, 247);
  q.flare.ok = q.flare.score <= t.flareShare;

  q.leftEyeOpenness.score = 1.f - in.eyes.leftClosed;
  q.leftEyeOpenness.ok = q.leftEyeOpenness.score >= t.eyeOpenness;
  q.rightEyeOpenness.score = 1.f - in.eyes.rightClosed;
  q.rightEyeOpenness.ok = q.rightEyeOpenness.score >= t.eyeOpenness;

  float worst = in.pose.yaw;
  for (float a : {in.pose.pitch, in.pose.roll})
    if (std::fabs(a) > std::fabs(worst)) worst = a;
  q.rotation.score = worst;
  q.rotation.ok = std::fabs(worst) <= t.maxRotation;

  q.notMasked.score = 1.f - in.mask.probability;
  q.notMasked.ok = q.notMasked.score >= t.notMasked;

  q.neutralEmotion.score = in.emotion.probabilities[static_cast<int>(Emotion::Neutral)];
  q.neutralEmotion.ok = q.neutralEmotion.score >= t.neutralEmotion;

  q.eyesDistance.score = q.interEyeDistance;
  q.eyesDistance.ok = q.interEyeDistance >= t.minEyesDistance;

  // Margins around the box: outer = pixels missing from the required margin on the worst side,
  // inner = pixels of margin beyond the largest allowed on the worst side (face too small in the frame).
  const float side = square.width;
  const float margins[4] = {face.box.x, face.box.y, bgr.cols - (face.box.x + face.box.width),
                            bgr.rows - (face.box.y + face.box.height)};
  for (float m : margins) {
    q.marginOuterDeviation = std::max(q.marginOuterDeviation, t.marginOuter * side - m);
    q.marginInnerDeviation = std::max(q.marginInnerDeviation, m - t.marginInner * side);
  }
  q.marginOuterDeviation = std::max(0.f, q.marginOuterDeviation);
  q.marginInnerDeviation = std::max(0.f, q.marginInnerDeviation);
  q.margins.ok = q.marginOuterDeviation == 0.f && q.marginInnerDeviation == 0.f;
  q.margins.score = q.margins.ok ? 1.f : 0.f;

  q.noise.score = clamp01(1.f - noiseSigma(gray, region) / 8.f);
  q.noise.ok = q.noise.score >= t.noise;

  q.watermark.score = clamp01(strokeShare(gray, region, face, square) / 0.06f);
  q.watermark.ok = q.watermark.score <= t.watermark;

  q.backgroundUniformity.score = std::exp(-backgroundGradient(bgr, face) / 25.f);
  q.backgroundUniformity.ok = q.backgroundUniformity.score >= t.backgroundUniformity;

  q.dynamicRange.score = luminanceEntropyBits(gray, region);
  q.dynamicRange.ok = q.dynamicRange.score >= t.dynamicRange;

  // Total: the mean of the measures that describe the capture itself, each mapped to [0,1].
  const float parts[] = {q.sharpness.score,
                         q.illumination.score,
                         clamp01(1.f - q.flare.score * 10.f),
                         std::min(q.leftEyeOpenness.score, q.rightEyeOpenness.score),
                         clamp01(1.f - std::fabs(worst) / 45.f),
                         q.notMasked.score,
                         clamp01(q.interEyeDistance / t.minEyesDistance),
                         q.noise.score,
                         clamp01(q.dynamicRange.score / 7.f)};
  float sum = 0.f;
  for (float p : parts) sum += p;
  q.total.score = sum / static_cast<float>(sizeof(parts) / sizeof(parts[0]));
  q.total.ok = q.total.score >= t.total;
  return q;
}

}  // namespace faceserver
