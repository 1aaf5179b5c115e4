#include "tuner/xgb_search.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <functional>
#include <iterator>
#include <limits>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "cost_model/features.h"
#include "tuner/annealing.h"
#include "util/seconds_since.h"

namespace fleettune::tuner {
namespace {

using util::SecondsSince;

using Clock = std::chrono::steady_clock;

// Features of one knob choice, computed by KnobFeatures itself so the two cannot drift.
std::vector<float> ChoiceFeatures(const codegen::Knob& knob, int64_t value) {
  v1::Config config;
  v1::Config::Knob* entry = config.add_knobs();
  entry->set_name(knob.name);
  entry->set_value(value);
  return cost_model::KnobFeatures(config);
}

// Neighbourhoods larger than this are sampled (see XgbSearch::Neighbours).
constexpr size_t kMaxNeighbours = 2048;

// The feature cache is dropped when it grows past this many configs (a few tens of MB).
constexpr size_t kMaxCachedFeatures = 50000;

// Under a planning budget, configs whose features are not cached yet are featurised and
// scored this many at a time between looks at the clock: small enough that the last batch
// overruns the budget by little (ConfigFeatures lowers a loop nest, about 1 ms), large enough
// that a Predict call is worth its overhead. Annealing's batch is one step of its chains.
constexpr size_t kScoreBatch = 32;

// A well-mixed 64-bit hash (splitmix64's finaliser), for seeded tie-breaking.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

cost_model::XgbOptions XgbSearchOptions::DefaultModelOptions() {
  cost_model::XgbOptions options;
  options.max_depth = 3;
  options.eta = 0.3;
  options.num_rounds = 50;
  options.min_child_weight = 1;
  return options;
}

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
  if (options.min_distance < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("XgbSearchOptions.min_distance is ", options.min_distance, "; must be >= 0"));
  }
  if (!(options.epsilon >= 0 && options.epsilon <= 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("XgbSearchOptions.epsilon is ", options.epsilon, "; must be in [0, 1]"));
  }
  if (!(options.own_influence > 0 && std::isfinite(options.own_influence))) {
    return absl::InvalidArgumentError(
        absl::StrCat("XgbSearchOptions.own_influence is ", options.own_influence, "; must be > 0"));
  }
  if (options.relevance_rows < 2) {
    return absl::InvalidArgumentError(absl::StrCat("XgbSearchOptions.relevance_rows is ",
                                                   options.relevance_rows, "; must be >= 2"));
  }
  if (!(options.local_share >= 0 && options.local_share <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat("XgbSearchOptions.local_share is ",
                                                   options.local_share, "; must be in [0, 1]"));
  }
  if (options.local_radius < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("XgbSearchOptions.local_radius is ", options.local_radius, "; must be >= 1"));
  }
  if (options.transfer_seeds < 0) {
    return absl::InvalidArgumentError(absl::StrCat("XgbSearchOptions.transfer_seeds is ",
                                                   options.transfer_seeds, "; must be >= 0"));
  }

  if (!options.candidates.empty() &&
      std::none_of(options.candidates.begin(), options.candidates.end(),
                   [&](uint64_t index) { return index < space.size(); })) {
    return absl::InvalidArgumentError(
        "XgbSearchOptions.candidates holds no index of the search space");
  }
  cost_model::XgbOptions model_options = options.model;
  model_options.objective = options.objective;
  model_options.seed = options.seed;
  absl::StatusOr<std::unique_ptr<cost_model::XgbModel>> model =
      cost_model::XgbModel::Create(model_options);
  if (!model.ok()) return model.status();
  return std::unique_ptr<XgbSearch>(new XgbSearch(space, std::move(options), *std::move(model)));
}

XgbSearch::XgbSearch(const codegen::SearchSpace& space, XgbSearchOptions options,
                     std::unique_ptr<cost_model::XgbModel> model)
    : options_(std::move(options)),
      space_(space),
      size_(space.size()),
      pool_(space.size(), options_.candidates),
      model_(std::move(model)),
      rng_(options_.seed) {
  const std::vector<codegen::Knob>& knobs = space.knobs();
  choice_features_.resize(knobs.size());
  for (size_t k = 0; k < knobs.size(); ++k) {
    for (int64_t value : knobs[k].choices) {
      std::vector<float> pair = ChoiceFeatures(knobs[k], value);
      choice_features_[k].insert(choice_features_[k].end(), pair.begin(), pair.end());
    }
    if (space.choice_count(k) > 1) movable_knobs_.push_back(k);
  }
  // Every config of a template has the same feature length; the first one fixes it.
  feature_count_ = FeaturesAt(0).size();
}

