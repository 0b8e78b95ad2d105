#include "synthetic_mask.h"

#include <algorithm>
#include <opencv2/imgproc.hpp>
#include <vector>

namespace masktool {

namespace {

// Common mask colours (BGR): surgical blue and green, white, black, greys, navy, pink, beige.
const cv::Scalar kPalette[] = {{225, 195, 140}, {200, 215, 170}, {240, 240, 240}, {35, 35, 35},  {128, 128, 128},
                               {90, 50, 25},    {190, 170, 235}, {170, 200, 220}, {60, 60, 150}, {200, 200, 200}};

cv::Scalar pickColour(cv::RNG& rng) {
  if (rng.uniform(0, 5) == 0) return cv::Scalar(rng.uniform(0, 256), rng.uniform(0, 256), rng.uniform(0, 256));
  return kPalette[rng.uniform(0, static_cast<int>(sizeof(kPalette) / sizeof(kPalette[0])))];
}

// The mask outline: up from one jaw point over the nose bridge to the other, then down the jaw and under the
// chin, pushed slightly outward from the face centre (a mask stands off the skin).
std::vector<cv::Point> outline(const faceserver::Face& face, cv::RNG& rng) {
  const auto& p = face.landmarks;
  const int side = rng.uniform(1, 3);  // start at jaw point 1 or 2 (cheekbone height)
  const cv::Point2f bridge = p[28] + (p[29] - p[28]) * rng.uniform(0.f, 1.2f);
  const cv::Point2f centre = (p[30] + p[8]) * 0.5f;
  const float puff = rng.uniform(0.02f, 0.10f);
  std::vector<cv::Point> poly;
  const cv::Point2f left = p[side], right = p[16 - side];
  // Upper edge: a gentle curve through the bridge.
  for (int i = 0; i <= 6; ++i) {
    const float t = i / 6.f;
    const cv::Point2f a = left + (bridge - left) * t;
    poly.emplace_back(cvRound(a.x), cvRound(a.y - std::sin(t * CV_PI / 2) * 0.02f * cv::norm(right - left)));
  }
  for (int i = 1; i <= 6; ++i) {
    const float t = i / 6.f;
    const cv::Point2f a = bridge + (right - bridge) * t;
    poly.emplace_back(cvRound(a.x), cvRound(a.y));
  }
  // Lower edge: the jaw from right to left, stretched outward and below the chin.
  for (int i = 16 - side; i >= side; --i) {
    cv::Point2f q = p[i] + (p[i] - centre) * puff;
    if (i >= 6 && i <= 10) q.y += rng.uniform(0.f, 0.06f) * cv::norm(p[8] - p[27]);
    poly.emplace_back(cvRound(q.x), cvRound(q.y));
  }
  return poly;
}

void paintTexture(cv::Mat& layer, const cv::Rect& box, cv::RNG& rng) {
  const int kind = rng.uniform(0, 4);
  const cv::Scalar other = pickColour(rng);
  if (kind == 1) {  // pleats of a surgical mask
    const cv::Vec3b base = layer.at<cv::Vec3b>(box.y + box.height / 2, box.x + box.width / 2);
    const cv::Scalar fold(base[0] * 0.75, base[1] * 0.75, base[2] * 0.75);
    for (int k = 1; k <= 3; ++k) {
      const int y = box.y + box.height * k / 5;
      cv::line(layer, {box.x, y}, {box.x + box.width, y}, fold, std::max(1, box.height / 40));
    }
  } else if (kind == 2) {  // stripes or dots of a cloth mask
    const int step = std::max(3, box.width / rng.uniform(4, 12));
    for (int x = box.x; x < box.x + box.width; x += step)
      if (rng.uniform(0, 2))
        cv::line(layer, {x, box.y}, {x + step / 2, box.y + box.height}, other, std::max(1, step / 3));
      else
        cv::circle(layer, {x, box.y + rng.uniform(0, std::max(1, box.height))}, std::max(1, step / 4), other, -1);
  }
  // kind 0, 3: plain fabric
}

}  // namespace

void drawSyntheticMask(cv::Mat& bgr, const faceserver::Face& face, cv::RNG& rng) {
  const std::vector<cv::Point> poly = outline(face, rng);
  cv::Mat alpha(bgr.size(), CV_8U, cv::Scalar(0));
  cv::fillPoly(alpha, std::vector<std::vector<cv::Point>>{poly}, cv::Scalar(255), cv::LINE_AA);
  const cv::Rect box = cv::boundingRect(poly) & cv::Rect(0, 0, bgr.cols, bgr.rows);
  if (box.area() == 0) return;

  cv::Mat layer(bgr.size(), CV_8UC3, pickColour(rng));
  paintTexture(layer, box, rng);

  // Light it like the photo (mean brightness of the face) and shade it across the face like a curved surface.
  cv::Scalar faceMean = cv::mean(bgr(box));
  const double light = std::clamp((faceMean[0] + faceMean[1] + faceMean[2]) / 3.0 / 140.0, 0.35, 1.3);
  cv::Mat shaded;
  layer.convertTo(shaded, CV_32FC3);
  const float side = rng.uniform(-0.25f, 0.25f);
  for (int y = box.y; y < box.y + box.height; ++y)
    for (int x = box.x; x < box.x + box.width; ++x) {
      const float u = (x - box.x) / static_cast<float>(box.width) - 0.5f;
      const float shade = static_cast<float>(light) * (1.f - 0.5f * u * u * 2.f + side * u);
      shaded.at<cv::Vec3f>(y, x) *= shade;
    }
  cv::Mat noise(bgr.size(), CV_32FC3);
  cv::randn(noise, 0.0, rng.uniform(1.0, 8.0));
  shaded += noise;
  shaded.convertTo(layer, CV_8UC3);

  if (rng.uniform(0, 2)) {  // ear straps
    const auto& p = face.landmarks;
    const cv::Scalar strap = pickColour(rng) * light;
    const int t = std::max(1, cvRound(cv::norm(p[16] - p[0]) / 60.0));
    cv::line(layer, p[1], p[0] + (p[0] - p[2]) * 1.5f, strap, t);
    cv::line(layer, p[15], p[16] + (p[16] - p[14]) * 1.5f, strap, t);
    cv::line(alpha, p[1], p[0] + (p[0] - p[2]) * 1.5f, cv::Scalar(255), t);
    cv::line(alpha, p[15], p[16] + (p[16] - p[14]) * 1.5f, cv::Scalar(255), t);
  }
  cv::GaussianBlur(alpha, alpha, cv::Size(3, 3), 0);
  for (int y = 0; y < bgr.rows; ++y)
    for (int x = 0; x < bgr.cols; ++x) {
      const float a = alpha.at<uchar>(y, x) / 255.f;
      if (a <= 0.f) continue;
      cv::Vec3b& dst = bgr.at<cv::Vec3b>(y, x);
      const cv::Vec3b src = layer.at<cv::Vec3b>(y, x);
      for (int c = 0; c < 3; ++c) dst[c] = cv::saturate_cast<uchar>(src[c] * a + dst[c] * (1.f - a));
    }
}

}  // namespace masktool
