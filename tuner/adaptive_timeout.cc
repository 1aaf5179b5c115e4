#include "tuner/adaptive_timeout.h"

#include <algorithm>
#include <cmath>

namespace fleettune::tuner {

int AdaptiveTimeoutMs(const v1::MeasureOptions& measure, std::optional<double> best_seconds) {
  const int cap = measure.timeout_ms();
  if (!best_seconds || *best_seconds <= 0 || cap <= 0) return cap;
  const double slowest_run = *best_seconds * kSlowestUsefulFactor;
  const double repeat_seconds = std::max(measure.min_repeat_ms() / 1e3, slowest_run);
  const double budget =
      (std::max(1, measure.repeat()) * repeat_seconds + 2 * slowest_run + kFixedOverheadSeconds);
  const int budget_ms = static_cast<int>(std::ceil(budget * 1e3));
  return std::clamp(budget_ms, std::min(kMinimumTimeoutMs, cap), cap);
}

}  // namespace fleettune::tuner