void XgbSearch::Visit(uint64_t index) {
  if (visited_.insert(index).second && InPool(index)) ++pool_visited_;
}

void XgbSearch::MarkVisited(uint64_t index) { Visit(index); }

void XgbSearch::Observe(uint64_t index, double gflops) {
  if (index >= size_) return;
  Visit(index);
  model_current_ = false;
  observed_index_.push_back(index);
  observed_gflops_.push_back(std::isfinite(gflops) && gflops > 0 ? static_cast<float>(gflops)
                                                                 : 0.0f);
}

int XgbSearch::SetTransferData(TransferData data) {
  transfer_ = TransferSources(std::move(data), feature_count_,
                              [this](const v1::Config& config) -> std::optional<uint64_t> {
                                absl::StatusOr<uint64_t> index = space_.IndexOf(config);
                                if (!index.ok() || !InPool(*index)) return std::nullopt;
                                return *index;
                              });
  next_seed_ = 0;
  model_current_ = false;
  return static_cast<int>(transfer_.data().rows.size());
}

absl::Status XgbSearch::SaveModel(const std::string& path) const { return model_->Save(path); }

absl::Status XgbSearch::LoadModel(const std::string& path) {
  absl::StatusOr<std::unique_ptr<cost_model::XgbModel>> loaded =
      cost_model::XgbModel::Create(model_->options());
  if (!loaded.ok()) return loaded.status();
  if (absl::Status status = (*loaded)->Load(path); !status.ok()) return status;
  if (static_cast<size_t>((*loaded)->num_features()) != feature_count_) {
    return absl::InvalidArgumentError(absl::StrCat(
        "model '", path, "' takes ", (*loaded)->num_features(),
        " features but configs of template '", space_.template_name(), "' have ", feature_count_));
  }
  model_ = *std::move(loaded);
  model_ready_ = true;
  model_current_ = false;
  return absl::OkStatus();
}

void XgbSearch::AppendKnobFeatures(const std::vector<uint64_t>& choices,
                                   std::vector<float>& row) const {
  const size_t width =
      choice_features_.empty() ? 0 : choice_features_[0].size() / space_.choice_count(0);
  for (size_t k = 0; k < choices.size(); ++k) {
    const auto begin =
        choice_features_[k].begin() + static_cast<std::ptrdiff_t>(choices[k] * width);
    row.insert(row.end(), begin, begin + static_cast<std::ptrdiff_t>(width));
  }
}

std::vector<float> XgbSearch::FeaturesAt(uint64_t index) {
  if (!options_.features) {
    std::vector<float> row;
    AppendKnobFeatures(space_.ChoicesAt(index), row);
    return row;
  }
  if (auto found = feature_cache_.find(index); found != feature_cache_.end()) {
    return found->second;
  }
  if (feature_cache_.size() >= kMaxCachedFeatures) feature_cache_.clear();
  std::vector<float> row = options_.features(space_.ConfigAt(index));
  feature_cache_.emplace(index, row);
  return row;
}

bool XgbSearch::RandomUnvisited(const absl::flat_hash_set<uint64_t>& taken, uint64_t& index) {
  std::uniform_int_distribution<uint64_t> pick(0, pool_.size() - 1);
  // Rejection sampling while the pool is mostly free; a scan near exhaustion.
  for (int attempt = 0; attempt < 64; ++attempt) {
    index = pool_.at(pick(rng_));
    if (!visited_.contains(index) && !taken.contains(index)) return true;
  }
  for (uint64_t i = 0; i < pool_.size(); ++i) {
    if (!visited_.contains(pool_.at(i)) && !taken.contains(pool_.at(i))) {
      index = pool_.at(i);
      return true;
    }
  }
  return false;
}

