// The CPU back end of the board runtime: native ELF kernels for this machine, run on host
// tensors fenced by canary zones and guard pages (TensorBuffer), measured by the one protocol
// every device shares (MeasureOnDevice in device.h), by default inside a sandbox worker.
#ifndef FLEETTUNE_RPC_SERVER_CPU_DEVICE_H_
#define FLEETTUNE_RPC_SERVER_CPU_DEVICE_H_

#include <memory>
#include <string>
#include <vector>

#include "rpc_server/device.h"
#include "rpc_server/sandbox.h"

namespace fleettune::rpc_server {

class CpuDevice : public Device {
 public:
  // `sandbox`: each task runs in a child process (see sandbox.h); else in this process.
  CpuDevice(bool sandbox, SandboxOptions sandbox_options)
      : sandbox_(sandbox), sandbox_options_(std::move(sandbox_options)) {}

  std::string Kind() const override { return "cpu"; }
  // device_kind "cpu"; the rest of the registration (triple, cores, model) is the board's.
  void Describe(v1::DeviceInfo* info) const override { info->set_device_kind("cpu"); }
  // The ELF through an anonymous memory file and dlopen (KernelLibrary); every failure is
  // InvalidArgument (LOAD_ERROR). Run calls the kernel on the host tensors themselves (a
  // non-zero return is Internal "kernel returned N", code 1 saying that it could not
  // allocate memory); Time uses TimeKernel (wall clock) within the deadline.
  absl::StatusOr<std::unique_ptr<LoadedKernel>> Load(
      const v1::Artifact& artifact, const std::vector<int64_t>& tensor_elements) override;
  // A TensorBuffer: canary zones, then guard pages that a sandbox worker's fault handler
  // names the tensor by.
  std::unique_ptr<HostTensor> AllocateHostTensor(int64_t elements, int index) override;
  // sandbox ? MeasureInSandbox(task) (whose worker runs MeasureOnDevice on an in-process
  // CpuDevice) : MeasureOnDevice(*this, task).
  v1::MeasureResult Measure(const v1::MeasureTask& task) override;

 private:
  bool sandbox_;
  SandboxOptions sandbox_options_;
};

}  // namespace fleettune::rpc_server

#endif  // FLEETTUNE_RPC_SERVER_CPU_DEVICE_H_
