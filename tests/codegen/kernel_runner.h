// Test helper: loads a built kernel's shared-object bytes in process and runs it.
#ifndef FLEETTUNE_TESTS_CODEGEN_KERNEL_RUNNER_H_
#define FLEETTUNE_TESTS_CODEGEN_KERNEL_RUNNER_H_

#include <cstdint>
#include <string>
#include <vector>

namespace fleettune::codegen::testing {

using KernelFunction = int32_t (*)(void* const* args);

// A shared object loaded from memory (memfd + dlopen); unloaded on destruction. libgomp,
// once loaded, stays loaded (its thread pool outlives kernels).
class LoadedKernel {
 public:
  // Fills `error` and leaves function() null when loading fails.
  LoadedKernel(const std::string& shared_object, const std::string& symbol, std::string* error);
  ~LoadedKernel();
  LoadedKernel(const LoadedKernel&) = delete;
  LoadedKernel& operator=(const LoadedKernel&) = delete;

  KernelFunction function() const { return function_; }

 private:
  void* handle_ = nullptr;
  KernelFunction function_ = nullptr;
};

// C = A * B, row-major, accumulated in double.
void NaiveMatmul(const std::vector<float>& a, const std::vector<float>& b, std::vector<float>* c,
                 int64_t m, int64_t n, int64_t k);

// The largest |x - y| / max(1, |y|) over the elements.
double MaxRelativeError(const std::vector<float>& x, const std::vector<float>& y);

std::vector<float> RandomVector(size_t size, uint32_t seed);

}  // namespace fleettune::codegen::testing

#endif  // FLEETTUNE_TESTS_CODEGEN_KERNEL_RUNNER_H_
