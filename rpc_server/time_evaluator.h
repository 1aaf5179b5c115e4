// Times a kernel with TVM's time-evaluator semantics: `repeat` repeats of `number` runs each;
// while a repeat lasts less than `min_repeat_ms`, `number` is raised (by the ratio of the
// wanted to the measured duration, at least x1.618) and the repeat is run again. And times
// several kernels interleaved in rounds (TimeInterleaved), the policy of a multi-candidate
// task (device.h).
#ifndef FLEETTUNE_RPC_SERVER_TIME_EVALUATOR_H_
#define FLEETTUNE_RPC_SERVER_TIME_EVALUATOR_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/status.h"
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

// InvalidArgument naming the option ("number must be >= 1, got 0") unless number >= 1,
// repeat >= 1 and min_repeat_ms >= 0; what every function below checks first.
absl::Status CheckTimingOptions(const TimingOptions& options);

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

// Times one candidate of an interleaved measurement as LoadedKernel::Time does (options as
// given; costs in seconds per run, final_number the runs per repeat). `round` says which turn
// this is: 0 the warm-up pass, then 1..rounds.
using CandidateTimer =
    std::function<absl::StatusOr<TimingResult>(const TimingOptions& options, int round)>;

// What TimeInterleaved measured, one entry per candidate in the order given.
struct InterleavedTiming {
  // OK when the candidate went through every round; else the error that took it out.
  std::vector<absl::Status> status;
  // Seconds per run, one per round in round order when status is OK; empty otherwise.
  std::vector<std::vector<double>> costs;
  // Runs per cost, found in the warm-up pass (0 when it failed there).
  std::vector<int> number;
};

// The interleaving policy of a multi-candidate task: candidates that share a board's state
// (its clock, caches, temperature) are timed turn about, so that a drift of the board over
// the measurement moves them alike and their ratios hold.
//   1. Warm-up pass, not reported: each candidate in order is timed once with
//      {options.number, repeat 1, options.min_repeat_ms}; its final_number is its number of
//      runs from then on, so that each candidate's cost covers at least min_repeat_ms.
//   2. `rounds` rounds: each times every candidate still in, in order, once with
//      {its number, repeat 1, min_repeat_ms 0}, keeping the one cost.
// A candidate whose timer fails leaves with that error (its costs cleared), the others go on.
// DeadlineExceeded from a timer means the time of the whole measurement is up: every candidate
// not through its rounds then leaves with DeadlineExceeded naming where it stopped and the
// timer's message ("the time ran out in round 3 of 5: <message>"), and no timer is called
// again. A candidate that had its turn in the last round before that is through.
// InvalidArgument (no timer called) for options CheckTimingOptions refuses or rounds < 1.
// options.repeat and options.timeout_ms are not used (the timers own the clock).
absl::StatusOr<InterleavedTiming> TimeInterleaved(const std::vector<CandidateTimer>& timers,
                                                  const TimingOptions& options, int rounds);

}  // namespace fleettune::rpc_server

#endif  // FLEETTUNE_RPC_SERVER_TIME_EVALUATOR_H_
