#include "tuner/resume.h"

#include <algorithm>
#include <set>
#include <vector>

namespace fleettune::tuner {

void CountTimeout(const db::Record& record, TuneSummary& summary) {
  if (record.status != v1::TIMEOUT) return;
  ++summary.timeouts;
  if (!summary.first_timeout || record.trial < summary.first_timeout->trial) {
    summary.first_timeout = record;
  }
}

absl::Status ResumeFromDatabase(const TuneOptions& options, db::Database& database,
                                const codegen::SearchSpace& space, Search& search,
                                absl::flat_hash_set<uint64_t>& measured, TuneSummary& summary) {
  db::Query query;
  query.workload_key = options.workload.key();
  query.target_key = options.target.key();
  query.device_key = options.device_key;
  absl::StatusOr<std::vector<db::Record>> history = database.History(query);
  if (!history.ok()) return history.status();
  if (history->empty()) return absl::OkStatus();
  if (options.job_name.empty()) {
    const db::Record* latest = &history->front();
    for (const db::Record& record : *history) {
      if (record.id > latest->id) latest = &record;
    }
    summary.job = latest->job;
  }
  const uint64_t default_hash = codegen::ConfigHash(space.DefaultConfig());
  // Distinct trial numbers: a job written by two tuners at once (a name shared before job
  // names were unique) holds some trial numbers twice.
  std::set<int64_t> resumed_trials;
  for (const db::Record& record : *history) {
    if (record.job == summary.job) {
      summary.trials = std::max<int>(summary.trials, static_cast<int>(record.trial) + 1);
      resumed_trials.insert(record.trial);
      summary.resumed_trials = static_cast<int>(resumed_trials.size());
      if (record.status != v1::OK) ++summary.failures;
      CountTimeout(record, summary);
      if (record.status == v1::OK && (!summary.best || record.gflops > summary.best->gflops)) {
        summary.best = record;
      }
      if (record.status == v1::OK && record.config_hash == default_hash) {
        summary.default_gflops = record.gflops;
      }
    }
    ObserveRecord(record, space, search, measured);
  }
  return absl::OkStatus();
}

void ObserveRecord(const db::Record& record, const codegen::SearchSpace& space, Search& search,
                   absl::flat_hash_set<uint64_t>& measured) {
  // A lost board is not the config's fault: such configs may be measured again.
  if (record.status == v1::DEVICE_LOST) return;
  absl::StatusOr<uint64_t> index = space.IndexOf(record.config);
  if (!index.ok() || measured.contains(*index)) return;
  measured.insert(*index);
  search.Observe(*index, record.status == v1::OK ? record.gflops : 0.0);
}

absl::StatusOr<TaskTakeover> TakeOverTaskRecords(const db::Query& query, const std::string& job,
                                                 size_t task, db::Database& database,
                                                 const codegen::SearchSpace& space, Search& search,
                                                 absl::flat_hash_set<uint64_t>& measured,
                                                 ModelTaskState& state) {
  absl::StatusOr<std::vector<db::Record>> history = database.History(query);
  if (!history.ok()) return history.status();
  const uint64_t default_hash = codegen::ConfigHash(space.DefaultConfig());
  TaskTakeover takeover;
  for (const db::Record& record : *history) {
    const bool ok = record.status == v1::OK;
    if (record.job == job) {
      ++state.trials;
      if (!ok) ++state.failures;
      takeover.job_trials.push_back({record.trial, task, ok, record.mean_cost});
    } else {
      ++state.prior_records;
      if (ok && (!takeover.prior_best_seconds || record.mean_cost < *takeover.prior_best_seconds)) {
        takeover.prior_best_seconds = record.mean_cost;
      }
    }
    if (ok && (!state.best || record.gflops > state.best->gflops)) state.best = record;
    if (ok && record.config_hash == default_hash) state.default_gflops = record.gflops;
    ObserveRecord(record, space, search, measured);
  }
  return takeover;
}

std::vector<ReplayedRound> ReplayedRounds(std::vector<JobTrial> trials, int batch_size) {
  std::sort(trials.begin(), trials.end(),
            [](const JobTrial& a, const JobTrial& b) { return a.trial < b.trial; });
  std::vector<ReplayedRound> rounds;
  for (size_t begin = 0; begin < trials.size();) {
    ReplayedRound& round = rounds.emplace_back();
    round.task = trials[begin].task;
    size_t end = begin;
    while (end < trials.size() && trials[end].task == round.task &&
           static_cast<int>(end - begin) < batch_size) {
      const JobTrial& trial = trials[end];
      if (trial.ok && (!round.best_seconds || trial.seconds < *round.best_seconds)) {
        round.best_seconds = trial.seconds;
      }
      ++end;
    }
    round.trials = static_cast<int64_t>(end - begin);
    begin = end;
  }
  return rounds;
}

}  // namespace fleettune::tuner
