#include "rpc_server/device.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "rpc_server/cpu_device.h"
#ifdef FLEETTUNE_HAVE_OPENCL
#include "rpc_server/opencl_device.h"
#endif

namespace fleettune::rpc_server {

std::unique_ptr<HostTensor> Device::AllocateHostTensor(int64_t elements, int /*index*/) {
  return std::make_unique<CanaryTensor>(elements);
}

v1::MeasureResult Device::Measure(const v1::MeasureTask& task) {
  return MeasureOnDevice(*this, task);
}

void HexagonDevice::Describe(v1::DeviceInfo* info) const {
  info->set_device_kind("hexagon");
  info->set_accelerator("Hexagon DSP (no vendor runtime linked)");
}

absl::StatusOr<std::unique_ptr<LoadedKernel>> HexagonDevice::Load(
    const v1::Artifact& /*artifact*/, const std::vector<int64_t>& /*tensor_elements*/) {
  return absl::UnimplementedError(
      "this fleettune-rpc-server has no Hexagon vendor runtime: link the Hexagon SDK's FastRPC "
      "into HexagonDevice (rpc_server/device.h) to run kernels on the DSP");
}

bool HaveOpenCl() {
#ifdef FLEETTUNE_HAVE_OPENCL
  return true;
#else
  return false;
#endif
}

absl::StatusOr<std::shared_ptr<Device>> CreateDevice(const DeviceOptions& options) {
  if (options.kind == "cpu") {
    SandboxOptions sandbox;
    sandbox.worker_binary = options.sandbox_worker_binary;
    return std::shared_ptr<Device>(std::make_shared<CpuDevice>(options.sandbox, sandbox));
  }
  if (options.kind == "hexagon") return std::shared_ptr<Device>(std::make_shared<HexagonDevice>());
  if (options.kind == "opencl") {
#ifdef FLEETTUNE_HAVE_OPENCL
    absl::StatusOr<std::unique_ptr<OpenClDevice>> device =
        OpenClDevice::Open(options.opencl_platform, options.opencl_device);
    if (!device.ok()) return device.status();
    return std::shared_ptr<Device>(std::move(*device));
#else
    return absl::UnimplementedError(
        "--device opencl: this fleettune-rpc-server was built without OpenCL (install "
        "ocl-icd-opencl-dev and opencl-headers, then rebuild)");
#endif
  }
  return absl::InvalidArgumentError(
      absl::StrCat("--device: unknown device '", options.kind, "' (known: cpu, opencl, hexagon)"));
}

}  // namespace fleettune::rpc_server
