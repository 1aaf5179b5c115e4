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
  if (!(sum > 0)) return std::nullopt;
  return util::CoefficientOfVariation(std::vector<double>(costs.begin(), costs.end()));
}

void BoardNoise::Add(const v1::MeasureResult& result) {
  if (result.status() != v1::OK) return;
  if (result.candidates().empty()) return AddCosts(result.costs());
  for (const v1::CandidateResult& candidate : result.candidates()) {
    if (candidate.status() == v1::OK) AddCosts(candidate.costs());
  }
}

void BoardNoise::AddCosts(absl::Span<const double> costs) {
  const std::optional<double> cv = CoefficientOfVariation(costs);
  if (!cv.has_value()) return;
  samples_.push_back(*cv);
  if (samples_.size() > kMaxSamples) samples_.pop_front();
}

double BoardNoise::MedianCv() const {
  return util::Median(std::vector<double>(samples_.begin(), samples_.end()));
}

}  // namespace fleettune::tracker
