#include "attributes/liveness_estimator.h"

#include <opencv2/imgproc.hpp>

#include "attributes/face_crops.h"
#include "attributes/onnx_net.h"
#include "errors.h"

namespace faceserver {

namespace {
constexpr int kInputSide = 128;
constexpr float kCropScale = 2.7f;
}  // namespace

LivenessResult LivenessEstimator::estimate(const cv::Mat& bgr, const Face& face) {
  // MODELS.md: 2.7x the box around its centre, moved (and if needed shrunk) to stay inside the image, since
  // the net looks at the context around the face (screen borders, paper edges).
  const cv::Mat crop = cropWithBorder(bgr, fitInside(scaledSquare(face.box, kCropScale), bgr.size()));
  if (crop.empty()) throw EngineError(ErrorCode::InvalidArgument, "empty face box");
  cv::Mat input;
  cv::resize(crop, input, cv::Size(kInputSide, kInputSide), 0, 0, cv::INTER_LINEAR);
  net_.setInput(cv::dnn::blobFromImage(input, 1.0), "input");  // raw 0..255, BGR
  const cv::Mat out = net_.forward();
  if (out.total() != 3 || out.depth() != CV_32F)
    throw EngineError(ErrorCode::Internal, "liveness net returned an unexpected output shape");
  LivenessResult r;
  r.score = softmax(out.ptr<float>(), 3)[0];
  r.real = r.score >= kRealThreshold;
  return r;
}

}  // namespace faceserver
