// Times a kernel with TVM's time-evaluator semantics: `repeat` repeats of `number` runs each;
// while a repeat lasts less than `min_repeat_ms`, `number` is raised (by the ratio of the
// wanted to the measured duration, at least x1.618) and the repeat is run again.
#ifndef FLEETTUNE_RPC_SERVER_TIME_EVALUATOR_H_
#define FLEETTUNE_RPC_SERVER_TIME_EVALUATOR_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/statusor.h"

namespace fleettune::rpc_server {

struct TimingOptions {
  int number = 1;         // runs per repeat to start with; >= 1
  int repeat = 3;         // >= 1
  int min_repeat_ms = 0;  // >= 0
  int timeout_ms = 0;     // 0: none; otherwise a budget for the whole timing
};

struct TimingResult {
  std::vector<double> costs;  // seconds per run, one per repeat
  int final_number = 0;       // runs per repeat after raising for min_repeat_ms
};

// Runs the kernel `number` times back to back and returns how long that took in
// milliseconds, on whatever clock the device has (the host's, or device events).
using BatchTimer = std::function<absl::StatusOr<double>(int number)>;

// The time-evaluator policy over `run_batch`: `options.repeat` repeats, `number` raised
// while a repeat is shorter than min_repeat_ms, never above `max_number`. Errors of
// `run_batch` are returned as they are; InvalidArgument for out-of-range options. The
// timeout budget is run_batch's business (TimeKernel checks it between batches).
absl::StatusOr<TimingResult> TimeBatches(const BatchTimer& run_batch, const TimingOptions& options,
                                         int max_number = 1 << 30);

// Calls `run` repeatedly on this thread. `run` returns the kernel's status code; a non-zero
// code stops timing with Internal naming it. InvalidArgument for out-of-range options;
// DeadlineExceeded when the timeout budget runs out between runs.
absl::StatusOr<TimingResult> TimeKernel(const std::function<int32_t()>& run,
                                        const TimingOptions& options);

}  // namespace fleettune::rpc_server

#endif  // FLEETTUNE_RPC_SERVER_TIME_EVALUATOR_H_
