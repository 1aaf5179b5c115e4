// What a tuning job takes over from the database's records before it measures: a single
// workload's job (--resume) and each task of a model job, which always takes over its
// workloads' records and continues its own when resumed.
#ifndef FLEETTUNE_TUNER_RESUME_H_
#define FLEETTUNE_TUNER_RESUME_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "codegen/search_space.h"
#include "db/database.h"
#include "tuner/model_job.h"
#include "tuner/search.h"
#include "tuner/tuning_job.h"

namespace fleettune::tuner {

// Feeds every record of (options.workload, options.target, options.device_key) in `database`
// to `search` and adds its config's index to `measured`, so it is never measured again;
// DEVICE_LOST records are skipped (a lost board is not the config's fault). When
// options.job_name is empty, `summary.job` becomes the latest record's job. That job's
// records count into `summary`: trials (trial numbers continue after the highest), failures,
// timeouts, best, default_gflops and resumed_trials. Nothing changes without a record. The
// database's error when it cannot be read, with `summary`, `search` and `measured` unchanged.
absl::Status ResumeFromDatabase(const TuneOptions& options, db::Database& database,
                                const codegen::SearchSpace& space, Search& search,
                                absl::flat_hash_set<uint64_t>& measured, TuneSummary& summary);

// Makes `record`'s config known to `search` (its GFLOPS; 0 unless OK) and adds its index to
// `measured`, so that it is never measured again. DEVICE_LOST records are skipped (a lost board
// is not the config's fault), and so are configs already in `measured` or not of `space`.
void ObserveRecord(const db::Record& record, const codegen::SearchSpace& space, Search& search,
                   absl::flat_hash_set<uint64_t>& measured);

// One of a model job's own records, as its task scheduler replays them.
struct JobTrial {
  int64_t trial = 0;
  size_t task = 0;
  bool ok = false;
  double seconds = 0;  // the record's mean cost
};

// What task `task` of model job `job` takes over from `database`'s records of `query` (its
// workload, target and device key): every record goes through ObserveRecord; the job's own
// count into state.trials and failures, the others into state.prior_records; state.best
// and default_gflops follow every OK record. Returns the job's own records and the other
// jobs' fastest OK cost (the task's starting best). The database's error when it cannot be
// read, with nothing changed.
struct TaskTakeover {
  std::vector<JobTrial> job_trials;
  std::optional<double> prior_best_seconds;
};
absl::StatusOr<TaskTakeover> TakeOverTaskRecords(const db::Query& query, const std::string& job,
                                                 size_t task, db::Database& database,
                                                 const codegen::SearchSpace& space, Search& search,
                                                 absl::flat_hash_set<uint64_t>& measured,
                                                 ModelTaskState& state);

// A resumed model job's rounds, rebuilt from its records for the task scheduler to replay: in
// trial order, a run of one task's records (at most `batch_size`) is one round, with its
// fastest OK cost.
struct ReplayedRound {
  size_t task = 0;
  int64_t trials = 0;
  std::optional<double> best_seconds;
};
std::vector<ReplayedRound> ReplayedRounds(std::vector<JobTrial> trials, int batch_size);

// Counts `record` into summary.timeouts and first_timeout when it ended TIMEOUT; shared by
// resume and the job recording new trials.
void CountTimeout(const db::Record& record, TuneSummary& summary);

}  // namespace fleettune::tuner

#endif  // FLEETTUNE_TUNER_RESUME_H_
