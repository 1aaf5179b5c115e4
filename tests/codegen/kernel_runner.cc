#include "tests/codegen/kernel_runner.h"

#include <dlfcn.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <random>

namespace fleettune::codegen::testing {

LoadedKernel::LoadedKernel(const std::string& shared_object, const std::string& symbol,
                           std::string* error) {
  // Parallel kernels pull in libgomp, whose worker threads outlive a kernel: were libgomp
  // unloaded with the last kernel that used it, those threads would run unmapped code. Keep
  // it loaded for the life of the process.
  static void* const gomp = dlopen("libgomp.so.1", RTLD_NOW | RTLD_GLOBAL | RTLD_NODELETE);
  (void)gomp;
  int fd = memfd_create("fleettune-kernel", MFD_CLOEXEC);
  if (fd < 0) {
    *error = "memfd_create failed";
    return;
  }
  if (write(fd, shared_object.data(), shared_object.size()) !=
      static_cast<ssize_t>(shared_object.size())) {
    *error = "short write to memfd";
    close(fd);
    return;
  }
  std::string path = "/proc/self/fd/" + std::to_string(fd);
  handle_ = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  close(fd);
  if (handle_ == nullptr) {
    *error = dlerror();
    return;
  }
  function_ = reinterpret_cast<KernelFunction>(dlsym(handle_, symbol.c_str()));
  if (function_ == nullptr) *error = "symbol not found: " + symbol;
}

LoadedKernel::~LoadedKernel() {
  if (handle_ != nullptr) dlclose(handle_);
}

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

}  // namespace fleettune::codegen::testing
