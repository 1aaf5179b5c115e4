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

// Calls `run` repeatedly on this thread. `run` returns the kernel's status code; a non-zero
// code stops timing with Internal naming it. InvalidArgument for out-of-range options;
// DeadlineExceeded when the timeout budget runs out between runs.
absl::StatusOr<TimingResult> TimeKernel(const std::function<int32_t()>& run,
                                        const TimingOptions& options);

}  // namespace fleettune::rpc_server

#endif  // FLEETTUNE_RPC_SERVER_TIME_EVALUATOR_H_
