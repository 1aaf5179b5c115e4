#include "tracker/job_history.h"

#include <algorithm>
#include <utility>

#include "util/median.h"

namespace fleettune::tracker {
namespace {

// A job with no batch in flight that has not reached its plan is between rounds while it was
// active this recently (the tuner builds its next round); after that it has stopped short.
constexpr int64_t kBetweenRoundsMs = 60000;

}  // namespace

JobHistory::Job& JobHistory::Entry(const std::string& name, int64_t now_unix_ms) {
  auto it = jobs_.find(name);
  if (it != jobs_.end()) return it->second;
  if (jobs_.size() >= capacity_ && !jobs_.empty()) {
    // A job without batches in flight goes before one with, then the one updated longest ago.
    const auto evicts_before = [](const Job& a, const Job& b) {
      if ((a.live_batches == 0) != (b.live_batches == 0)) return a.live_batches == 0;
      return a.summary.updated_unix_ms() < b.summary.updated_unix_ms();
    };
    auto victim = jobs_.begin();
    for (auto other = jobs_.begin(); other != jobs_.end(); ++other) {
      if (evicts_before(other->second, victim->second)) victim = other;
    }
    jobs_.erase(victim);
  }
  Job& job = jobs_[name];
  job.summary.set_name(name);
  job.summary.set_kind("tune");
  job.summary.set_started_unix_ms(now_unix_ms);
  return job;
}

uint32_t JobHistory::Intern(const std::string& text, std::vector<std::string>& texts,
                            std::map<std::string, uint32_t>& index) {
  auto [it, added] = index.emplace(text, static_cast<uint32_t>(texts.size()));
  if (added) texts.push_back(text);
  return it->second;
}

void JobHistory::Append(Job& job, const Trial& trial) {
  job.trials.push_back(trial);
  if (job.trials.size() > kMaxTrialsPerJob) {
    job.trials.pop_front();
    ++job.dropped;
  }
  v1::JobSummary& summary = job.summary;
  summary.set_trials(summary.trials() + 1);
  if (trial.status == v1::OK) {
    summary.set_ok(summary.ok() + 1);
    // By GFLOPS, which compares a model job's workloads; by time where FLOPs are unknown.
    const bool better =
        summary.best_seconds() == 0 || (trial.gflops > 0 ? trial.gflops > summary.best_gflops()
                                                         : trial.seconds < summary.best_seconds());
    if (trial.seconds > 0 && better) {
      summary.set_best_seconds(trial.seconds);
      summary.set_best_gflops(trial.gflops);
    }
  } else {
    ++(*summary.mutable_failures())[v1::MeasureStatus_Name(trial.status)];
  }
  summary.set_updated_unix_ms(std::max(summary.updated_unix_ms(), trial.unix_ms));
}

void JobHistory::Submitted(const std::string& name, const v1::MeasureBatch& batch,
                           int64_t now_unix_ms) {
  if (capacity_ == 0) return;
  Job& job = Entry(name, now_unix_ms);
  ++job.live_batches;
  v1::JobSummary& summary = job.summary;
  summary.set_device_key(batch.device_key());
  summary.set_updated_unix_ms(now_unix_ms);
  if (batch.job_total_trials() > 0 && !summary.has_progress()) {
    summary.set_total_trials(batch.job_total_trials());  // a model job's plan is its progress's
  }
  // A model job sends rounds several at once, each with the progress of when it was built:
  // one built earlier but queued later would take the summary back, so it is not kept.
  if (batch.has_progress() &&
      !(summary.has_progress() && batch.progress().trials() < summary.progress().trials())) {
    const v1::JobProgress& progress = batch.progress();
    summary.set_kind("model");
    summary.set_total_trials(progress.total_trials());
    *summary.mutable_progress() = progress;
    const bool changed = job.estimates.empty() ||
                         job.estimates.back().seconds != progress.estimated_seconds() ||
                         job.estimates.back().trials != progress.trials();
    if (progress.estimated_seconds() > 0 && changed) {
      job.estimates.push_back({now_unix_ms, progress.trials(), progress.estimated_seconds()});
      if (job.estimates.size() > kMaxEstimatesPerJob) job.estimates.erase(job.estimates.begin());
    }
  }
  if (batch.build_errors() > 0) {
    Trial trial;
    trial.unix_ms = now_unix_ms;
    trial.status = v1::BUILD_ERROR;
    if (batch.tasks_size() > 0) {
      trial.workload = Intern(batch.tasks(0).workload_key(), job.workloads, job.workload_index);
    }
    for (uint32_t i = 0; i < batch.build_errors(); ++i) Append(job, trial);
  }
}

void JobHistory::Delivered(const std::string& name, const v1::MeasureTask& task,
                           const v1::MeasureResult& result, int64_t now_unix_ms) {
  auto it = jobs_.find(name);
  if (it == jobs_.end() || result.status() == v1::REJECTED) return;
  Job& job = it->second;
  if (task.candidates_size() > 0) {
    job.summary.set_confirmation_tasks(job.summary.confirmation_tasks() + 1);
    job.summary.set_updated_unix_ms(now_unix_ms);
    return;
  }
  Trial trial;
  trial.unix_ms = now_unix_ms;
  trial.status = result.status();
  if (result.status() == v1::OK) {
    trial.seconds = util::RobustMean({result.costs().begin(), result.costs().end()});
    if (trial.seconds > 0 && task.flops() > 0) trial.gflops = task.flops() / trial.seconds / 1e9;
  }
  trial.board = Intern(result.board_id(), job.boards, job.board_index);
  trial.workload = Intern(task.workload_key(), job.workloads, job.workload_index);
  Append(job, trial);
}

void JobHistory::BatchEnded(const std::string& name, int64_t now_unix_ms) {
  auto it = jobs_.find(name);
  if (it == jobs_.end()) return;
  Job& job = it->second;
  if (job.live_batches > 0) --job.live_batches;
  job.summary.set_updated_unix_ms(std::max(job.summary.updated_unix_ms(), now_unix_ms));
}

void JobHistory::Expire(int64_t now_unix_ms) {
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    const Job& job = it->second;
    if (job.live_batches == 0 && now_unix_ms - job.summary.updated_unix_ms() > retention_ms_) {
      it = jobs_.erase(it);
    } else {
      ++it;
    }
  }
}

