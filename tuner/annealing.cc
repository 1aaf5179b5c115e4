#include "tuner/annealing.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace fleettune::tuner {

std::optional<absl::flat_hash_map<uint64_t, float>> Anneal(
    const codegen::SearchSpace& space, const CandidatePool& pool, const AnnealingOptions& options,
    const std::vector<uint64_t>& best_measured, const BatchScorer& score_batch,
    std::mt19937_64& rng) {
  const int chains = options.chains;
  std::vector<size_t> movable_knobs;  // knobs with more than one choice
  for (size_t k = 0; k < space.knobs().size(); ++k) {
    if (space.choice_count(k) > 1) movable_knobs.push_back(k);
  }
  // Predicted score of every config a chain visited; the candidates come from here.
  absl::flat_hash_map<uint64_t, float> scored;
  bool failed = false;
  auto score = [&](const std::vector<uint64_t>& indices) {
    std::vector<uint64_t> fresh;
    for (uint64_t index : indices) {
      if (scored.contains(index)) continue;
      if (!pool.contains(index)) {  // outside the candidates: never a plan entry, never moved to
        scored.emplace(index, -std::numeric_limits<float>::infinity());
        continue;
      }
      scored.emplace(index, 0.0f);  // placeholder, replaced below; also dedups this batch
      fresh.push_back(index);
    }
    std::vector<float> predicted;
    if (!score_batch(fresh, predicted)) {
      failed = true;
      return std::vector<float>(indices.size(), 0.0f);
    }
    for (size_t i = 0; i < fresh.size(); ++i) scored[fresh[i]] = predicted[i];
    std::vector<float> result;
    result.reserve(indices.size());
    for (uint64_t index : indices) result.push_back(scored[index]);
    return result;
  };

  // Start a quarter of the chains at the best measured configs, the rest at random points.
  std::vector<uint64_t> points;
  for (size_t i = 0; i < best_measured.size() && static_cast<int>(points.size()) < chains / 4;
       ++i) {
    if (pool.contains(best_measured[i])) points.push_back(best_measured[i]);
  }
  std::uniform_int_distribution<uint64_t> pick(0, pool.size() - 1);
  while (static_cast<int>(points.size()) < chains) points.push_back(pool.at(pick(rng)));
  std::vector<float> scores = score(points);

  // Scores of a ranking model have no unit: scale the temperature to their spread.
  double low = 0, high = 0;
  bool any = false;
  for (float s : scores) {
    if (!std::isfinite(s)) continue;
    low = any ? std::min<double>(low, s) : s;
    high = any ? std::max<double>(high, s) : s;
    any = true;
  }
  const double initial_temperature = high > low ? (high - low) / 2.0 : 1.0;
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  std::vector<uint64_t> moved(points.size());
  // Share of the work done before `step`: steps taken, or options.progress when ahead.
  auto done_before = [&](int step) {
    const double by_steps = static_cast<double>(step) / options.steps;
    return options.progress && step > 0 ? std::max(by_steps, options.progress()) : by_steps;
  };
  double done = 0;
  for (int step = 0; (done = done_before(step)) < 1 && !failed && !movable_knobs.empty(); ++step) {
    for (size_t c = 0; c < points.size(); ++c) {
      const size_t knob =
          movable_knobs[std::uniform_int_distribution<size_t>(0, movable_knobs.size() - 1)(rng)];
      const uint64_t choice = space.ChoiceAt(points[c], knob);
      // Another choice of the same knob: skip over the current one.
      uint64_t other =
          std::uniform_int_distribution<uint64_t>(0, space.choice_count(knob) - 2)(rng);
      if (other >= choice) ++other;
      moved[c] = space.WithChoice(points[c], knob, other);
    }
    const std::vector<float> moved_scores = score(moved);
    const double temperature = initial_temperature * (1.0 - done) + 1e-9;
    for (size_t c = 0; c < points.size(); ++c) {
      const double gain = static_cast<double>(moved_scores[c]) - scores[c];
      if (!std::isfinite(moved_scores[c])) continue;  // never walk out of the candidates
      if (gain >= 0 || !std::isfinite(scores[c]) || uniform(rng) < std::exp(gain / temperature)) {
        points[c] = moved[c];
        scores[c] = moved_scores[c];
      }
    }
  }
  if (failed) return std::nullopt;
  return scored;
}

}  // namespace fleettune::tuner
