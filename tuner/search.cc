#include "tuner/search.h"

#include <random>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cost_model/features.h"
#include "db/database.h"
#include "tuner/ga_search.h"
#include "tuner/transfer.h"
#include "tuner/tuning_job.h"
#include "tuner/xgb_search.h"

namespace fleettune::tuner {
namespace {

// Shared bookkeeping: which indices were proposed or measured.
class VisitedSearch : public Search {
 public:
  explicit VisitedSearch(uint64_t size) : size_(size) {}
  void MarkVisited(uint64_t index) override { visited_.insert(index); }
  void Observe(uint64_t index, double) override { visited_.insert(index); }

 protected:
  bool Exhausted() const { return visited_.size() >= size_; }
  const uint64_t size_;
  absl::flat_hash_set<uint64_t> visited_;
};

class RandomSearch : public VisitedSearch {
 public:
  RandomSearch(uint64_t size, uint64_t seed) : VisitedSearch(size), rng_(seed) {}

  std::vector<uint64_t> Propose(int count) override {
    std::vector<uint64_t> picks;
    std::uniform_int_distribution<uint64_t> pick(0, size_ - 1);
    // Rejection sampling is fast while the space is mostly unvisited; near exhaustion fall
    // back to a scan so the search always terminates.
    int misses = 0;
    while (static_cast<int>(picks.size()) < count && !Exhausted()) {
      uint64_t index = pick(rng_);
      if (visited_.insert(index).second) {
        picks.push_back(index);
        misses = 0;
      } else if (++misses > 64) {
        for (uint64_t i = 0; i < size_ && static_cast<int>(picks.size()) < count; ++i) {
          if (visited_.insert(i).second) picks.push_back(i);
        }
        break;
      }
    }
    return picks;
  }

 private:
  std::mt19937_64 rng_;
};

class GridSearch : public VisitedSearch {
 public:
  explicit GridSearch(uint64_t size) : VisitedSearch(size) {}

  std::vector<uint64_t> Propose(int count) override {
    std::vector<uint64_t> picks;
    for (; next_ < size_ && static_cast<int>(picks.size()) < count; ++next_) {
      if (visited_.insert(next_).second) picks.push_back(next_);
    }
    return picks;
  }

 private:
  uint64_t next_ = 0;
};

}  // namespace

absl::Status CheckSearchName(const std::string& name) {
  if (name == "random" || name == "grid" || name == "ga" || name == "xgb") {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown tuner '", name, "' (available: xgb, ga, random, grid)"));
}

absl::StatusOr<std::unique_ptr<Search>> MakeSearch(const std::string& name,
                                                   const codegen::SearchSpace& space,
                                                   uint64_t seed) {
  if (absl::Status known = CheckSearchName(name); !known.ok()) return known;
  if (space.size() == 0) return absl::InvalidArgumentError("the search space is empty");
  if (name == "random") return std::make_unique<RandomSearch>(space.size(), seed);
  if (name == "grid") return std::make_unique<GridSearch>(space.size());
  if (name == "ga") {
    GaSearchOptions options;
    options.seed = seed;
    absl::StatusOr<std::unique_ptr<GaSearch>> search = GaSearch::Create(space, options);
    if (!search.ok()) return search.status();
    return std::unique_ptr<Search>(*std::move(search));
  }
  if (name == "xgb") {
    XgbSearchOptions options;
    options.seed = seed;
    absl::StatusOr<std::unique_ptr<XgbSearch>> search = XgbSearch::Create(space, options);
    if (!search.ok()) return search.status();
    return std::unique_ptr<Search>(*std::move(search));
  }
  return absl::InternalError(
      absl::StrCat("CheckSearchName accepted '", name, "' but MakeSearch does not build it"));
}

absl::StatusOr<JobSearch> MakeJobSearch(const TuneOptions& options,
                                        const codegen::SearchSpace& space, db::Database& database) {
  JobSearch made;
  if (options.tuner != "xgb") {
    absl::StatusOr<std::unique_ptr<Search>> search = MakeSearch(options.tuner, space, options.seed);
    if (!search.ok()) return search.status();
    made.search = *std::move(search);
    return made;
  }
  XgbSearchOptions xgb_options;
  xgb_options.seed = options.seed;
  xgb_options.objective = options.objective;
  const codegen::CheckedWorkload workload = options.workload;
  const codegen::CheckedTarget target = options.target;
  xgb_options.features = [workload, target](const v1::Config& config) {
    return cost_model::ConfigFeatures(workload, target, config);
  };
  absl::StatusOr<std::unique_ptr<XgbSearch>> search = XgbSearch::Create(space, xgb_options);
  if (!search.ok()) return search.status();
  if (!options.load_model.empty()) {
    if (absl::Status status = (*search)->LoadModel(options.load_model); !status.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--load-model: ", status.message()));
    }
  }
  if (options.transfer) {
    const absl::Time start = absl::Now();
    absl::StatusOr<TransferData> data = LoadTransferData(database, options.workload, options.target,
                                                         options.device_key, space.template_name());
    if (!data.ok()) return data.status();
    made.transfer_rows = (*search)->SetTransferData(*std::move(data));
    made.model_seconds = absl::ToDoubleSeconds(absl::Now() - start);
  }
  made.xgb = search->get();
  made.search = *std::move(search);
  return made;
}

}  // namespace fleettune::tuner
