// Search strategies over a template's knob space: each proposes configs not yet measured.
#ifndef FLEETTUNE_TUNER_SEARCH_H_
#define FLEETTUNE_TUNER_SEARCH_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "codegen/search_space.h"

namespace fleettune::db {
class Database;
}  // namespace fleettune::db

namespace fleettune::tuner {

struct TuneOptions;
class XgbSearch;

// A search strategy. Not thread-safe: the tuning loop drives it from one thread.
class Search {
 public:
  virtual ~Search() = default;

  // Up to `count` config indices never proposed before; fewer (possibly none) when the
  // space is exhausted.
  virtual std::vector<uint64_t> Propose(int count) = 0;

  // Marks `index` as already measured (e.g. from a resumed database) so it is not proposed.
  virtual void MarkVisited(uint64_t index) = 0;

  // Feeds back a measured throughput (0 for a failed config). Also marks `index` visited.
  virtual void Observe(uint64_t index, double gflops) = 0;

  // The wall seconds each later Propose may spend on its model (fitting it and planning with
  // it), until set again; 0 or negative: unbounded, the default. A search without a model
  // ignores it. A bounded Propose plans less (fewer configs featurised and scored) and costs
  // about `seconds`, more only by one indivisible step of its work or when the fit alone
  // takes longer; it still returns as many configs as unbounded. What it proposes then depends
  // on the machine's speed, not only on the seed and the sequence of calls. Callers size it
  // from what a round of measurements costs (tuner/planning_budget.h).
  virtual void set_planning_budget(double seconds) {}

  // Seconds spent fitting a cost model and planning proposals with it (0 for searches
  // without a model), summed over the search's life.
  virtual double model_seconds() const { return 0; }
  virtual double planning_seconds() const { return 0; }
};

// `random` (uniform without replacement), `grid` (index order), `ga` (genetic, see
// ga_search.h) or `xgb` (model-guided with knob features, see xgb_search.h; the tuning job
// builds its own with loop-nest features). InvalidArgument naming the tuner otherwise.
absl::StatusOr<std::unique_ptr<Search>> MakeSearch(const std::string& name,
                                                   const codegen::SearchSpace& space,
                                                   uint64_t seed);

// OK when MakeSearch knows the search `name`; its InvalidArgument naming the tuner otherwise.
// Lets a caller refuse a bad --tuner before it sets anything up.
absl::Status CheckSearchName(const std::string& name);

// The search a tuning job runs, and what making it cost.
struct JobSearch {
  std::unique_ptr<Search> search;
  XgbSearch* xgb = nullptr;  // `search` itself when options.tuner is xgb (to save its model)
  int transfer_rows = 0;     // other shapes' records the model trained on (options.transfer)
  double model_seconds = 0;  // loading and fitting those rows
};

// The search of options.tuner over `space`: MakeSearch's, except that xgb gets loop-nest
// features of options.workload on options.target, the model at options.load_model, and with
// options.transfer the records of other shapes in `database`. InvalidArgument naming the tuner,
// or "--load-model: ..." for a model that does not load; the database's error when it cannot
// be read.
absl::StatusOr<JobSearch> MakeJobSearch(const TuneOptions& options,
                                        const codegen::SearchSpace& space, db::Database& database);

}  // namespace fleettune::tuner

#endif  // FLEETTUNE_TUNER_SEARCH_H_
