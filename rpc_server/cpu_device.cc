#include "rpc_server/cpu_device.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "rpc_server/kernel_library.h"
#include "rpc_server/tensor_buffer.h"

namespace fleettune::rpc_server {
namespace {

// The error for a kernel's non-zero return code. Generated kernels return 1 when they cannot
// allocate their scratch buffers (codegen/build.cc), which under the sandbox usually means
// the worker's memory limit (sandbox_worker.cc then names it).
std::string KernelReturnedError(int32_t code) {
  if (code == 1) {
    return "kernel returned 1: it could not allocate memory (generated kernels return 1 when "
           "an allocation fails)";
  }
  return absl::StrCat("kernel returned ", code);
}

class CpuKernel : public LoadedKernel {
 public:
  explicit CpuKernel(std::unique_ptr<KernelLibrary> library) : library_(std::move(library)) {}

  absl::Status Run(const std::vector<float*>& args, Deadline /*deadline*/) override {
    args_.assign(args.begin(), args.end());
    if (int32_t code = library_->function()(args_.data()); code != 0) {
      return absl::InternalError(KernelReturnedError(code));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<TimingResult> Time(const TimingOptions& options, Deadline deadline) override {
    if (args_.empty()) return absl::FailedPreconditionError("Time() before Run()");
    TimingOptions timing = options;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    timing.timeout_ms = static_cast<int>(std::max<int64_t>(1, left.count()));
    return TimeKernel([this] { return library_->function()(args_.data()); }, timing);
  }

 private:
  std::unique_ptr<KernelLibrary> library_;
  std::vector<void*> args_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<LoadedKernel>> CpuDevice::Load(
    const v1::Artifact& artifact, const std::vector<int64_t>& /*tensor_elements*/) {
  absl::StatusOr<std::unique_ptr<KernelLibrary>> library =
      KernelLibrary::Load(artifact.shared_object(), artifact.symbol());
  // Whatever kept it from loading (bad bytes, no such symbol, no memory file), the artifact
  // did not load here: LOAD_ERROR.
  if (!library.ok()) return absl::InvalidArgumentError(library.status().message());
  return std::unique_ptr<LoadedKernel>(std::make_unique<CpuKernel>(std::move(*library)));
}

std::unique_ptr<HostTensor> CpuDevice::AllocateHostTensor(int64_t elements, int index) {
  return std::make_unique<TensorBuffer>(elements, index);
}

v1::MeasureResult CpuDevice::Measure(const v1::MeasureTask& task) {
  return sandbox_ ? MeasureInSandbox(task, sandbox_options_) : MeasureOnDevice(*this, task);
}

}  // namespace fleettune::rpc_server
