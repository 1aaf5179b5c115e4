#include "rpc_server/time_evaluator.h"

#include <algorithm>
#include <chrono>
#include <string>

#include "absl/strings/str_cat.h"

namespace fleettune::rpc_server {
namespace {

using Clock = std::chrono::steady_clock;

// TVM's growth factor when a repeat is too short.
constexpr double kGoldenRatio = 1.618;

}  // namespace

absl::Status CheckTimingOptions(const TimingOptions& options) {
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
  return absl::OkStatus();
}

absl::StatusOr<TimingResult> TimeBatches(const BatchTimer& run_batch, const TimingOptions& options,
                                         int max_number) {
  if (absl::Status valid = CheckTimingOptions(options); !valid.ok()) return valid;
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

absl::StatusOr<InterleavedTiming> TimeInterleaved(const std::vector<CandidateTimer>& timers,
                                                  const TimingOptions& options, int rounds) {
  if (absl::Status valid = CheckTimingOptions(options); !valid.ok()) return valid;
  if (rounds < 1) {
    return absl::InvalidArgumentError(absl::StrCat("rounds must be >= 1, got ", rounds));
  }
  const size_t count = timers.size();
  InterleavedTiming timing;
  timing.status.assign(count, absl::OkStatus());
  timing.costs.assign(count, {});
  timing.number.assign(count, 0);
  // One turn of candidate `c` in `round`. A failure takes the candidate out; running out of
  // time takes out every candidate not through its rounds and ends the measurement.
  bool out_of_time = false;
  const auto turn = [&](size_t c, int round, const TimingOptions& turn_options) {
    absl::StatusOr<TimingResult> timed = timers[c](turn_options, round);
    if (timed.ok() && timed->costs.size() != 1) {
      timed = absl::InternalError(
          absl::StrCat("timing gave ", timed->costs.size(), " costs for one repeat"));
    }
    if (timed.ok()) {
      if (round == 0) {
        timing.number[c] = std::max(1, timed->final_number);
      } else {
        timing.costs[c].push_back(timed->costs.front());
      }
      return;
    }
    if (timed.status().code() != absl::StatusCode::kDeadlineExceeded) {
      timing.status[c] = timed.status();
      timing.costs[c].clear();
      return;
    }
    const std::string where = round == 0 ? std::string("the warm-up pass")
                                         : absl::StrCat("round ", round, " of ", rounds);
    const absl::Status out = absl::DeadlineExceededError(
        absl::StrCat("the time ran out in ", where, ": ", timed.status().message()));
    for (size_t other = 0; other < count; ++other) {
      // Those that had their turn in the last round before this one are through.
      const bool through = round == rounds && other < c;
      if (!timing.status[other].ok() || through) continue;
      timing.status[other] = out;
      timing.costs[other].clear();
    }
    out_of_time = true;
  };

  TimingOptions warm_up = options;
  warm_up.repeat = 1;
  for (size_t c = 0; c < count && !out_of_time; ++c) turn(c, 0, warm_up);
  for (int round = 1; round <= rounds && !out_of_time; ++round) {
    for (size_t c = 0; c < count && !out_of_time; ++c) {
      if (!timing.status[c].ok()) continue;
      TimingOptions fixed;
      fixed.number = timing.number[c];
      fixed.repeat = 1;
      fixed.min_repeat_ms = 0;
      turn(c, round, fixed);
    }
  }
  return timing;
}

}  // namespace fleettune::rpc_server
