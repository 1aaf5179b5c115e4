// A model job (`fleettune tune --model`, issue #21): one trial budget spread over a network's
// tasks (its distinct tunable workloads) by a task scheduler, with rounds of different tasks
// measured at once on the boards of a key, and every result in the database.
//
// Each task keeps its own search (tuner/search.h) over its template's space. A round is one
// task's batch of configs: the scheduler (tuner/task_scheduler.h) picks the task, its search
// proposes, builder threads build, and the boards measure; `rounds_in_flight` rounds run at
// once. Records carry the job's name and job-wide trial numbers (in the order they were
// recorded), so `fleettune history --model` can replay the estimated network latency.
//
// Shared learning: an xgb task trains with the records of other shapes of the same template
// that the database held when the job started (tuner/transfer.h) and, as the job goes on,
// with the results its kin tasks (same template) measure in this job.
//
// Starting point: a model job takes over every record of its tasks' workloads on the target
// and device key (single-op jobs, other models, an earlier run of this one): those configs are
// never measured again, the searches train on them, and the scheduler starts from their best.
// --resume also continues the latest job of this model (or `job_name`): its name, its trial
// numbers and the trials it already spent of the budget, with the scheduler's rounds rebuilt
// from its records.
#ifndef FLEETTUNE_TUNER_MODEL_JOB_H_
#define FLEETTUNE_TUNER_MODEL_JOB_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "codegen/checked_workload.h"
#include "db/database.h"
#include "tuner/confirm.h"
#include "tuner/task_scheduler.h"
#include "tuner/tuning_job.h"

namespace fleettune::tuner {

// One distinct tunable workload of the model and how often the network runs it.
struct ModelTask {
  codegen::CheckedWorkload workload;
  int64_t count = 1;
};

struct ModelTuneOptions {
  ModelTuneOptions(std::string model, std::vector<ModelTask> tasks, TuneOptions common)
      : model(std::move(model)), tasks(std::move(tasks)), common(std::move(common)) {}

  std::string model;  // the model's name: the job's name starts with it and status shows it
  std::vector<ModelTask> tasks;
  // What the tasks share: target, fleet, search, measurement. `common.trials` is the whole
  // job's budget; `common.early_stop` applies per task (the scheduler's); `common.job_name`
  // and `common.resume` are the model job's. `common.workload` is not used.
  TuneOptions common;
  // Policy and its parameters; early_stop and seed are taken from `common`.
  TaskSchedulerOptions scheduler;
  // Rounds measured at once: the boards of the key (one more overlaps builds with
  // measurement when the boards are remote). At least 1.
  int rounds_in_flight = 1;
};

// One task's standing in a model job.
struct ModelTaskState {
  std::string workload;
  std::string template_name;
  int64_t count = 1;
  double flops = 0;                // one run's
  int64_t trials = 0;              // recorded by this job (resumed ones included)
  int failures = 0;                // of those
  int64_t prior_records = 0;       // records of the workload from before this job
  std::optional<db::Record> best;  // fastest OK record of the workload, this job's or earlier
  double default_gflops = 0;       // the template default's, when measured (0: not)
  double share = 0;                // of the estimated latency
  bool stopped = false;            // early stop or an exhausted space
  // The task's confirmation round (tuner/confirm.h) at the end of the job: its fastest configs
  // re-measured beside the template default. `confirmed`: the fastest of them as re-measured
  // (its speedup over the default of the same rounds inside); confirmation_failure: why the
  // round did not run (then the figures above stay unconfirmed).
  std::optional<ConfirmedCandidate> confirmed;
  std::string confirmation_failure;
};

// Where a model job stands: after every round while it runs, and at its end.
struct ModelTuneSummary {
  std::string job;
  std::string model;
  int trials = 0;  // recorded by this job (resumed ones included)
  int total_trials = 0;
  int failures = 0;
  int resumed_trials = 0;
  std::vector<ModelTaskState> tasks;  // in ModelTuneOptions::tasks order
  // Sum over the tasks of count x best seconds; nullopt while a task has no valid result.
  std::optional<double> estimated_seconds;
  // The estimate when every task first had a result in this run (or at the start, from the
  // database's records); nullopt until then.
  std::optional<double> first_estimated_seconds;
  std::optional<size_t> last_task;  // the task whose round was recorded last
  double build_seconds = 0;         // summed over builder threads
  double measure_seconds = 0;       // summed over rounds (rounds overlap)
  double model_seconds = 0;         // fitting cost models and loading transfer rows
  double search_seconds = 0;        // planning with them
  double scheduler_seconds = 0;     // choosing tasks and refreshing shared learning
  bool all_stopped = false;         // every task stopped before the budget was spent
  double wall_seconds = 0;          // the confirmation rounds included
  // Sum over the tasks of count x confirmed median seconds, once every task is confirmed.
  std::optional<double> confirmed_estimated_seconds;
  double confirm_seconds = 0;  // wall time of the confirmation rounds
  std::string noise;           // the boards' noise as the job saw it (BoardNoise::Describe)
};

// Checks what needs neither a tracker nor a database: at least one task, positive counts,
// rounds_in_flight >= 1, and ValidateTuneOptions for every task. InvalidArgument naming the
// problem (and the task's workload).
absl::Status ValidateModelTuneOptions(const ModelTuneOptions& options);

// Runs the model job against the tracker at options.common.tracker_address, calling
// `progress` (may be empty) on this thread after every recorded round. Errors as
// RunTuningJob's; results already recorded stay recorded.
absl::StatusOr<ModelTuneSummary> RunModelJob(
    const ModelTuneOptions& options, db::Database& database,
    const std::function<void(const ModelTuneSummary&)>& progress);

}  // namespace fleettune::tuner

#endif  // FLEETTUNE_TUNER_MODEL_JOB_H_
