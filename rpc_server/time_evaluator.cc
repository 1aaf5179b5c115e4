#include "rpc_server/time_evaluator.h"

#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"

namespace fleettune::rpc_server {
namespace {

using Clock = std::chrono::steady_clock;

// TVM's growth factor when a repeat is too short.
constexpr double kGoldenRatio = 1.618;

}  // namespace

absl::StatusOr<TimingResult> TimeBatches(const BatchTimer& run_batch, const TimingOptions& options,
                                         int max_number) {
  if (options.number < 1) {
    return absl::InvalidArgumentError(absl::StrCat("number must be >= 1, got ", options.number));
  }
  if (options.repeat < 1) {
    return absl::InvalidArgumentError(absl::StrCat("repeat must be >= 1, got ", options.repeat));
  }
  if (options.min_repeat_ms < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("min_repeat_ms must be >= 0, got ", options.min_repeat_ms));
  }
  TimingResult result;
  int number = std::min(options.number, max_number);
  for (int r = 0; r < options.repeat; ++r) {
    double duration_ms = 0.0;
    do {
      if (duration_ms > 0.0) {
        const double per_run_ms = duration_ms / number;
        number = static_cast<int>(std::min<double>(
            max_number, std::max(options.min_repeat_ms / per_run_ms + 1, number * kGoldenRatio)));
      }
      absl::StatusOr<double> batch_ms = run_batch(number);
      if (!batch_ms.ok()) return batch_ms.status();
      // A clock that did not tick still counts as a short repeat.
      duration_ms = *batch_ms > 0.0 ? *batch_ms : 1e-6;
    } while (duration_ms < options.min_repeat_ms && number < max_number);
    result.costs.push_back(duration_ms / 1000.0 / number);
  }
  result.final_number = number;
  return result;
}

absl::StatusOr<TimingResult> TimeKernel(const std::function<int32_t()>& run,
                                        const TimingOptions& options) {
  const Clock::time_point start = Clock::now();
  return TimeBatches(
      [&](int number) -> absl::StatusOr<double> {
        const Clock::time_point begin = Clock::now();
        for (int i = 0; i < number; ++i) {
          if (int32_t code = run(); code != 0) {
            return absl::InternalError(absl::StrCat("kernel returned ", code));
          }
        }
        const Clock::time_point end = Clock::now();
        if (options.timeout_ms > 0 && end - start > std::chrono::milliseconds(options.timeout_ms)) {
          return absl::DeadlineExceededError(
              absl::StrCat("timing exceeded ", options.timeout_ms, " ms"));
        }
        return std::chrono::duration<double, std::milli>(end - begin).count();
      },
      options);
}

}  // namespace fleettune::rpc_server
