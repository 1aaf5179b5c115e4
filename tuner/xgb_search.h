// A model-guided search strategy (AutoTVM's XGBTuner).
//
// Every Propose refits an XGBoost model (rank:pairwise by default, regression as an option)
// on the features of all measured configs, failed ones kept as the worst (throughput 0),
// plus any transfer rows (measured configs of other shapes of the same op, one ranking group
// per shape, throughput normalised per shape; see tuner/transfer.h). It then plans with the
// model: on a small space by scoring every unvisited config, otherwise by simulated annealing
// over the knob space (tuner/annealing.h). The plan is the best-scored unvisited configs the
// chains met; picks are taken from it greedily, skipping a candidate
// that differs in fewer than `min_distance` knobs from one already picked while others are
// left (diversity), and each slot is replaced by a random unvisited config with probability
// `epsilon` so the model keeps seeing configs it would not pick. Without a model (too few
// observations and no transfer rows or loaded model) it proposes uniformly random configs.
// The model is refitted only when observations (or transfer rows) arrived since the last fit.
// Under a planning budget (Search::set_planning_budget) the neighbourhood and the exhaustive
// scoring featurise only as many uncached configs as the time allows (cached ones first, the
// rest in a random order), and annealing cools and stops by the time spent.
// With transfer configs, the first rounds also propose the other shapes' best measured
// configs that exist in this space (a warm start; see XgbSearchOptions::transfer_seeds).
#ifndef FLEETTUNE_TUNER_XGB_SEARCH_H_
#define FLEETTUNE_TUNER_XGB_SEARCH_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "codegen/search_space.h"
#include "cost_model/xgb_model.h"
#include "tuner/candidate_pool.h"
#include "tuner/planning_budget.h"
#include "tuner/search.h"
#include "tuner/transfer.h"

namespace fleettune::tuner {

// Features of a config of the space: must return the same length for every config (see
// cost_model/features.h). Rows of another length are dropped from training and scored last.
using FeatureFunction = std::function<std::vector<float>(const v1::Config&)>;

struct XgbSearchOptions {
  int min_observations = 8;  // below this (and without transfer rows) the search is random
  int chains = 32;           // parallel annealing chains per Propose
  int steps = 100;           // steps per chain
  double epsilon = 0.05;     // chance each proposed slot is a random config instead
  int min_distance = 2;      // knobs in which picks of one round should differ (diversity)
  uint64_t seed = 0;         // seeds both the search and the model
  std::string objective = "rank:pairwise";  // or "reg:squarederror"
  // The rest of the model's parameters; its objective and seed are the two fields above.
  cost_model::XgbOptions model = DefaultModelOptions();
  // Empty: cost_model::KnobFeatures. The tuner passes cost_model::ConfigFeatures (loop nest
  // + knobs) bound to the workload and target.
  FeatureFunction features;
  // The first round starts with the template's default config (when unvisited), guided or
  // not: the hand-picked prior costs one trial and is often near the best.
  bool propose_default = true;
  // Non-empty: the only indices the search proposes (e.g. a measured table); the others are
  // never proposed. Indices outside the space are ignored.
  std::vector<uint64_t> candidates;
  // When the space (or `candidates`) has at most this many configs, every round scores all
  // unvisited ones with the model instead of annealing; features are cached, so each config
  // is featurised once.
  uint64_t exhaustive_limit = 1024;
  // Transfer blend: the weight of this workload's own rows relative to one transfer group,
  // as total weight (own rows x weight / an average transfer group's rows). 1: the job's
  // own data counts as much as one other shape, whatever the row counts.
  double own_influence = 1.0;
  // Source relevance: once the job has measured `relevance_rows` configs, each transfer group
  // (another shape) is weighed by how well a model fitted on that group alone ranks the
  // job's own measurements: max(Kendall tau, 0), at least kMinSourceWeight. A shape that
  // orders this one's configs wrongly stops steering the model. false: every group weighs 1.
  bool source_relevance = true;
  int relevance_rows = 4;
  // Local exploitation: this share of a round's model-guided picks are the best-scored
  // unvisited configs within `local_radius` knobs of the best measured one (a trust region:
  // a model fitted on tens of configs ranks the best one's neighbours far better than
  // distant configs). 0 turns it off.
  double local_share = 0.5;
  int local_radius = 2;
  // Warm start: with transfer configs (TransferData::configs), up to this many trials, at most
  // half of any round (at least one), go to the sources' best measured configs that are valid
  // in this space, right after the default. The shapes' optima are often near-optimal here
  // even where a model fitted on them ranks this shape's configs poorly (docs/decisions.md,
  // #4). 0 turns it off.
  int transfer_seeds = 4;