bool XgbSearch::Refit() {
  // Nothing new to learn from: the model fitted last time is the one this data gives.
  if (model_current_) return true;
  const bool enough_own = static_cast<int>(observed_index_.size()) >= options_.min_observations &&
                          *std::max_element(observed_gflops_.begin(), observed_gflops_.end()) > 0;
  if (!enough_own && transfer_.empty()) return false;
  if (space_.knobs().empty() || feature_count_ == 0) return false;
  auto start = Clock::now();
  std::vector<std::vector<float>> own_rows;
  std::vector<float> own_gflops;
  for (size_t i = 0; i < observed_index_.size(); ++i) {
    std::vector<float> row = FeaturesAt(observed_index_[i]);
    if (row.size() != feature_count_) continue;  // never trained on: see FeatureFunction
    own_rows.push_back(std::move(row));
    own_gflops.push_back(observed_gflops_[i]);
  }
  const TransferData& transfer = transfer_.data();
  std::vector<float> weights;
  if (!transfer.group_sizes.empty()) {
    if (options_.source_relevance) {
      transfer_.Weigh(model_->options(), options_.relevance_rows, own_rows, own_gflops);
    }
    weights = transfer_.weights();
  }
  std::vector<std::vector<float>> rows = transfer.rows;
  std::vector<float> throughput = transfer.throughput;
  std::vector<unsigned> groups = transfer.group_sizes;
  const auto own = static_cast<unsigned>(own_rows.size());
  rows.insert(rows.end(), std::make_move_iterator(own_rows.begin()),
              std::make_move_iterator(own_rows.end()));
  throughput.insert(throughput.end(), own_gflops.begin(), own_gflops.end());
  if (own > 0) {
    groups.push_back(own);
    if (!transfer.group_sizes.empty()) {
      // Blend: the own group weighs own_influence average transfer groups in total.
      weights.push_back(transfer_.OwnWeight(own, options_.own_influence));
    }
  }
  const bool fitted = !rows.empty() && model_->FitGroups(rows, throughput, groups, weights).ok();
  fit_seconds_ += SecondsSince(start);
  if (fitted) {
    ++fits_;
    model_ready_ = true;
    model_current_ = true;
  }
  return fitted;
}

bool XgbSearch::Score(const std::vector<uint64_t>& indices, std::vector<float>& scores) {
  scores.assign(indices.size(), -std::numeric_limits<float>::infinity());
  std::vector<std::vector<float>> rows;
  std::vector<size_t> positions;
  rows.reserve(indices.size());
  for (size_t i = 0; i < indices.size(); ++i) {
    std::vector<float> row = FeaturesAt(indices[i]);
    if (row.size() != feature_count_) continue;  // scored last: see FeatureFunction
    rows.push_back(std::move(row));
    positions.push_back(i);
  }
  absl::StatusOr<std::vector<float>> predicted = model_->Predict(rows);
  if (!predicted.ok()) return false;
  for (size_t i = 0; i < positions.size(); ++i) scores[positions[i]] = (*predicted)[i];
  return true;
}

std::vector<uint64_t> XgbSearch::Best(std::vector<std::pair<float, uint64_t>> candidates,
                                      int count) const {
  // Best score first; ties (common with few training rows) by a seeded hash of the index, so
  // the result depends neither on hash order nor on where a config sits in the space.
  const uint64_t salt = Mix(options_.seed);
  const auto better = [salt](const std::pair<float, uint64_t>& a,
                             const std::pair<float, uint64_t>& b) {
    if (a.first != b.first) return a.first > b.first;
    const uint64_t ha = Mix(a.second ^ salt), hb = Mix(b.second ^ salt);
    return ha != hb ? ha < hb : a.second < b.second;
  };
  const size_t keep = std::min(candidates.size(), static_cast<size_t>(std::max(count, 0)));
  std::partial_sort(candidates.begin(), candidates.begin() + keep, candidates.end(), better);
  std::vector<uint64_t> best;
  best.reserve(keep);
  for (size_t i = 0; i < keep; ++i) best.push_back(candidates[i].second);
  return best;
}

