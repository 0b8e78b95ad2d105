#include "logistic_regression.h"

#include <cmath>

namespace masktool {

faceserver::MaskModel trainLogistic(const std::vector<Sample>& samples, double l2, int iterations) {
  faceserver::MaskModel m;
  const size_t d = samples.at(0).x.size();
  m.mean.assign(d, 0.f);
  m.scale.assign(d, 1.f);
  m.weights.assign(d, 0.f);
  // Standardise every feature (the server applies the same mean and scale).
  double wsum = 0;
  for (const Sample& s : samples) wsum += s.weight;
  for (size_t j = 0; j < d; ++j) {
    double mean = 0, var = 0;
    for (const Sample& s : samples) mean += s.weight * s.x[j];
    mean /= wsum;
    for (const Sample& s : samples) var += s.weight * (s.x[j] - mean) * (s.x[j] - mean);
    var /= wsum;
    m.mean[j] = static_cast<float>(mean);
    m.scale[j] = static_cast<float>(var > 1e-12 ? 1.0 / std::sqrt(var) : 0.0);
  }
  std::vector<std::vector<double>> z(samples.size(), std::vector<double>(d));
  for (size_t i = 0; i < samples.size(); ++i)
    for (size_t j = 0; j < d; ++j) z[i][j] = (samples[i].x[j] - m.mean[j]) * m.scale[j];

  std::vector<double> w(d + 1, 0.0), mom(d + 1, 0.0), vel(d + 1, 0.0), grad(d + 1);
  const double rate = 0.05, b1 = 0.9, b2 = 0.999;
  for (int it = 1; it <= iterations; ++it) {
    std::fill(grad.begin(), grad.end(), 0.0);
    for (size_t i = 0; i < samples.size(); ++i) {
      double t = w[d];
      for (size_t j = 0; j < d; ++j) t += w[j] * z[i][j];
      const double err = (1.0 / (1.0 + std::exp(-t)) - samples[i].label) * samples[i].weight / wsum;
      for (size_t j = 0; j < d; ++j) grad[j] += err * z[i][j];
      grad[d] += err;
    }
    for (size_t j = 0; j < d; ++j) grad[j] += l2 * w[j];
    for (size_t j = 0; j <= d; ++j) {
      mom[j] = b1 * mom[j] + (1 - b1) * grad[j];
      vel[j] = b2 * vel[j] + (1 - b2) * grad[j] * grad[j];
      const double mh = mom[j] / (1 - std::pow(b1, it)), vh = vel[j] / (1 - std::pow(b2, it));
      w[j] -= rate * mh / (std::sqrt(vh) + 1e-8);
    }
  }
  for (size_t j = 0; j < d; ++j) m.weights[j] = static_cast<float>(w[j]);
  m.bias = static_cast<float>(w[d]);
  return m;
}

}  // namespace masktool
