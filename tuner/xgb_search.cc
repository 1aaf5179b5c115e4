#include "tuner/xgb_search.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "cost_model/features.h"

namespace fleettune::tuner {
namespace {

// Features of one knob choice, computed by KnobFeatures itself so the two cannot drift.
std::vector<float> ChoiceFeatures(const codegen::Knob& knob, int64_t value) {
  v1::Config config;
  v1::Config::Knob* entry = config.add_knobs();
  entry->set_name(knob.name);
  entry->set_value(value);
  return cost_model::KnobFeatures(config);
}

}  // namespace

absl::StatusOr<std::unique_ptr<XgbSearch>> XgbSearch::Create(const codegen::SearchSpace& space,
                                                             XgbSearchOptions options) {
  if (space.size() == 0) return absl::InvalidArgumentError("the search space is empty");
  if (options.min_observations < 1) {
    return absl::InvalidArgumentError(absl::StrCat("XgbSearchOptions.min_observations is ",
                                                   options.min_observations, "; must be >= 1"));
  }
  if (options.chains < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("XgbSearchOptions.chains is ", options.chains, "; must be >= 1"));
  }
  if (options.steps < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("XgbSearchOptions.steps is ", options.steps, "; must be >= 1"));
  }
  if (!(options.epsilon >= 0 && options.epsilon <= 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("XgbSearchOptions.epsilon is ", options.epsilon, "; must be in [0, 1]"));
  }
  cost_model::XgbOptions model_options;
  model_options.objective = "rank:pairwise";
  model_options.seed = options.seed;
  absl::StatusOr<std::unique_ptr<cost_model::XgbModel>> model =
      cost_model::XgbModel::Create(model_options);
  if (!model.ok()) return model.status();
  return std::unique_ptr<XgbSearch>(new XgbSearch(space, options, *std::move(model)));
}

XgbSearch::XgbSearch(const codegen::SearchSpace& space, XgbSearchOptions options,
                     std::unique_ptr<cost_model::XgbModel> model)
    : options_(options), size_(space.size()), model_(std::move(model)), rng_(options.seed) {
  const std::vector<codegen::Knob>& knobs = space.knobs();
  radix_.resize(knobs.size());
  stride_.resize(knobs.size());
  choice_features_.resize(knobs.size());
  uint64_t stride = 1;
  for (size_t k = knobs.size(); k-- > 0;) {
    radix_[k] = static_cast<int>(knobs[k].choices.size());
    stride_[k] = stride;
    stride *= static_cast<uint64_t>(radix_[k]);
    for (int64_t value : knobs[k].choices) {
      std::vector<float> pair = ChoiceFeatures(knobs[k], value);
      choice_features_[k].insert(choice_features_[k].end(), pair.begin(), pair.end());
    }
  }
  for (size_t k = 0; k < knobs.size(); ++k) {
    if (radix_[k] > 1) movable_knobs_.push_back(static_cast<int>(k));
  }
}

void XgbSearch::MarkVisited(uint64_t index) { visited_.insert(index); }

void XgbSearch::Observe(uint64_t index, double gflops) {
  if (index >= size_) return;
  visited_.insert(index);
  observed_index_.push_back(index);
  observed_gflops_.push_back(std::isfinite(gflops) && gflops > 0 ? static_cast<float>(gflops)
                                                                 : 0.0f);
}

std::vector<int> XgbSearch::Digits(uint64_t index) const {
  std::vector<int> digits(radix_.size());
  for (size_t k = radix_.size(); k-- > 0;) {
    digits[k] = static_cast<int>(index % static_cast<uint64_t>(radix_[k]));
    index /= static_cast<uint64_t>(radix_[k]);
  }
  return digits;
}

void XgbSearch::AppendFeatures(const std::vector<int>& digits, std::vector<float>& row) const {
  const size_t width = choice_features_.empty() ? 0 : choice_features_[0].size() / radix_[0];
  for (size_t k = 0; k < digits.size(); ++k) {
    const auto begin = choice_features_[k].begin() + digits[k] * width;
    row.insert(row.end(), begin, begin + width);
  }
}

std::vector<float> XgbSearch::FeaturesAt(uint64_t index) const {
  std::vector<float> row;
  AppendFeatures(Digits(index), row);
  return row;
}

bool XgbSearch::RandomUnvisited(const absl::flat_hash_set<uint64_t>& taken, uint64_t& index) {
  std::uniform_int_distribution<uint64_t> pick(0, size_ - 1);
  // Rejection sampling while the space is mostly free; a scan near exhaustion.
  for (int attempt = 0; attempt < 64; ++attempt) {
    index = pick(rng_);
    if (!visited_.contains(index) && !taken.contains(index)) return true;
  }
  for (uint64_t i = 0; i < size_; ++i) {
    if (!visited_.contains(i) && !taken.contains(i)) {
      index = i;
      return true;
    }
  }
  return false;
}

bool XgbSearch::Refit() {
  if (static_cast<int>(observed_index_.size()) < options_.min_observations) return false;
  if (*std::max_element(observed_gflops_.begin(), observed_gflops_.end()) <= 0) return false;
  if (radix_.empty()) return false;
  std::vector<std::vector<float>> rows;
  rows.reserve(observed_index_.size());
  for (uint64_t index : observed_index_) rows.push_back(FeaturesAt(index));
  return model_->Fit(rows, observed_gflops_).ok();
}

