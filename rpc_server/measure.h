// Measures one task: loads the candidate, checks it against the reference on random inputs,
// and times it with TVM's time-evaluator semantics (number, repeat, min_repeat_ms).
#ifndef FLEETTUNE_RPC_SERVER_MEASURE_H_
#define FLEETTUNE_RPC_SERVER_MEASURE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "fleettune/v1/fleettune.pb.h"

namespace fleettune::rpc_server {

// Never throws and never crashes on bad input (garbage artifacts, wrong tensor specs):
// failures come back as a result with a status and an error naming the cause. A kernel that
// writes outside its tensors (into the canary zones around them) or into an input tensor
// gets RUNTIME_ERROR naming the tensor; one that writes further hits a guard page and
// crashes the calling process (so kernels run in a sandbox worker, sandbox.h).
// When the call has to run the reference (its output is not cached), the candidate's
// timeout_ms counts from the reference output being ready, not from the call.
// Not thread-safe across concurrent calls on one board (it times on the calling thread).
v1::MeasureResult MeasureTask(const v1::MeasureTask& task);
// The same, calling `on_reference_ready` (when not null) once the expected output is ready
// (from the cache, computed, or not needed), before the candidate is loaded: the sandbox
// uses it to tell a slow or crashing reference from a slow or crashing candidate.
v1::MeasureResult MeasureTask(const v1::MeasureTask& task,
                              const std::function<void()>& on_reference_ready);

// The board's cache of reference outputs: inputs are deterministic, so a workload's reference
// runs once per board, not once per candidate. The sandbox uses these to carry an output a
// child process computed back into the board. Thread-safe.
std::string ReferenceCacheKey(const v1::MeasureTask& task);
std::shared_ptr<const std::vector<float>> FindReferenceOutput(const std::string& key);
void StoreReferenceOutput(const std::string& key, std::vector<float> output);

// The most bytes the tensors of one task may take together. The tuner refuses bigger
// workloads up front (codegen::kMaxWorkloadTensorBytes is the same number).
inline constexpr int64_t kMaxTaskTensorBytes = int64_t{1} << 30;

// Element counts of the task's tensors (inputs first, output last), or InvalidArgument naming
// the bad spec (empty, non-positive dimension, over kMaxTaskTensorBytes).
absl::StatusOr<std::vector<int64_t>> TaskTensorSizes(const v1::MeasureTask& task);

// The checks of a task's fields every device makes before anything runs: dtype float32, a
// finite non-negative tolerance, a non-negative timeout. InvalidArgument naming the field
// (the task is then REJECTED).
absl::Status CheckTaskOptions(const v1::MeasureTask& task);

// The standard contents of input tensor `index`: uniform [-1, 1] from a fixed seed, the same
// on every board and device.
void FillStandardInput(float* data, int64_t elements, size_t index);

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
