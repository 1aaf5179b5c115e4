// A board's measurement noise as the tracker reports it (BoardStatus.noise_cv): how much the
// repeats of one measurement spread, the median over the board's recent results. A board
// whose repeats spread widely (a busy or thermally throttled machine, frequency scaling) has
// timings that do not rank configs well; `fleettune status` shows the figure per board.
#ifndef FLEETTUNE_TRACKER_BOARD_NOISE_H_
#define FLEETTUNE_TRACKER_BOARD_NOISE_H_

#include <cstddef>
#include <deque>
#include <optional>

#include "absl/types/span.h"
#include "fleettune/v1/fleettune.pb.h"

namespace fleettune::tracker {

// The coefficient of variation of `costs` (util::CoefficientOfVariation: the sample standard
// deviation over the mean). nullopt for fewer than 2 costs, a cost that is not finite, or a
// mean that is not positive: no figure rather than a misleading one.
std::optional<double> CoefficientOfVariation(absl::Span<const double> costs);

// The noise samples of one board: one coefficient of variation per OK measurement, the last
// kMaxSamples of them. Not thread-safe (the scheduler keeps it under its mutex).
class BoardNoise {
 public:
  static constexpr size_t kMaxSamples = 64;

  // Adds the samples `result` gives: none unless its status is OK; for a single-candidate
  // result its costs (one per repeat) as one sample; for a multi-candidate result each OK
  // candidate's costs (one per round) as one sample each. Costs without a
  // CoefficientOfVariation (fewer than 2, ...) give none.
  void Add(const v1::MeasureResult& result);
  // Adds one sample: the CV of `costs` (the repeats of one measurement, or one candidate's
  // rounds); none when CoefficientOfVariation has no figure for them.
  void AddCosts(absl::Span<const double> costs);

  // The median of the kept samples (util::Median: the mean of the middle two for an even
  // count); 0 when there are none.
  double MedianCv() const;
  size_t samples() const { return samples_.size(); }

 private:
  std::deque<double> samples_;  // oldest first, at most kMaxSamples
};

}  // namespace fleettune::tracker

#endif  // FLEETTUNE_TRACKER_BOARD_NOISE_H_