std::vector<uint64_t> XgbSearch::Anneal(int count) {
  const int chains = options_.chains;
  // Predicted score of every config a chain visited; the candidates come from here.
  absl::flat_hash_map<uint64_t, float> scored;
  bool failed = false;
  auto score = [&](const std::vector<uint64_t>& indices) {
    std::vector<std::vector<float>> rows;
    std::vector<uint64_t> fresh;
    for (uint64_t index : indices) {
      if (scored.contains(index)) continue;
      scored.emplace(index, 0.0f);  // placeholder, replaced below; also dedups this batch
      fresh.push_back(index);
      rows.push_back(FeaturesAt(index));
    }
    absl::StatusOr<std::vector<float>> predicted = model_->Predict(rows);
    if (!predicted.ok()) {
      failed = true;
      return std::vector<float>(indices.size(), 0.0f);
    }
    for (size_t i = 0; i < fresh.size(); ++i) scored[fresh[i]] = (*predicted)[i];
    std::vector<float> result;
    result.reserve(indices.size());
    for (uint64_t index : indices) result.push_back(scored[index]);
    return result;
  };

  // Start a quarter of the chains at the best measured configs, the rest at random points.
  std::vector<size_t> order(observed_index_.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return observed_gflops_[a] > observed_gflops_[b]; });
  std::vector<uint64_t> points;
  for (size_t i = 0; i < order.size() && static_cast<int>(points.size()) < chains / 4; ++i) {
    points.push_back(observed_index_[order[i]]);
  }
  std::uniform_int_distribution<uint64_t> pick(0, size_ - 1);
  while (static_cast<int>(points.size()) < chains) points.push_back(pick(rng_));
  std::vector<float> scores = score(points);

  // Scores of a ranking model have no unit: scale the temperature to their spread.
  const auto [low, high] = std::minmax_element(scores.begin(), scores.end());
  const double initial_temperature = *high > *low ? (*high - *low) / 2.0 : 1.0;
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  std::vector<uint64_t> moved(points.size());
  for (int step = 0; step < options_.steps && !failed && !movable_knobs_.empty(); ++step) {
    for (size_t c = 0; c < points.size(); ++c) {
      const int knob =
          movable_knobs_[std::uniform_int_distribution<size_t>(0, movable_knobs_.size() - 1)(rng_)];
      const uint64_t digit = (points[c] / stride_[knob]) % static_cast<uint64_t>(radix_[knob]);
      // Another choice of the same knob: skip over the current one.
      uint64_t other = std::uniform_int_distribution<uint64_t>(0, radix_[knob] - 2)(rng_);
      if (other >= digit) ++other;
      moved[c] = points[c] - digit * stride_[knob] + other * stride_[knob];
    }
    const std::vector<float> moved_scores = score(moved);
    const double temperature =
        initial_temperature * (1.0 - static_cast<double>(step) / options_.steps);
    for (size_t c = 0; c < points.size(); ++c) {
      const double gain = moved_scores[c] - scores[c];
      if (gain >= 0 || uniform(rng_) < std::exp(gain / temperature)) {
        points[c] = moved[c];
        scores[c] = moved_scores[c];
      }
    }
  }
  if (failed) return {};

  std::vector<std::pair<float, uint64_t>> candidates;
  for (const auto& [index, value] : scored) {
    if (!visited_.contains(index)) candidates.emplace_back(value, index);
  }
  // Best score first; ties by index so the result does not depend on hash order.
  const auto better = [](const std::pair<float, uint64_t>& a, const std::pair<float, uint64_t>& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  };
  const size_t keep = std::min(candidates.size(), static_cast<size_t>(count));
  std::partial_sort(candidates.begin(), candidates.begin() + keep, candidates.end(), better);
  std::vector<uint64_t> best;
  best.reserve(keep);
  for (size_t i = 0; i < keep; ++i) best.push_back(candidates[i].second);
  return best;
}

std::vector<uint64_t> XgbSearch::Propose(int count) {
  std::vector<uint64_t> picks;
  if (count <= 0 || Exhausted()) return picks;
  std::vector<uint64_t> guided;
  if (Refit()) {
    guided = Anneal(count);
    if (!guided.empty()) ++model_guided_rounds_;
  }
  absl::flat_hash_set<uint64_t> taken;
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  for (uint64_t index : guided) {
    // Epsilon-greedy: keep exploring configs the model would not pick.
    uint64_t random_index;
    if (uniform(rng_) < options_.epsilon && RandomUnvisited(taken, random_index) &&
        std::find(guided.begin(), guided.end(), random_index) == guided.end()) {
      index = random_index;
    }
    if (taken.insert(index).second) picks.push_back(index);
  }
  uint64_t index;
  while (static_cast<int>(picks.size()) < count && RandomUnvisited(taken, index)) {
    taken.insert(index);
    picks.push_back(index);
  }
  for (uint64_t pick : picks) visited_.insert(pick);
  return picks;
}

}  // namespace fleettune::tuner
