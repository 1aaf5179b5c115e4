// The CPU back end of the board runtime: native ELF kernels for this machine, measured
// exactly as before devices existed (MeasureInSandbox / MeasureTask in measure.h).
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
  // The ELF through an anonymous memory file and dlopen (KernelLibrary). Run calls it on the
  // host buffers; Time uses TimeKernel (wall clock). Used by tools; tasks go through Measure.
  absl::StatusOr<std::unique_ptr<LoadedKernel>> Load(
      const v1::Artifact& artifact, const std::vector<int64_t>& tensor_elements) override;
  // MeasureInSandbox(task) or MeasureTask(task): guard zones, reference cache and all.
  v1::MeasureResult Measure(const v1::MeasureTask& task) override;

 private:
  bool sandbox_;
  SandboxOptions sandbox_options_;
};

}  // namespace fleettune::rpc_server

#endif  // FLEETTUNE_RPC_SERVER_CPU_DEVICE_H_
