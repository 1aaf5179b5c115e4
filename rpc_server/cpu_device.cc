#include "rpc_server/cpu_device.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "rpc_server/kernel_library.h"
#include "rpc_server/measure.h"

namespace fleettune::rpc_server {
namespace {

class CpuKernel : public LoadedKernel {
 public:
  explicit CpuKernel(std::unique_ptr<KernelLibrary> library) : library_(std::move(library)) {}

  absl::Status Run(const std::vector<float*>& args, Deadline /*deadline*/) override {
    args_.assign(args.begin(), args.end());
    if (int32_t code = library_->function()(args_.data()); code != 0) {
      return absl::InternalError(absl::StrCat("kernel returned ", code));
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
  if (!library.ok()) return library.status();
  return std::unique_ptr<LoadedKernel>(std::make_unique<CpuKernel>(std::move(*library)));
}

v1::MeasureResult CpuDevice::Measure(const v1::MeasureTask& task) {
  return sandbox_ ? MeasureInSandbox(task, sandbox_options_) : MeasureTask(task);
}

}  // namespace fleettune::rpc_server
