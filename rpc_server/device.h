// The board runtime's device interface: where kernels run. The board registers with what its
// Device says about itself and hands it every task.
//
// Back ends (rpc_server/device.cc makes them by name):
//   "cpu"     CpuDevice (cpu_device.h): native ELF kernels, loaded from memory with dlopen,
//             measured in a sandbox child process. The default, unchanged from before.
//   "opencl"  OpenClDevice (opencl_device.h): OpenCL C source built with clBuildProgram,
//             timed with OpenCL profiling events. Compiled in when CMake finds OpenCL.
//   "hexagon" HexagonDevice (below): a stub. VENDOR RUNTIME PLUGS IN HERE — see its comment.
//
// A new back end implements Load() (and LoadedKernel); the shared MeasureOnDevice() then does
// the rest of a task the same way for every device: standard inputs, the correctness check
// against a reference, TVM time-evaluator timing, failures as results.
#ifndef FLEETTUNE_RPC_SERVER_DEVICE_H_
#define FLEETTUNE_RPC_SERVER_DEVICE_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "fleettune/v1/fleettune.pb.h"
#include "rpc_server/time_evaluator.h"

namespace fleettune::rpc_server {

using Deadline = std::chrono::steady_clock::time_point;

// A kernel loaded on a device with device memory for the task's tensors. Not thread-safe.
class LoadedKernel {
 public:
  virtual ~LoadedKernel() = default;
  // Copies the host tensors (inputs first, output last; sizes as given to Load) to the
  // device, runs the kernel once and copies the output back into args.back().
  // DeadlineExceeded when it does not finish by `deadline`; Internal for device errors.
  virtual absl::Status Run(const std::vector<float*>& args, Deadline deadline) = 0;
  // Times the kernel on the data of the last Run with TVM's time-evaluator semantics (see
  // time_evaluator.h); costs are seconds per run, measured by the device where it can.
  virtual absl::StatusOr<TimingResult> Time(const TimingOptions& options, Deadline deadline) = 0;
};

class Device {
 public:
  virtual ~Device() = default;

  // The name of the back end: "cpu", "opencl", "hexagon".
  virtual std::string Kind() const = 0;

  // Adds what is particular to this device to the board's registration (`info` already has
  // key, hostname, triple, cores and version): device_kind, accelerator, emulated...
  virtual void Describe(v1::DeviceInfo* info) const = 0;

  // Loads an artifact for tensors of `tensor_elements` elements (inputs first, output last).
  // FailedPrecondition: the artifact does not compile for this device (message: the compiler
  // log) -> BUILD_ERROR; InvalidArgument: not an artifact of this device -> LOAD_ERROR;
  // Unimplemented: the device cannot run anything -> REJECTED; others -> RUNTIME_ERROR.
  virtual absl::StatusOr<std::unique_ptr<LoadedKernel>> Load(
      const v1::Artifact& artifact, const std::vector<int64_t>& tensor_elements) = 0;

  // Measures one task. Never throws; every failure is a result with a status. The default is
  // MeasureOnDevice(*this, task).
  virtual v1::MeasureResult Measure(const v1::MeasureTask& task);
};

// One task on any device: checks the request, fills the standard inputs (the same on every
// board), computes the expected output (a naive loop on this CPU for the ops host_reference.h
// knows, else the task's reference artifact run by the device), loads and runs the candidate,
// compares (relative tolerance), then times it. Statuses: REJECTED, LOAD_ERROR, BUILD_ERROR,
// RUNTIME_ERROR, WRONG_ANSWER, TIMEOUT (options.timeout_ms covers the whole task), OK.
v1::MeasureResult MeasureOnDevice(Device& device, const v1::MeasureTask& task);

// ---- Hexagon ---------------------------------------------------------------------------
// VENDOR RUNTIME PLUGS IN HERE. codegen builds Hexagon objects
// (`llvm -mtriple=hexagon-unknown-linux-musl -mcpu=hexagonv66`); running them needs the
// vendor's runtime on the board: the Hexagon SDK's FastRPC (remote_handle64_open of a skel
// library that dlopen()s the kernel on the DSP, rpcmem_alloc for ION buffers shared with the
// DSP, and a timer read on the DSP side). To add it: implement Load() to push the ELF to the
// DSP and resolve the symbol, and a LoadedKernel whose Run/Time call it through FastRPC; the
// rest of a task (inputs, reference check, statuses) is MeasureOnDevice's. Until then Load()
// answers Unimplemented, so tasks come back REJECTED with that message.
class HexagonDevice : public Device {
 public:
  std::string Kind() const override { return "hexagon"; }
  void Describe(v1::DeviceInfo* info) const override;
  absl::StatusOr<std::unique_ptr<LoadedKernel>> Load(
      const v1::Artifact& artifact, const std::vector<int64_t>& tensor_elements) override;
};

// What `fleettune-rpc-server --device ...` asks for.
struct DeviceOptions {
  std::string kind = "cpu";           // cpu | opencl | hexagon
  int opencl_device = 0;              // index of the device on the platform
  std::string opencl_platform;        // substring of the platform name; empty: the first
  bool sandbox = true;                // cpu: measure in a child process
  std::string sandbox_worker_binary;  // cpu: see SandboxOptions::worker_binary
};

// The device named by `options.kind`. InvalidArgument for an unknown kind; Unimplemented for
// "opencl" in a runtime built without OpenCL; NotFound when no such OpenCL device exists.
absl::StatusOr<std::shared_ptr<Device>> CreateDevice(const DeviceOptions& options);

// Whether this runtime was built with the OpenCL back end.
bool HaveOpenCl();

}  // namespace fleettune::rpc_server

#endif  // FLEETTUNE_RPC_SERVER_DEVICE_H_
