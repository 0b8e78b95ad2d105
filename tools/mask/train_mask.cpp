// Trains the mask classifier (assets/mask/mask_classifier.yml) and reports its accuracy.
//
// Training data: real unmasked faces of ../shared/facedata (LFW, UTKFace), each used twice, as it is and with
// a synthetic mask drawn from its landmarks (then detected again, as the server would see it), plus the
// even-numbered half of the real photos in facedata/mask/. The odd-numbered half of those real photos is
// never trained on: the accuracy printed for it is the number to report.
//
//   train_mask --facedata DIR --models DIR --out FILE [--limit N] [--seed S]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <opencv2/imgcodecs.hpp>
#include <string>
#include <vector>

#include "attributes/mask_classifier.h"
#include "attributes/mask_features.h"
#include "face_finder.h"
#include "logistic_regression.h"
#include "synthetic_mask.h"

namespace fs = std::filesystem;
using masktool::Sample;

namespace {

std::vector<std::string> imagesUnder(const fs::path& dir) {
  std::vector<std::string> out;
  if (!fs::exists(dir)) return out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    const std::string ext = e.path().extension().string();
    if (e.is_regular_file() && (ext == ".jpg" || ext == ".jpeg" || ext == ".png")) out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

struct Counts {
  int right = 0, total = 0, tp = 0, tn = 0, fp = 0, fn = 0;
  void add(bool predicted, bool truth) {
    ++total;
    right += predicted == truth;
    if (predicted && truth)
      ++tp;
    else if (!predicted && !truth)
      ++tn;
    else if (predicted)
      ++fp;
    else
      ++fn;
  }
  double accuracy() const { return total ? static_cast<double>(right) / total : 0.0; }
};

double accuracyOf(const faceserver::MaskModel& m, const std::vector<Sample>& s, Counts* counts = nullptr) {
  Counts c;
  for (const Sample& x : s) c.add(m.probability(x.x) >= m.threshold, x.label == 1);
  if (counts) *counts = c;
  return c.accuracy();
}

}  // namespace

int main(int argc, char** argv) {
  std::string facedata = "../shared/facedata", models = "models", out = "assets/mask/mask_classifier.yml";
  int limit = 100000;
  uint64_t seed = 20261123;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--facedata")
      facedata = v;
    else if (k == "--models")
      models = v;
    else if (k == "--out")
      out = v;
    else if (k == "--limit")
      limit = std::atoi(v.c_str());
    else if (k == "--seed")
      seed = std::strtoull(v.c_str(), nullptr, 10);
    else {
      std::cerr << "unknown option " << k << "\n";
      return 2;
    }
  }
  masktool::FaceFinder finder(models);
  cv::RNG rng(seed);

  // 1. Synthetic pairs from real unmasked faces.
  std::vector<std::string> clean = imagesUnder(fs::path(facedata) / "lfw");
  const std::vector<std::string> utk = imagesUnder(fs::path(facedata) / "utkface");
  clean.insert(clean.end(), utk.begin(), utk.end());
  if (static_cast<int>(clean.size()) > limit) clean.resize(limit);
  std::vector<Sample> synthetic, syntheticCheck;  // every 5th face checks the fit on synthetic data only
  int used = 0, missed = 0;
  for (size_t i = 0; i < clean.size(); ++i) {
    cv::Mat img = cv::imread(clean[i], cv::IMREAD_COLOR);
    if (img.empty()) continue;
    const auto face = finder.biggestFace(img);
    if (!face) {
      ++missed;
      continue;
    }
    std::vector<Sample>& into = i % 5 == 4 ? syntheticCheck : synthetic;
    into.push_back({faceserver::maskFeatures(faceserver::alignFace112(img, *face)), 0, 1.f});
    cv::Mat masked = img.clone();
    masktool::drawSyntheticMask(masked, *face, rng);
    const auto again = finder.biggestFace(masked);
    if (!again) {
      ++missed;
      continue;
    }
    into.push_back({faceserver::maskFeatures(faceserver::alignFace112(masked, *again)), 1, 1.f});
    ++used;
  }
  std::cout << "synthetic: " << used << " faces masked and unmasked (" << missed << " detections missed), "
            << synthetic.size() << " training samples, " << syntheticCheck.size() << " check samples\n";

  // 2. Real photos: even-numbered files train, odd-numbered files are held out.
  std::vector<Sample> realTrain, realHeldOut;
  int realMissed[2] = {0, 0};
  for (int label = 0; label <= 1; ++label) {
    const std::vector<std::string> files =
        imagesUnder(fs::path(facedata) / "mask" / (label ? "with_mask" : "without_mask"));
    for (size_t i = 0; i < files.size(); ++i) {
      const cv::Mat img = cv::imread(files[i], cv::IMREAD_COLOR);
      const auto face = img.empty() ? std::nullopt : finder.biggestFace(img);
      if (!face) {
        if (i % 2 == 1) ++realMissed[label];
        continue;
      }
      Sample s{faceserver::maskFeatures(faceserver::alignFace112(img, *face)), label, 4.f};
      (i % 2 == 0 ? realTrain : realHeldOut).push_back(s);
    }
  }
  std::cout << "real: " << realTrain.size() << " training, " << realHeldOut.size() << " held out (" << realMissed[1]
            << " masked + " << realMissed[0] << " unmasked held-out photos had no detected face)\n";

  // 3. Pick the L2 strength on the held-in data only (synthetic check + 2-fold on the real training half).
  std::vector<Sample> all = synthetic;
  all.insert(all.end(), realTrain.begin(), realTrain.end());
  double bestL2 = 0, bestScore = -1;
  for (double l2 : {1e-4, 1e-3, 1e-2, 3e-2, 1e-1}) {
    double realScore = 0;
    for (int fold = 0; fold < 2; ++fold) {
      std::vector<Sample> fit = synthetic, check;
      for (size_t i = 0; i < realTrain.size(); ++i)
        (static_cast<int>(i % 2) == fold ? check : fit).push_back(realTrain[i]);
      realScore += accuracyOf(masktool::trainLogistic(fit, l2, 400), check) / 2;
    }
    const double synthScore = accuracyOf(masktool::trainLogistic(synthetic, l2, 400), syntheticCheck);
    std::printf("l2 %.4f: real-train 2-fold %.3f, synthetic check %.3f\n", l2, realScore, synthScore);
    if (realScore + synthScore > bestScore) bestScore = realScore + synthScore, bestL2 = l2;
  }

  // For the record: how far synthetic masks alone carry to real photos.
  Counts synthOnly;
  accuracyOf(masktool::trainLogistic(synthetic, bestL2, 600), realHeldOut, &synthOnly);
  std::printf("synthetic-only model on the held-out real photos: accuracy %.3f = %d/%d\n", synthOnly.accuracy(),
              synthOnly.right, synthOnly.total);

  faceserver::MaskModel model = masktool::trainLogistic(all, bestL2, 600);
  model.threshold = 0.5f;
  model.save(out);
  Counts c;
  const double heldOut = accuracyOf(model, realHeldOut, &c);
  std::printf("chosen l2 %.4f; training accuracy %.3f; synthetic check %.3f\n", bestL2, accuracyOf(model, all),
              accuracyOf(model, syntheticCheck));
  std::printf(
      "HELD-OUT real photos (never trained on): accuracy %.3f = %d/%d (masked right %d/%d, unmasked right "
      "%d/%d)\n",
      heldOut, c.right, c.total, c.tp, c.tp + c.fn, c.tn, c.tn + c.fp);
  std::printf("wrote %s\n", out.c_str());
  return 0;
}
