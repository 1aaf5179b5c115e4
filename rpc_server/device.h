// The board runtime's device interface: where kernels run. The board registers with what its
// Device says about itself and hands it every task.
//
// Back ends (rpc_server/device.cc makes them by name):
//   "cpu"     CpuDevice (cpu_device.h): native ELF kernels, loaded from memory with dlopen,
//             measured in a sandbox child process that runs MeasureOnDevice. The default.
//   "opencl"  OpenClDevice (opencl_device.h): OpenCL C source built with clBuildProgram,
//             timed with OpenCL profiling events. Compiled in when CMake finds OpenCL.
//   "hexagon" HexagonDevice (below): a stub. VENDOR RUNTIME PLUGS IN HERE — see its comment.
//
// A new back end implements Load() (and LoadedKernel), and where it needs to, the hooks below
// (AllocateHostTensor); the shared MeasureOnDevice() then does the rest of a task the same way
// for every device, the CPU included: standard inputs, the checks of the tensors after a run,
// the correctness check against one expected output from one cache, TVM time-evaluator
// timing, one timeout rule, failures as results. No device takes a private copy of it.
#ifndef FLEETTUNE_RPC_SERVER_DEVICE_H_
#define FLEETTUNE_RPC_SERVER_DEVICE_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "fleettune/v1/fleettune.pb.h"
#include "rpc_server/host_tensor.h"
#include "rpc_server/time_evaluator.h"

namespace fleettune::rpc_server {

using Deadline = std::chrono::steady_clock::time_point;

// A kernel loaded on a device with device memory for the task's tensors. Not thread-safe.
class LoadedKernel {
 public:
  virtual ~LoadedKernel() = default;
  // Copies the host tensors (inputs first, output last; sizes as given to Load) to the
  // device, runs the kernel once and copies the output back into args.back().
  // DeadlineExceeded when it does not finish by `deadline`; Internal for device errors or a
  // failing kernel. The message becomes the result's error as it is, so it says what failed
  // in this device's terms (CpuDevice: "kernel returned 1: it could not allocate memory ...").
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

  // The host memory for tensor `index` of a task (`elements` floats; inputs first, output
  // last): MeasureOnDevice fills the inputs there, Run reads them and writes the output there,
  // and after the run a tensor whose GuardsIntact() is false is RUNTIME_ERROR "kernel wrote
  // outside tensor N (name)". The default: plain memory between canary zones (CanaryTensor).
  // CpuDevice: TensorBuffers, whose guard pages also catch writes further out (sandbox.h
  // names the tensor). May throw std::bad_alloc (the task is then RUNTIME_ERROR).
  virtual std::unique_ptr<HostTensor> AllocateHostTensor(int64_t elements, int index);