bool XgbSearch::ScoreWithin(std::vector<uint64_t> indices, const PlanningDeadline& deadline,
                            std::vector<std::pair<float, uint64_t>>& scored) {
  scored.clear();
  std::vector<float> scores;
  auto add = [&](const std::vector<uint64_t>& batch) {
    if (!Score(batch, scores)) return false;
    for (size_t i = 0; i < batch.size(); ++i) {
      if (std::isfinite(scores[i])) scored.emplace_back(scores[i], batch[i]);
    }
    return true;
  };
  if (!deadline.bounded()) return add(indices);
  // Cached features cost only a prediction; the others are featurised while time is left,
  // in a random order so that a cut-off does not favour any part of the space.
  const auto uncached_begin = std::stable_partition(
      indices.begin(), indices.end(), [this](uint64_t index) { return FeaturesCached(index); });
  std::vector<uint64_t> uncached(uncached_begin, indices.end());
  indices.erase(uncached_begin, indices.end());
  if (!add(indices)) return false;
  std::shuffle(uncached.begin(), uncached.end(), rng_);
  for (size_t begin = 0; begin < uncached.size() && !deadline.Passed(); begin += kScoreBatch) {
    const size_t end = std::min(uncached.size(), begin + kScoreBatch);
    if (!add(std::vector<uint64_t>(uncached.begin() + static_cast<std::ptrdiff_t>(begin),
                                   uncached.begin() + static_cast<std::ptrdiff_t>(end)))) {
      return false;
    }
  }
  return true;
}

std::vector<uint64_t> XgbSearch::ScoreAll(int count, const PlanningDeadline& deadline) {
  std::vector<uint64_t> unvisited;
  for (uint64_t i = 0; i < pool_.size(); ++i) {
    const uint64_t index = pool_.at(i);
    if (!visited_.contains(index)) unvisited.push_back(index);
  }
  std::vector<std::pair<float, uint64_t>> candidates;
  if (!ScoreWithin(std::move(unvisited), deadline, candidates)) return {};
  return Best(std::move(candidates), count);
}

std::vector<uint64_t> XgbSearch::AnnealedPlan(int count, const PlanningDeadline& deadline) {
  // The measured configs, best first (chains start at the best of them).
  std::vector<size_t> order(observed_index_.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return observed_gflops_[a] > observed_gflops_[b]; });
  std::vector<uint64_t> best_measured;
  best_measured.reserve(order.size());
  for (size_t i : order) best_measured.push_back(observed_index_[i]);

  AnnealingOptions annealing;
  annealing.chains = options_.chains;
  annealing.steps = options_.steps;
  if (deadline.bounded()) {
    annealing.progress = [&deadline, start = Clock::now()] { return deadline.Progress(start); };
  }
  std::optional<absl::flat_hash_map<uint64_t, float>> scored = Anneal(
      space_, pool_, annealing, best_measured,
      [this](const std::vector<uint64_t>& indices, std::vector<float>& scores) {
        return Score(indices, scores);
      },
      rng_);
  if (!scored) return {};
  std::vector<std::pair<float, uint64_t>> candidates;
  for (const auto& [index, value] : *scored) {
    if (!visited_.contains(index) && std::isfinite(value)) candidates.emplace_back(value, index);
  }
  return Best(std::move(candidates), count);
}

std::vector<uint64_t> XgbSearch::Neighbours(uint64_t center) {
  // Every config within the radius, by changing 1..radius distinct knobs (in increasing knob
  // order, so each config is generated once).
  std::vector<uint64_t> found;
  std::function<void(size_t, uint64_t, int)> vary = [&](size_t first, uint64_t index, int changed) {
    if (found.size() > 4 * kMaxNeighbours) return;  // enough to sample from
    for (size_t m = first; m < movable_knobs_.size(); ++m) {
      const size_t knob = movable_knobs_[m];
      // Knobs before `knob` may have changed in `index`, this one not yet.
      const uint64_t choice = space_.ChoiceAt(center, knob);
      for (uint64_t other = 0; other < space_.choice_count(knob); ++other) {
        if (other == choice) continue;
        const uint64_t moved = space_.WithChoice(index, knob, other);
        if (InPool(moved) && !visited_.contains(moved)) found.push_back(moved);
        if (changed + 1 < options_.local_radius) vary(m + 1, moved, changed + 1);
      }
    }
  };
  vary(0, center, 0);
  if (found.size() > kMaxNeighbours) {
    std::shuffle(found.begin(), found.end(), rng_);
    found.resize(kMaxNeighbours);
  }
  return found;
}

