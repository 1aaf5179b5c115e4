// What a model job left in the database, read back: the job of a model to continue or show,
// and its trials with the estimated network latency after each (`fleettune history --model`,
// `tune --model --resume`). The job itself is tuner/model_job.h.
#ifndef FLEETTUNE_TUNER_MODEL_HISTORY_H_
#define FLEETTUNE_TUNER_MODEL_HISTORY_H_

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "db/database.h"
#include "tuner/task_scheduler.h"

namespace fleettune::tuner {

// The job to continue for `model`: the one, among records of `workloads` (on target and device
// when set), whose name starts with "<model>@" and that has the most recent record. NotFound
// when there is none; the database's error when it cannot be read.
absl::StatusOr<std::string> LatestModelJob(db::Database& database, const std::string& model,
                                           const std::vector<std::string>& workloads,
                                           const std::optional<std::string>& target_key,
                                           const std::optional<std::string>& device_key);

// One record of a model job with the estimated network latency after it.
struct ModelTrial {
  db::Record record;
  size_t task = 0;  // index into the tasks given to ModelJobHistory
  // Sum over the tasks of count x best seconds after this record; nullopt while a task has no
  // valid result.
  std::optional<double> estimated_seconds;
};

// The records of model job `job` whose workloads are among `tasks`, in trial order, each with
// the estimated latency after it. The tasks start from their best records on the job's target
// and device key from before the job's first record (other jobs'), as the job did. An empty
// list when the job has no record of these workloads; the database's error when it cannot be
// read.
absl::StatusOr<std::vector<ModelTrial>> ModelJobHistory(db::Database& database,
                                                        const std::string& job,
                                                        const std::vector<ScheduledTask>& tasks);

}  // namespace fleettune::tuner

#endif  // FLEETTUNE_TUNER_MODEL_HISTORY_H_
