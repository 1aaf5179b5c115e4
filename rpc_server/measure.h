// The parts of a measurement that every device shares, and the board's one cache of expected
// outputs. The protocol that runs them, for every device, is MeasureOnDevice (device.h).
#ifndef FLEETTUNE_RPC_SERVER_MEASURE_H_
#define FLEETTUNE_RPC_SERVER_MEASURE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "fleettune/v1/fleettune.pb.h"

namespace fleettune::rpc_server {

// The candidate's time when the task sets no options.timeout_ms, on every device and in the
// sandbox (SandboxOptions::default_timeout_ms).
inline constexpr int kDefaultTimeoutMs = 10000;
// The bound of a reference run (host loop or reference artifact) when nobody sets one: it
// is never below the task's own timeout (SandboxOptions::reference_timeout_ms says why a
// reference has a bound of its own).
inline constexpr int kDefaultReferenceTimeoutMs = 120000;

// Whether the task's output is checked: options.check_correctness, a reference artifact, or
// an op the host loop knows (host_reference.h), which is always checked.
bool TaskChecksOutput(const v1::MeasureTask& task);

// The board's cache of expected outputs: inputs are deterministic, so a workload's expected
// output is computed once per board, not once per candidate. One key function for every
// path (in process, the sandbox and its worker): for an op the host loop knows, the op, its
// parameters and the tensor shapes ("host:..."); else the reference artifact (its SHA-256, or
// a hash and size of its bytes when it has none), its symbol and the tensor shapes
// ("artifact:..."). No device kind: the host loop is the same for every device, and a
// reference artifact is built for one device. Holds the last 8 outputs. Thread-safe.
std::string ReferenceCacheKey(const v1::MeasureTask& task);
// The output kept under `key`, or null.
std::shared_ptr<const std::vector<float>> FindReferenceOutput(const std::string& key);
// Keeps `output` under `key` (replacing what was there) and returns it.
std::shared_ptr<const std::vector<float>> StoreReferenceOutput(const std::string& key,
                                                               std::vector<float> output);

// The most bytes the tensors of one task may take together. The tuner refuses bigger
// workloads up front (codegen::kMaxWorkloadTensorBytes is the same number).
inline constexpr int64_t kMaxTaskTensorBytes = int64_t{1} << 30;

// Element counts of the task's tensors (inputs first, output last), or InvalidArgument naming
// the bad spec (empty, non-positive dimension, over kMaxTaskTensorBytes).
absl::StatusOr<std::vector<int64_t>> TaskTensorSizes(const v1::MeasureTask& task);

// A multi-candidate task (MeasureTask.candidates) carries at most this many candidates. They
// are the confirmation round's few top configs and the template default; the bound keeps
// one task's time, its loaded kernels (all mapped until it ends) and its reply small.
inline constexpr int kMaxTaskCandidates = 16;
// Its rounds: MeasureTask.rounds, kDefaultTaskRounds when 0, at most kMaxTaskRounds.
inline constexpr int kDefaultTaskRounds = 5;
inline constexpr int kMaxTaskRounds = 100;

// The rounds a multi-candidate task asks for (kDefaultTaskRounds when rounds is 0).
int TaskRounds(const v1::MeasureTask& task);

// The checks of a task's fields every device makes before anything runs: dtype float32, a
// finite non-negative tolerance, a non-negative timeout, number, repeat and min_repeat_ms
// not negative; of a multi-candidate task, at most kMaxTaskCandidates candidates, each with a
// non-empty artifact.shared_object, and rounds in [0, kMaxTaskRounds]. InvalidArgument naming
// the field (the task is then REJECTED).
absl::Status CheckTaskOptions(const v1::MeasureTask& task);

// The standard contents of input tensor `index`: uniform [-1, 1] from a fixed seed, the same
// on every board and device.
void FillStandardInput(float* data, int64_t elements, size_t index);
// Whether `data` still holds, bit for bit, the standard contents of input tensor `index`.
bool IsStandardInput(const float* data, int64_t elements, size_t index);

// The relative tolerance a task's check uses when options.tolerance is 0.
inline constexpr double kDefaultMeasureTolerance = 1e-4;

// The correctness check every device applies: the max absolute error of `output` (of
// `output_size` elements, which must be expected.size()) against
// `expected` (infinite when an element is NaN), within `tolerance` (kDefaultMeasureTolerance
// when 0) times max |expected|. `failure` says why when it is not.
struct OutputCheck {
  double max_abs_error = 0;
  bool ok = true;
  std::string failure;
};
OutputCheck CheckOutput(const float* output, size_t output_size, const std::vector<float>& expected,
                        double tolerance);

}  // namespace fleettune::rpc_server

#endif  // FLEETTUNE_RPC_SERVER_MEASURE_H_