std::vector<uint64_t> XgbSearch::LocalPlan(int count, const PlanningDeadline& deadline) {
  if (count <= 0 || observed_index_.empty()) return {};
  const size_t best =
      static_cast<size_t>(std::max_element(observed_gflops_.begin(), observed_gflops_.end()) -
                          observed_gflops_.begin());
  if (observed_gflops_[best] <= 0) return {};
  std::vector<uint64_t> near = Neighbours(observed_index_[best]);
  std::vector<std::pair<float, uint64_t>> candidates;
  if (near.empty() || !ScoreWithin(std::move(near), deadline, candidates)) return {};
  return Best(std::move(candidates), count);
}

std::vector<uint64_t> XgbSearch::Diversify(const std::vector<uint64_t>& plan, int count) const {
  std::vector<uint64_t> picks;
  std::vector<bool> used(plan.size(), false);
  std::vector<std::vector<uint64_t>> picked_choices;
  for (size_t i = 0; i < plan.size() && static_cast<int>(picks.size()) < count; ++i) {
    std::vector<uint64_t> choices = space_.ChoicesAt(plan[i]);
    bool far = true;
    for (const std::vector<uint64_t>& other : picked_choices) {
      int differ = 0;
      for (size_t k = 0; k < choices.size(); ++k) differ += choices[k] != other[k];
      if (differ < options_.min_distance) {
        far = false;
        break;
      }
    }
    if (!far) continue;
    used[i] = true;
    picks.push_back(plan[i]);
    picked_choices.push_back(std::move(choices));
  }
  // Not enough distinct ones: the best remaining candidates, in plan order.
  for (size_t i = 0; i < plan.size() && static_cast<int>(picks.size()) < count; ++i) {
    if (!used[i]) picks.push_back(plan[i]);
  }
  return picks;
}

std::vector<uint64_t> XgbSearch::Propose(int count) {
  std::vector<uint64_t> picks;
  if (count <= 0 || Exhausted()) return picks;
  const PlanningDeadline deadline = PlanningDeadline::After(Clock::now(), planning_budget_);
  if (options_.propose_default && !default_offered_) {
    // The template's hand-picked default leads the first round, model or not: one trial for
    // the prior every user gets without tuning.
    default_offered_ = true;
    absl::StatusOr<uint64_t> index = space_.IndexOf(space_.DefaultConfig());
    if (index.ok() && InPool(*index) && !visited_.contains(*index)) {
      picks.push_back(*index);
      Visit(*index);
    }
  }
  // Warm start: the sources' best configs, at most half the round (at least one).
  const int seed_room = std::min(options_.transfer_seeds - seeds_proposed_, std::max(1, count / 2));
  for (int added = 0; added < seed_room && static_cast<int>(picks.size()) < count &&
                      next_seed_ < seeds().size();) {
    const uint64_t index = seeds()[next_seed_++];
    if (visited_.contains(index)) continue;
    picks.push_back(index);
    Visit(index);
    ++added;
    ++seeds_proposed_;
  }
  std::vector<uint64_t> guided;
  const int wanted = count - static_cast<int>(picks.size());
  Refit();
  if (model_ready_ && wanted > 0 && !Exhausted()) {
    auto plan_start = Clock::now();
    // Local picks first: the best-scored neighbours of the best measured config, with the
    // same share of the time left as of the picks.
    guided = LocalPlan(static_cast<int>(std::lround(options_.local_share * wanted)),
                       deadline.Share(options_.local_share));
    const int global = wanted - static_cast<int>(guided.size());
    // The plan: several candidates per slot, so diversity has something to choose from.
    std::vector<uint64_t> plan = pool_.size() <= options_.exhaustive_limit
                                     ? ScoreAll(4 * wanted, deadline)
                                     : AnnealedPlan(4 * wanted, deadline);
    plan.erase(std::remove_if(plan.begin(), plan.end(),
                              [&](uint64_t index) {
                                return std::find(guided.begin(), guided.end(), index) !=
                                       guided.end();
                              }),
               plan.end());
    for (uint64_t index : Diversify(plan, global)) guided.push_back(index);
    plan_seconds_ += SecondsSince(plan_start);
    if (!guided.empty()) ++model_guided_rounds_;
  }

  absl::flat_hash_set<uint64_t> taken(picks.begin(), picks.end());
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
  for (uint64_t pick : picks) Visit(pick);
  return picks;
}

}  // namespace fleettune::tuner