std::string JobHistory::StateOf(const Job& job, int64_t now_unix_ms) {
  if (job.live_batches > 0) return "running";
  const v1::JobSummary& summary = job.summary;
  const bool planned_done =
      summary.has_progress() ? summary.progress().total_trials() > 0 &&
                                   summary.progress().trials() >= summary.progress().total_trials()
                             : summary.total_trials() > 0 &&
                                   static_cast<int64_t>(summary.trials()) >= summary.total_trials();
  if (planned_done) return "finished";
  return now_unix_ms - summary.updated_unix_ms() < kBetweenRoundsMs ? "running" : "stopped";
}

v1::JobSummary JobHistory::SummaryOf(const Job& job, std::pair<uint64_t, uint64_t> queued,
                                     int64_t now_unix_ms) {
  v1::JobSummary summary = job.summary;
  summary.set_state(StateOf(job, now_unix_ms));
  summary.set_pending(queued.first);
  summary.set_running(queued.second);
  summary.set_dropped_trials(job.dropped);
  return summary;
}

std::vector<v1::JobSummary> JobHistory::Summaries(
    const std::map<std::string, std::pair<uint64_t, uint64_t>>& queued, int64_t now_unix_ms) const {
  std::vector<v1::JobSummary> summaries;
  summaries.reserve(jobs_.size());
  for (const auto& [name, job] : jobs_) {
    auto counts = queued.find(name);
    summaries.push_back(
        SummaryOf(job, counts == queued.end() ? std::pair<uint64_t, uint64_t>{} : counts->second,
                  now_unix_ms));
  }
  std::stable_sort(summaries.begin(), summaries.end(),
                   [](const v1::JobSummary& a, const v1::JobSummary& b) {
                     return a.updated_unix_ms() > b.updated_unix_ms();
                   });
  return summaries;
}

std::optional<JobHistory::Slice> JobHistory::SliceOf(const std::string& name, uint64_t since,
                                                     std::pair<uint64_t, uint64_t> queued,
                                                     int64_t now_unix_ms) const {
  auto it = jobs_.find(name);
  if (it == jobs_.end()) return std::nullopt;
  const Job& job = it->second;
  Slice slice;
  slice.summary = SummaryOf(job, queued, now_unix_ms);
  slice.next = job.dropped + job.trials.size();
  slice.first = std::clamp<uint64_t>(since, job.dropped, slice.next);
  slice.trials.assign(job.trials.begin() + static_cast<ptrdiff_t>(slice.first - job.dropped),
                      job.trials.end());
  slice.boards = job.boards;
  slice.workloads = job.workloads;
  slice.estimates = job.estimates;
  return slice;
}

}  // namespace fleettune::tracker