  // Model parameters for tens to hundreds of samples (see docs/decisions.md, #4).
  static cost_model::XgbOptions DefaultModelOptions();
};

// Not thread-safe, like every Search. Deterministic for a given space, options and sequence
// of calls, as long as the planning budget is unbounded (the default). Propose never returns a
// visited index (nor one outside options.candidates) and always terminates: when the model's plan
// has too few unvisited configs, random (and near exhaustion, scanned) configs fill the rest.
class XgbSearch : public Search {
 public:
  // InvalidArgument naming the option when chains, steps or min_observations is below 1,
  // min_distance below 0, epsilon outside [0, 1], own_influence not positive, a model
  // parameter out of range or the objective unknown, or when the space (or the candidates
  // within it) is empty.
  static absl::StatusOr<std::unique_ptr<XgbSearch>> Create(const codegen::SearchSpace& space,
                                                           XgbSearchOptions options);

  std::vector<uint64_t> Propose(int count) override;
  void MarkVisited(uint64_t index) override;
  // Records the throughput of `index` and marks it visited. Ignored for an index outside the
  // space; a negative or non-finite throughput counts as 0 (failed).
  void Observe(uint64_t index, double gflops) override;
  // Bounds each later Propose's model work (see Search::set_planning_budget): the fit counts
  // towards the budget and always runs; the plan is cut to what the rest allows.
  void set_planning_budget(double seconds) override { planning_budget_ = seconds; }
  double model_seconds() const override { return fit_seconds_; }
  double planning_seconds() const override { return plan_seconds_; }

  // Transfer: rows of other workloads trained on together with this one's observations from
  // now on. Rows whose length differs from this space's features are dropped; returns how
  // many rows were kept. With configs, also sets the warm-start seeds (see seeds()).
  int SetTransferData(TransferData data);
  // The warm-start order: the sources' measured configs that are in this space's candidates,
  // best first within each source, taken in turn from each source (the most measured source
  // first), each index once, failed configs never (TransferSources::seeds). Proposed up to
  // options.transfer_seeds.
  const std::vector<uint64_t>& seeds() const { return transfer_.seeds(); }
  // The weight of each kept transfer group in the latest fit (1 until source relevance has
  // enough own measurements; see XgbSearchOptions::source_relevance).
  const std::vector<float>& source_weights() const { return transfer_.weights(); }
  // The least weight a transfer group gets (XGBoost needs positive weights).
  static constexpr float kMinSourceWeight = TransferSources::kMinWeight;

  // Writes the latest fitted model (FailedPrecondition before any fit). Thread-compatible.
  absl::Status SaveModel(const std::string& path) const;
  // Uses the model saved at `path` to guide proposals until this search fits its own (which
  // happens once it has min_observations or transfer rows). InvalidArgument when the file is
  // not a model or its feature count differs from this space's features; nothing changes then.
  absl::Status LoadModel(const std::string& path);

  // Number of Propose calls whose proposals came from a model: for tests and logs.
  int model_guided_rounds() const { return model_guided_rounds_; }
  // Number of model fits so far: one per Propose once there is enough data and something new
  // was observed since the last fit.
  int fits() const { return fits_; }
  int observations() const { return static_cast<int>(observed_index_.size()); }

  // Model features of the config at `index` (options.features of space.ConfigAt(index), or
  // cost_model::KnobFeatures of it by default).
  std::vector<float> FeaturesAt(uint64_t index);
  // Length of every feature row of this space.
  size_t feature_count() const { return feature_count_; }

 private:
  using Clock = std::chrono::steady_clock;

  XgbSearch(const codegen::SearchSpace& space, XgbSearchOptions options,
            std::unique_ptr<cost_model::XgbModel> model);

