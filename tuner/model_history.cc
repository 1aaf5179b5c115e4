#include "tuner/model_history.h"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace fleettune::tuner {

absl::StatusOr<std::string> LatestModelJob(db::Database& database, const std::string& model,
                                           const std::vector<std::string>& workloads,
                                           const std::optional<std::string>& target_key,
                                           const std::optional<std::string>& device_key) {
  const std::string prefix = absl::StrCat(model, "@");
  std::string latest;
  int64_t latest_id = -1;
  for (const std::string& workload : workloads) {
    db::Query query;
    query.workload_key = workload;
    query.target_key = target_key;
    query.device_key = device_key;
    absl::Status status = database.ForEach(query, [&](const db::Record& record) {
      if (absl::StartsWith(record.job, prefix) && record.id > latest_id) {
        latest_id = record.id;
        latest = record.job;
      }
      return absl::OkStatus();
    });
    if (!status.ok()) return status;
  }
  if (latest_id < 0) {
    return absl::NotFoundError(
        absl::StrCat("no job of model '", model, "' (a job named ", prefix, "...) has records"));
  }
  return latest;
}

absl::StatusOr<std::vector<ModelTrial>> ModelJobHistory(db::Database& database,
                                                        const std::string& job,
                                                        const std::vector<ScheduledTask>& tasks) {
  std::vector<ModelTrial> trials;
  for (size_t i = 0; i < tasks.size(); ++i) {
    db::Query query;
    query.workload_key = tasks[i].workload;
    query.job = job;
    absl::StatusOr<std::vector<db::Record>> records = database.History(query);
    if (!records.ok()) return records.status();
    for (db::Record& record : *records) trials.push_back(ModelTrial{std::move(record), i, {}});
  }
  if (trials.empty()) return trials;
  std::sort(trials.begin(), trials.end(), [](const ModelTrial& a, const ModelTrial& b) {
    return a.record.trial != b.record.trial ? a.record.trial < b.record.trial
                                            : a.record.id < b.record.id;
  });
  int64_t first_id = trials.front().record.id;
  for (const ModelTrial& trial : trials) first_id = std::min(first_id, trial.record.id);
  // Each task's best seconds, from the records before the job on its target and device key.
  std::vector<std::optional<double>> best(tasks.size());
  for (size_t i = 0; i < tasks.size(); ++i) {
    db::Query query;
    query.workload_key = tasks[i].workload;
    query.target_key = trials.front().record.target_key;
    query.device_key = trials.front().record.device_key;
    absl::Status status = database.ForEach(query, [&](const db::Record& record) {
      if (record.id < first_id && record.job != job && record.status == v1::OK &&
          (!best[i] || record.mean_cost < *best[i])) {
        best[i] = record.mean_cost;
      }
      return absl::OkStatus();
    });
    if (!status.ok()) return status;
  }
  for (ModelTrial& trial : trials) {
    std::optional<double>& task_best = best[trial.task];
    if (trial.record.status == v1::OK && (!task_best || trial.record.mean_cost < *task_best)) {
      task_best = trial.record.mean_cost;
    }
    double total = 0;
    bool complete = true;
    for (size_t i = 0; i < tasks.size(); ++i) {
      if (!best[i]) complete = false;
      if (best[i]) total += static_cast<double>(tasks[i].count) * *best[i];
    }
    if (complete) trial.estimated_seconds = total;
  }
  return trials;
}

}  // namespace fleettune::tuner