  // Measures one task. Never throws; every failure is a result with a status. The default is
  // MeasureOnDevice(*this, task); CpuDevice runs that in a sandbox worker.
  virtual v1::MeasureResult Measure(const v1::MeasureTask& task);
};

// The measurement protocol, the same for every device (measure_on_device.cc), in this process
// or in the CPU's sandbox worker:
//   1. Checks the request (CheckTaskOptions, TaskTensorSizes): REJECTED naming the field.
//   2. Allocates the tensors (Device::AllocateHostTensor) and fills the standard inputs (the
//      same on every board).
//   3. The expected output, when TaskChecksOutput (measure.h; always for an op the host loop
//      knows). WHERE IT COMES FROM, one rule for every device: for an op host_reference.h
//      knows (matmul, batch_matmul), the naive loop on this CPU -- it is independent of
//      codegen and of the device, so a codegen or device bug cannot check itself; a workload
//      whose parameters do not match its tensors is REJECTED "reference: ...". For any other
//      op, the task's reference artifact, loaded and run by the device (REJECTED when the
//      task has none). Either comes from the board's one cache when it holds it
//      (ReferenceCacheKey, measure.h), else is computed and kept there.
//      A reference run is bounded by max(the task's timeout, kDefaultReferenceTimeoutMs).
//   4. `on_reference_ready` (when set) is called: from here on everything is the candidate's
//      doing. The sandbox worker uses it to tell a slow or crashing reference from a slow or
//      crashing candidate.
//   5. The candidate is loaded and run on the standard inputs (output filled with NaN first),
//      its tensors checked: canary zones (RUNTIME_ERROR "kernel wrote outside tensor N
//      (name)"), inputs unchanged (RUNTIME_ERROR "kernel wrote into input tensor N (name)"),
//      then its output against the expected one (WRONG_ANSWER, relative tolerance).
//   6. It is timed (LoadedKernel::Time).
// options.timeout_ms (kDefaultTimeoutMs when 0) counts from step 4, so the reference run is
// never the candidate's time. Statuses: REJECTED, LOAD_ERROR, BUILD_ERROR (Load's mapping
// above, "artifact: " or "reference: " before the message), RUNTIME_ERROR, WRONG_ANSWER,
// TIMEOUT, OK.
//
// A MULTI-CANDIDATE TASK (MeasureTask.candidates non-empty; `artifact` and `config` unused):
//   1.-4. as above, once for the task. Step 1 also checks the candidates (CheckTaskOptions):
//      more than kMaxTaskCandidates (16), a candidate with an empty artifact.shared_object, or
//      rounds outside [0, kMaxTaskRounds] is REJECTED naming the field.
//   5. Each candidate in task order, as step 5 above (the same code): loaded, run, its tensors
//      and output checked. Each gets its own CandidateResult status, error and max_abs_error;
//      a candidate that fails (LOAD_ERROR, WRONG_ANSWER, RUNTIME_ERROR ...) does not fail the
//      others. A tensor whose canaries a candidate broke is replaced before the next one, and
//      the inputs are refilled before each.
//   6. Those that passed are timed interleaved by TimeInterleaved (time_evaluator.h): a
//      warm-up pass (options.number raised for options.min_repeat_ms, per candidate; not
//      reported), then TaskRounds(task) rounds (0: 5), each timing every candidate once in
//      task order, with its number from the warm-up. options.repeat is not used. All
//      candidates share the task's host tensors, and Time times a kernel on the data of its
//      last Run; so each turn first runs the candidate once, untimed (it gets its own data
//      back: the output it writes, refreshed device buffers, warm code, whoever ran before),
//      and after the turn checks the tensors again (a change is that candidate's
//      RUNTIME_ERROR "... while timed", and the tensors are restored for the others).
//   THE TIMEOUT: options.timeout_ms (kDefaultTimeoutMs when 0; not multiplied by the
//      candidates) bounds the whole task from step 4 on: the candidates' loading, checks and
//      every round. When it expires, each candidate not yet through all its rounds is TIMEOUT
//      ("the task's timeout (N ms, for all its candidates together) expired ..."; "the time
//      ran out in round 3 of 5: ..."), those through them keep their costs, and the checks'
//      results stand. The task is not TIMEOUT for that.
//   The task's status is OK when it ran (whatever its candidates' statuses), REJECTED (or
//   the reference's status) when steps 1-3 failed; `candidates` has one CandidateResult per
//   candidate, in task order, with `rounds` costs when OK; the task's own `costs` stay empty.
//   `on_candidate(c, round)` (when set) is called before candidate c's check (round
//   kCandidateCheckRound) and before each of its timing turns (round 0: its warm-up, then
//   1..rounds): the sandbox uses it to name the candidate a crash or hang happened in.
//
// Never throws. Not thread-safe across concurrent calls on one device.
inline constexpr int kCandidateCheckRound = -1;
v1::MeasureResult MeasureOnDevice(
    Device& device, const v1::MeasureTask& task,
    const std::function<void()>& on_reference_ready = nullptr,
    const std::function<void(int candidate, int round)>& on_candidate = nullptr);

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
