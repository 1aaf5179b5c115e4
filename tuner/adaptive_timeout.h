// How long a board may spend on one candidate, from the best time seen so far for the
// workload: a kernel many times slower than the best is of no use, so it is not worth
// minutes of board time to learn exactly how slow it is (OpenTuner's idea, with a floor).
#ifndef FLEETTUNE_TUNER_ADAPTIVE_TIMEOUT_H_
#define FLEETTUNE_TUNER_ADAPTIVE_TIMEOUT_H_

#include <optional>

#include "fleettune/v1/fleettune.pb.h"

namespace fleettune::tuner {

// A candidate may be this many times slower than the best before its measurement times out.
inline constexpr double kSlowestUsefulFactor = 20;
// Spawning the sandbox worker, loading, the correctness run and the reference on a cold
// board. A board often shares its CPU (the tuner's overlapped builds on an embedded fleet,
// other jobs): with 1 s, correct kernels timed out on a busy 2-core machine (load 3-8).
inline constexpr double kFixedOverheadSeconds = 4.0;
inline constexpr int kMinimumTimeoutMs = 1000;

// The timeout for the next candidate: enough for `measure.repeat()` repeats (plus two runs)
// of a kernel kSlowestUsefulFactor times slower than `best_seconds`, each repeat at least
// min_repeat_ms long, plus kFixedOverheadSeconds; never below kMinimumTimeoutMs and never
// above `measure.timeout_ms()` (the cap). Without a best time yet, the cap.
int AdaptiveTimeoutMs(const v1::MeasureOptions& measure, std::optional<double> best_seconds);

}  // namespace fleettune::tuner

#endif  // FLEETTUNE_TUNER_ADAPTIVE_TIMEOUT_H_
