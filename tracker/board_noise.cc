#include "tracker/board_noise.h"

#include <cmath>
#include <vector>

#include "util/median.h"

namespace fleettune::tracker {

std::optional<double> CoefficientOfVariation(absl::Span<const double> costs) {
  if (costs.size() < 2) return std::nullopt;
  double sum = 0;
  for (double cost : costs) {
    if (!std::isfinite(cost)) return std::nullopt;
    sum += cost;
  }
  const double mean = sum / static_cast<double>(costs.size());
  if (!(mean > 0)) return std::nullopt;
  double squares = 0;
  for (double cost : costs) squares += (cost - mean) * (cost - mean);
  return std::sqrt(squares / static_cast<double>(costs.size() - 1)) / mean;
}

void BoardNoise::Add(const v1::MeasureResult& result) {
  if (result.status() != v1::OK) return;
  if (result.candidates().empty()) return AddSample(result.costs());
  for (const v1::CandidateResult& candidate : result.candidates()) {
    if (candidate.status() == v1::OK) AddSample(candidate.costs());
  }
}

void BoardNoise::AddSample(absl::Span<const double> costs) {
  const std::optional<double> cv = CoefficientOfVariation(costs);
  if (!cv.has_value()) return;
  samples_.push_back(*cv);
  if (samples_.size() > kMaxSamples) samples_.pop_front();
}

double BoardNoise::MedianCv() const {
  return util::Median(std::vector<double>(samples_.begin(), samples_.end()));
}

}  // namespace fleettune::tracker
