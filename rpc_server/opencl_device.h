// The OpenCL back end of the board runtime (the accelerator class: GPUs, FPGA boards whose
// vendors ship OpenCL runtimes, PoCL on a CPU). Artifacts are OpenCL C source as codegen
// emits it for an `opencl` target; the first line says how to launch it:
//
//   // fleettune-opencl v1 kernel=<symbol> global=<g0>,<g1> local=<l0>,<l1>
//
// Load() builds the source with clBuildProgram for the chosen device (a failed build is
// FailedPrecondition carrying the compiler log -> BUILD_ERROR) and creates device buffers for
// the tensors; kernels are timed with OpenCL profiling events (CL_PROFILING_COMMAND_START of
// the first run to CL_PROFILING_COMMAND_END of the last run of a repeat), so the costs are the
// device's own time. The correctness check is MeasureOnDevice's, as on every device: a naive
// loop on this CPU for the ops host_reference.h knows, else the reference artifact here.
//
// A kernel that overruns the task's deadline gives TIMEOUT; OpenCL cannot cancel it, so it
// still occupies the device queue and later tasks wait behind it (they may time out too).
// Compiled only when CMake finds OpenCL (FLEETTUNE_HAVE_OPENCL). Not thread-safe: the board
// measures one task at a time.
#ifndef FLEETTUNE_RPC_SERVER_OPENCL_DEVICE_H_
#define FLEETTUNE_RPC_SERVER_OPENCL_DEVICE_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "rpc_server/device.h"

namespace fleettune::rpc_server {

// The launch line of an OpenCL artifact.
struct OpenClLaunchHeader {
  std::string kernel;
  std::array<int64_t, 2> global_size = {1, 1};
  std::array<int64_t, 2> local_size = {0, 0};  // 0,0: the OpenCL runtime chooses
};

// Parses the first line of `source`. InvalidArgument naming the bad part when it is not a
// fleettune OpenCL artifact (e.g. ELF bytes sent to an OpenCL board).
absl::StatusOr<OpenClLaunchHeader> ParseOpenClLaunchHeader(const std::string& source);

class OpenClDevice : public Device {
 public:
  // Opens device `device_index` of the first platform whose name contains `platform` (any
  // platform when empty or "any"). NotFound naming what exists when there is no such device.
  static absl::StatusOr<std::unique_ptr<OpenClDevice>> Open(const std::string& platform,
                                                            int device_index);
  ~OpenClDevice() override;
  OpenClDevice(const OpenClDevice&) = delete;
  OpenClDevice& operator=(const OpenClDevice&) = delete;

  std::string Kind() const override { return "opencl"; }
  // device_kind "opencl", accelerator "<platform> / <device>".
  void Describe(v1::DeviceInfo* info) const override;
  absl::StatusOr<std::unique_ptr<LoadedKernel>> Load(
      const v1::Artifact& artifact, const std::vector<int64_t>& tensor_elements) override;

  const std::string& platform_name() const { return platform_name_; }
  const std::string& device_name() const { return device_name_; }

 private:
  struct Handles;
  explicit OpenClDevice(std::unique_ptr<Handles> handles);
  std::unique_ptr<Handles> handles_;
  std::string platform_name_;
  std::string device_name_;
};

}  // namespace fleettune::rpc_server

#endif  // FLEETTUNE_RPC_SERVER_OPENCL_DEVICE_H_
