#include "aligner.h"

#include <opencv2/imgproc.hpp>

namespace faceserver {

namespace {

const std::array<cv::Point2f, 5> kReference = {cv::Point2f(38.2946f, 51.6963f), cv::Point2f(73.5318f, 51.5014f),
                                               cv::Point2f(56.0252f, 71.7366f), cv::Point2f(41.5493f, 92.3655f),
                                               cv::Point2f(70.7299f, 92.2041f)};

}  // namespace

cv::Mat similarityTransform(const std::array<cv::Point2f, 5>& from, const std::array<cv::Point2f, 5>& to) {
  // Unknowns (a, b, tx, ty) of x' = a x - b y + tx, y' = b x + a y + ty; two equations per point.
  cv::Mat A(10, 4, CV_64F), B(10, 1, CV_64F);
  for (int i = 0; i < 5; ++i) {
    const double x = from[i].x, y = from[i].y;
    double* r0 = A.ptr<double>(2 * i);
    double* r1 = A.ptr<double>(2 * i + 1);
    r0[0] = x, r0[1] = -y, r0[2] = 1, r0[3] = 0;
    r1[0] = y, r1[1] = x, r1[2] = 0, r1[3] = 1;
    B.at<double>(2 * i) = to[i].x;
    B.at<double>(2 * i + 1) = to[i].y;
  }
  cv::Mat p;
  cv::solve(A, B, p, cv::DECOMP_SVD);
  const double a = p.at<double>(0), b = p.at<double>(1);
  return (cv::Mat_<double>(2, 3) << a, -b, p.at<double>(2), b, a, p.at<double>(3));
}

cv::Mat alignFace(const cv::Mat& bgr, const std::array<cv::Point2f, 5>& points) {
  cv::Mat aligned;
  cv::warpAffine(bgr, aligned, similarityTransform(points, kReference), cv::Size(kAlignedSide, kAlignedSide),
                 cv::INTER_LINEAR, cv::BORDER_CONSTANT, cv::Scalar::all(0));
  return aligned;
}

}  // namespace faceserver