  // KnobFeatures of the config with these choice positions, appended to `row`.
  void AppendKnobFeatures(const std::vector<uint64_t>& choices, std::vector<float>& row) const;

  // Refits the model on every observation and the transfer rows, unless the current model
  // was fitted on exactly those; false when it cannot be fitted (then a loaded model, if any,
  // still guides).
  bool Refit();
  // Unvisited indices the annealing chains met, best predicted score first, at most `count`.
  // The chains' steps end at `deadline`.
  std::vector<uint64_t> AnnealedPlan(int count, const PlanningDeadline& deadline);
  // The `count` best-scored unvisited candidates, all of them scored (all affordable by
  // `deadline`: see ScoreWithin).
  std::vector<uint64_t> ScoreAll(int count, const PlanningDeadline& deadline);
  // Scores rows with the model; false when prediction fails.
  bool Score(const std::vector<uint64_t>& indices, std::vector<float>& scores);
  // (score, index) of the `indices` the model scores finitely into `scored`: all of them
  // when `deadline` is unbounded, else those with cached features and then the others, in
  // a random order and kScoreBatch at a time, until `deadline` passes. False when prediction
  // fails.
  bool ScoreWithin(std::vector<uint64_t> indices, const PlanningDeadline& deadline,
                   std::vector<std::pair<float, uint64_t>>& scored);
  // Whether FeaturesAt(index) is cheap: cached, or knob features.
  bool FeaturesCached(uint64_t index) const {
    return !options_.features || feature_cache_.contains(index);
  }
  // Best `count` of (score, index) pairs, ties broken by a seeded hash of the index.
  std::vector<uint64_t> Best(std::vector<std::pair<float, uint64_t>> candidates, int count) const;
  bool InPool(uint64_t index) const { return pool_.contains(index); }
  void Visit(uint64_t index);
  // Unvisited candidates within options_.local_radius knobs of `center` (all of them when
  // there are at most kMaxNeighbours, else a random sample of that many).
  std::vector<uint64_t> Neighbours(uint64_t center);
  // The `count` best-scored of Neighbours(best measured config) (of those affordable by
  // `deadline`: see ScoreWithin).
  std::vector<uint64_t> LocalPlan(int count, const PlanningDeadline& deadline);
  // `count` picks from the plan, preferring ones `min_distance` knobs apart.
  std::vector<uint64_t> Diversify(const std::vector<uint64_t>& plan, int count) const;
  bool RandomUnvisited(const absl::flat_hash_set<uint64_t>& taken, uint64_t& index);
  bool Exhausted() const { return pool_visited_ >= pool_.size(); }

  // Constant after construction.
  const XgbSearchOptions options_;
  const codegen::SearchSpace space_;
  const uint64_t size_;
  const CandidatePool pool_;                         // options.candidates, or the whole space
  std::vector<std::vector<float>> choice_features_;  // [knob][choice * 2 + {0,1}]
  std::vector<size_t> movable_knobs_;                // knobs with more than one choice
  size_t feature_count_ = 0;

  std::unique_ptr<cost_model::XgbModel> model_;
  bool model_ready_ = false;    // fitted (this round or, with nothing new, before) or loaded
  bool model_current_ = false;  // fitted on every observation and transfer row there is
  double planning_budget_ = 0;  // seconds per Propose (set_planning_budget); <= 0: unbounded
  std::mt19937_64 rng_;
  absl::flat_hash_set<uint64_t> visited_;
  uint64_t pool_visited_ = 0;  // visited indices that are candidates
  bool default_offered_ = false;
  size_t next_seed_ = 0;    // first of transfer_.seeds() not yet considered
  int seeds_proposed_ = 0;  // trials given to seeds so far (the cap is per search)
  absl::flat_hash_map<uint64_t, std::vector<float>> feature_cache_;
  std::vector<uint64_t> observed_index_;
  std::vector<float> observed_gflops_;
  TransferSources transfer_;
  int model_guided_rounds_ = 0;
  int fits_ = 0;
  double fit_seconds_ = 0;
  double plan_seconds_ = 0;
};

}  // namespace fleettune::tuner

#endif  // FLEETTUNE_TUNER_XGB_SEARCH_H_
