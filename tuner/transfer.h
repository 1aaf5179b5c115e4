// Transfer for a cost model: what other shapes of the same op have taught the database.
//
// A new workload starts with no measurements, but the database often holds records of other
// shapes of the same op on the same target and device key. Three steps reuse them:
//  - LoadTransferData reads those records as feature rows, one group per shape.
//  - TransferSources keeps the rows a model of this space can train on, and orders the
//    sources' best measured configs that exist in this space for a warm start: the shapes'
//    optima are often near-optimal here even where a model fitted on them ranks this shape's
//    configs poorly (docs/decisions.md, #4).
//  - TransferSources::Weigh gives each source a weight by how well a model fitted on that
//    source alone ranks this workload's own measurements, so a shape that orders this one's
//    configs wrongly stops steering the model; OwnWeight blends the workload's own rows in.
// Within a model job, tasks of one template also learn from each other's results of the job
// (kin results, below), as more sources of the same kind.
// XgbSearch (tuner/xgb_search.h) trains with them; nothing here depends on how a search
// proposes configs.
#ifndef FLEETTUNE_TUNER_TRANSFER_H_
#define FLEETTUNE_TUNER_TRANSFER_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "codegen/checked_target.h"
#include "codegen/checked_workload.h"
#include "cost_model/xgb_model.h"
#include "db/database.h"
#include "fleettune/v1/fleettune.pb.h"

namespace fleettune::tuner {

// Measured configs of other workloads (same op, target), for transfer. Rows are grouped per
// workload: group_sizes[g] consecutive rows belong to workload g.
struct TransferData {
  std::vector<std::vector<float>> rows;
  std::vector<float> throughput;  // 0 for failed configs
  std::vector<unsigned> group_sizes;
  // The measured config of each row, for warm starts (TransferSources::seeds). Empty: no
  // warm start; otherwise parallel to rows (else ignored).
  std::vector<v1::Config> configs;
};

// One task's results of a model job with their loop-nest features, in recording order: what
// the other tasks of its template (its kin) train with. Parallel vectors.
struct KinResults {
  std::vector<std::vector<float>> rows;
  std::vector<float> gflops;  // 0 for failed configs
  std::vector<v1::Config> configs;
};

// The kin rows a task trains with, per kin task: its best half and its latest half. The best
// carry the seeds and the top of the ranking; the latest are where its search is looking now.
inline constexpr size_t kKinRowsPerTask = 48;

// Which of `gflops` (one kin task's results, in recording order) a task trains with: all of
// them up to kKinRowsPerTask, else the best half and then the latest, each once.
std::vector<size_t> KinRows(const std::vector<float>& gflops);

// Whether a task whose search trained with `used` kin results should retrain now that its kin
// have `available`: the first ones at once, later ones once grown by half and by at least two
// rounds of `batch_size`. Each retraining refits the per-source relevance models; refitting
// on every round cost 16% of a 2,000-trial ResNet-50 job's wall time (model 147 s of 912 s).
bool KinRefreshDue(size_t available, size_t used, int batch_size);

// `own` (the task's transfer data from the database) with each of `kin` that has results
// added as one more source group of its KinRows; their configs too when own's configs are
// parallel to its rows (they become warm-start seeds: XgbSearchOptions::transfer_seeds).
TransferData WithKinResults(TransferData own, const std::vector<const KinResults*>& kin);

// LoadTransferData reads at most this many records, the most recent first.
inline constexpr size_t kMaxTransferRows = 3000;

// The database's records of other shapes of `workload`'s op on `target` and `device_key`
// whose configs are of template `template_name`, one group per workload (in workload-key
// order), each row cost_model::ConfigFeatures of its own workload, throughput 0 for a failed
// record; DEVICE_LOST records (not the config's fault) are left out, and so are records whose
// workload key no longer parses (each key is parsed once, into a CheckedWorkload). The
// database's error when its query fails. Thread-safe as far as `database` is.
absl::StatusOr<TransferData> LoadTransferData(db::Database& database,
                                              const codegen::CheckedWorkload& workload,
                                              const codegen::CheckedTarget& target,
                                              const std::string& device_key,
                                              const std::string& template_name);

// The transfer sources one search trains with: the kept rows, the warm-start order and a
// weight per source. Thread-compatible (Weigh mutates; the rest are const).
class TransferSources {
 public:
  // The least weight a source gets (XGBoost needs positive weights).
  static constexpr float kMinWeight = 0.01f;

  // A config's index among the search's candidates, or nullopt when it is not one.
  using CandidateIndex = std::function<std::optional<uint64_t>(const v1::Config&)>;

  // No sources.
  TransferSources() = default;
  // Keeps the rows of `data` that have `feature_count` features (and a throughput), a
  // negative or non-finite throughput as 0, and the groups left non-empty. With configs
  // parallel to the rows, the warm-start order is every kept source's successfully measured
  // configs that `candidate_index` places, best first within each source, taken in turn from
  // each source (the most measured first; its best is the surest), each index once. Every
  // source weighs 1 until Weigh.
  TransferSources(TransferData data, size_t feature_count, const CandidateIndex& candidate_index);

  TransferSources(TransferSources&&) = default;
  TransferSources& operator=(TransferSources&&) = default;

  // The kept rows, throughputs and group sizes (configs are not kept).
  const TransferData& data() const { return data_; }
  bool empty() const { return data_.rows.empty(); }
  // Warm-start order of candidate indices (see the constructor).
  const std::vector<uint64_t>& seeds() const { return seeds_; }
  // Weight of each kept source, in group order.
  const std::vector<float>& weights() const { return weights_; }

  // Source relevance: once there are at least `min_rows` own feature rows and their
  // throughputs are not all equal, each source weighs max(Kendall tau, kMinWeight) of a model
  // fitted on that source alone (with `model_options`, the first time it is needed) against
  // `own_gflops`. A source whose model cannot be fitted or cannot predict keeps its weight.
  // Otherwise nothing changes.
  void Weigh(const cost_model::XgbOptions& model_options, int min_rows,
             const std::vector<std::vector<float>>& own_rows, const std::vector<float>& own_gflops);

  // The weight of each of `own_rows` (> 0) own rows so that they weigh `own_influence`
  // average sources (at weight 1) in total.
  float OwnWeight(size_t own_rows, double own_influence) const;

 private:
  TransferData data_;
  std::vector<size_t> group_begin_;                            // first row of each group
  std::vector<std::unique_ptr<cost_model::XgbModel>> models_;  // per group, lazily
  std::vector<float> weights_;
  std::vector<uint64_t> seeds_;
};

}  // namespace fleettune::tuner

#endif  // FLEETTUNE_TUNER_TRANSFER_H_
