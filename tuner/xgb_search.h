// A model-guided search strategy (AutoTVM's XGBTuner, simplified).
//
// Until it has seen enough measurements it proposes uniformly random unvisited configs. Then
// every Propose refits an XGBoost ranking model on the knob features of all measured configs
// and runs simulated annealing over the knob space, scored by the model: parallel chains that
// each change one knob per step and accept by the predicted score at a linearly cooling
// temperature. It proposes the best-scored unvisited configs the chains met, each slot
// replaced by a random unvisited config with probability `epsilon` so the model keeps seeing
// configs it would not pick.
#ifndef FLEETTUNE_TUNER_XGB_SEARCH_H_
#define FLEETTUNE_TUNER_XGB_SEARCH_H_

#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "codegen/search_space.h"
#include "cost_model/xgb_model.h"
#include "tuner/search.h"

namespace fleettune::tuner {

struct XgbSearchOptions {
  int min_observations = 8;  // below this the search is uniformly random
  int chains = 32;           // parallel annealing chains per Propose
  int steps = 100;           // steps per chain
  double epsilon = 0.05;     // chance each proposed slot is a random config instead
  uint64_t seed = 0;         // seeds both the search and the model
};

// Not thread-safe, like every Search. Deterministic for a given space, options and sequence
// of calls. Propose never returns a visited index and always terminates: when the chains find
// too few unvisited configs, random (and near exhaustion, scanned) configs fill the rest.
class XgbSearch : public Search {
 public:
  // InvalidArgument naming the option when chains, steps or min_observations is below 1 or
  // epsilon is outside [0, 1], or when the space is empty.
  static absl::StatusOr<std::unique_ptr<XgbSearch>> Create(const codegen::SearchSpace& space,
                                                           XgbSearchOptions options);

  std::vector<uint64_t> Propose(int count) override;
  void MarkVisited(uint64_t index) override;
  // Records the throughput of `index` and marks it visited. Ignored for an index outside the
  // space; a negative or non-finite throughput counts as 0 (failed).
  void Observe(uint64_t index, double gflops) override;

  // Number of Propose calls whose proposals came from a fitted model: for tests and logs.
  int model_guided_rounds() const { return model_guided_rounds_; }

  // Model features of the config at `index`: equal to
  // cost_model::KnobFeatures(space.ConfigAt(index)), computed without building the config.
  std::vector<float> FeaturesAt(uint64_t index) const;

 private:
  XgbSearch(const codegen::SearchSpace& space, XgbSearchOptions options,
            std::unique_ptr<cost_model::XgbModel> model);

  // Per-knob choice positions of `index` (mixed radix, last knob fastest) and back.
  std::vector<int> Digits(uint64_t index) const;
  void AppendFeatures(const std::vector<int>& digits, std::vector<float>& row) const;

  // Refits the model on every observation; false when it cannot be fitted.
  bool Refit();
  // Unvisited indices the annealing chains met, best predicted score first, at most `count`.
  std::vector<uint64_t> Anneal(int count);
  // A uniformly random unvisited index not in `taken`, or none when every index is visited
  // or taken.
  bool RandomUnvisited(const absl::flat_hash_set<uint64_t>& taken, uint64_t& index);
  bool Exhausted() const { return visited_.size() >= size_; }

  // Constant after construction.
  const XgbSearchOptions options_;
  const uint64_t size_;
  std::vector<int> radix_;                           // choices per knob
  std::vector<uint64_t> stride_;                     // index step of one choice of each knob
  std::vector<std::vector<float>> choice_features_;  // [knob][choice * 2 + {0,1}]
  std::vector<int> movable_knobs_;                   // knobs with more than one choice

  std::unique_ptr<cost_model::XgbModel> model_;
  std::mt19937_64 rng_;
  absl::flat_hash_set<uint64_t> visited_;
  std::vector<uint64_t> observed_index_;
  std::vector<float> observed_gflops_;
  int model_guided_rounds_ = 0;
};

}  // namespace fleettune::tuner

#endif  // FLEETTUNE_TUNER_XGB_SEARCH_H_
