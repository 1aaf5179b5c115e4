// A gradient-boosted tree cost model (XGBoost) that scores configs: higher = faster.
//
// The tuner fits it on every measured config's features and throughput, then ranks
// unmeasured candidates by Predict. Only the order of scores means anything: with the
// default pairwise ranking objective the scores are not throughputs.
#ifndef FLEETTUNE_COST_MODEL_XGB_MODEL_H_
#define FLEETTUNE_COST_MODEL_XGB_MODEL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace fleettune::cost_model {

struct XgbOptions {
  // "rank:pairwise" learns the order of configs (AutoTVM's default); "reg:squarederror"
  // regresses normalised throughput.
  std::string objective = "rank:pairwise";
  int max_depth = 3;
  double eta = 0.3;
  int num_rounds = 50;  // boosting rounds per Fit
  // Minimum hessian sum in a leaf. Pairwise ranking gives each row a hessian of about 0.5
  // per sampled pair, so 1 lets a leaf hold two configs: what tens of samples need.
  double min_child_weight = 1;
  double colsample_bytree = 1;  // share of features each tree may split on, in (0, 1]
  uint64_t seed = 0;
  int nthread = 1;  // builders already use the other cores
  std::string tree_method = "exact";
};

namespace internal {
struct BoosterDeleter {
  void operator()(void* booster) const;
};
}  // namespace internal

// Thread-safe: Fit, Predict, Save and Load are serialized by a mutex.
class XgbModel {
 public:
  // InvalidArgument naming the option when one is out of range or the objective is not one
  // of the two above. The model starts untrained.
  static absl::StatusOr<std::unique_ptr<XgbModel>> Create(XgbOptions options);
  ~XgbModel();

  XgbModel(const XgbModel&) = delete;
  XgbModel& operator=(const XgbModel&) = delete;

  // Trains a new model from scratch on rows of `features` (one row per config, all the same
  // length) and their `throughput` (any unit; 0 for a failed config, the worst). Throughput
  // is divided by its maximum before training, so labels lie in [0, 1]. InvalidArgument
  // naming the row when a row's length differs from the first, when sizes differ, when
  // there are no rows or no features, or when a throughput is negative or not finite; the
  // previous model is kept on any error.
  absl::Status Fit(const std::vector<std::vector<float>>& features,
                   const std::vector<float>& throughput) ABSL_LOCKS_EXCLUDED(mutex_);

  // Fit on rows of several workloads: `group_sizes` splits the rows, in order, into
  // consecutive groups (one per workload). Throughput is normalised by each group's maximum,
  // and the ranking objective compares configs only within a group. `group_weights` (empty:
  // all 1) weighs each group's rows in the loss, e.g. a new workload's own rows against
  // transfer rows. InvalidArgument as Fit, and when a group is empty, the sizes do not add
  // up to the row count, or the weights are not one positive finite value per group.
  absl::Status FitGroups(const std::vector<std::vector<float>>& features,
                         const std::vector<float>& throughput,
                         const std::vector<unsigned>& group_sizes,
                         const std::vector<float>& group_weights = {}) ABSL_LOCKS_EXCLUDED(mutex_);

  // One score per row; higher means predicted faster. FailedPrecondition before the first
  // successful Fit or Load; InvalidArgument naming the row when a row's length differs
  // from the trained feature count. An empty `features` gives an empty result.
  absl::StatusOr<std::vector<float>> Predict(const std::vector<std::vector<float>>& features) const
      ABSL_LOCKS_EXCLUDED(mutex_);

  // Writes the trained model to `path` (XGBoost's UBJSON format). FailedPrecondition when
  // untrained; Internal naming the path when it cannot be written.
  absl::Status Save(const std::string& path) const ABSL_LOCKS_EXCLUDED(mutex_);

  // Replaces this model with the one saved at `path`. NotFound when the file cannot be read,
  // InvalidArgument when it is not an XGBoost model; the previous model is kept on error.
  absl::Status Load(const std::string& path) ABSL_LOCKS_EXCLUDED(mutex_);

  // Whether Predict can be called.
  bool trained() const ABSL_LOCKS_EXCLUDED(mutex_);
  // Feature count of the trained model; 0 when untrained.
  int num_features() const ABSL_LOCKS_EXCLUDED(mutex_);
  const XgbOptions& options() const { return options_; }

 private:
  explicit XgbModel(XgbOptions options) : options_(std::move(options)) {}

  using BoosterPtr = std::unique_ptr<void, internal::BoosterDeleter>;

  // Constant after construction.
  const XgbOptions options_;

  mutable absl::Mutex mutex_;
  BoosterPtr booster_ ABSL_GUARDED_BY(mutex_);  // null until trained
  int num_features_ ABSL_GUARDED_BY(mutex_) = 0;
};

// Kendall's tau-b between two score vectors of the same length: 1 when they order every pair
// alike, -1 when oppositely; a pair tied in both counts as neither. 0 when there are fewer
// than two rows or either vector is constant.
double KendallTau(const std::vector<float>& x, const std::vector<float>& y);

}  // namespace fleettune::cost_model

#endif  // FLEETTUNE_COST_MODEL_XGB_MODEL_H_
