#include "tests/codegen/kernel_runner.h"

#include <algorithm>
#include <cmath>
#include <random>

namespace fleettune::codegen::testing {

void NaiveMatmul(const std::vector<float>& a, const std::vector<float>& b, std::vector<float>* c,
                 int64_t m, int64_t n, int64_t k) {
  c->assign(m * n, 0.0f);
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double sum = 0;
      for (int64_t p = 0; p < k; ++p) sum += double{a[i * k + p]} * double{b[p * n + j]};
      (*c)[i * n + j] = static_cast<float>(sum);
    }
  }
}

double MaxRelativeError(const std::vector<float>& x, const std::vector<float>& y) {
  if (x.size() != y.size()) return INFINITY;
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    if (!std::isfinite(x[i])) return INFINITY;
    double diff = std::fabs(double{x[i]} - double{y[i]});
    worst = std::max(worst, diff / std::max(1.0, std::fabs(double{y[i]})));
  }
  return worst;
}

std::vector<float> RandomVector(size_t size, uint32_t seed) {
  std::mt19937 random(seed);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<float> values(size);
  for (float& v : values) v = uniform(random);
  return values;
}

std::vector<std::vector<float>> KernelBuffers(const std::vector<v1::TensorSpec>& tensors,
                                              uint32_t seed) {
  std::vector<std::vector<float>> buffers;
  for (size_t t = 0; t < tensors.size(); ++t) {
    size_t size = 1;
    for (int64_t d : tensors[t].shape()) size *= d;
    buffers.push_back(t + 1 < tensors.size() ? RandomVector(size, seed + t)
                                             : std::vector<float>(size, std::nanf("")));
  }
  return buffers;
}

std::vector<std::string> PropertyTestTargets() {
  std::vector<std::string> targets = {"host -threads=1", "host -threads=3"};
#if defined(__x86_64__)
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    targets.push_back("llvm -mtriple=x86_64-linux-gnu -mcpu=haswell -threads=2");
  }
#endif
  return targets;
}

}  // namespace fleettune::codegen::testing
