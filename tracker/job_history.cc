#include "tracker/job_history.h"

#include <algorithm>
#include <utility>

#include "util/median.h"

namespace fleettune::tracker {
namespace {

// Which of two jobs goes first when the list is full: a finished one before a running one,
// then the one updated least recently.
bool EvictsBefore(const v1::JobSummary& a, const v1::JobSummary& b) {
  const bool a_finished = a.state() == "finished";
  const bool b_finished = b.state() == "finished";
  if (a_finished != b_finished) return a_finished;
  return a.updated_unix_ms() < b.updated_unix_ms();
}

}  // namespace

JobHistory::Job& JobHistory::Entry(const std::string& name, int64_t now_unix_ms) {
  auto it = jobs_.find(name);
  if (it != jobs_.end()) return it->second;
  if (jobs_.size() >= capacity_ && !jobs_.empty()) {
    auto victim = jobs_.begin();
    for (auto other = jobs_.begin(); other != jobs_.end(); ++other) {
      if (EvictsBefore(other->second.summary, victim->second.summary)) victim = other;
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
    if (trial.seconds > 0 &&
        (summary.best_seconds() == 0 || trial.seconds < summary.best_seconds())) {
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
  summary.set_state("running");
  summary.set_device_key(batch.device_key());
  summary.set_updated_unix_ms(now_unix_ms);
  if (batch.job_total_trials() > 0) summary.set_total_trials(batch.job_total_trials());
  if (batch.has_progress()) {
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
  if (job.live_batches == 0) job.summary.set_state("finished");
  job.summary.set_updated_unix_ms(std::max(job.summary.updated_unix_ms(), now_unix_ms));
}

void JobHistory::Expire(int64_t now_unix_ms) {
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    const v1::JobSummary& summary = it->second.summary;
    if (summary.state() == "finished" && now_unix_ms - summary.updated_unix_ms() > retention_ms_) {
      it = jobs_.erase(it);
    } else {
      ++it;
    }
  }
}

v1::JobSummary JobHistory::SummaryOf(const Job& job, std::pair<uint64_t, uint64_t> queued) {
  v1::JobSummary summary = job.summary;
  summary.set_pending(queued.first);
  summary.set_running(queued.second);
  summary.set_dropped_trials(job.dropped);
  return summary;
}

std::vector<v1::JobSummary> JobHistory::Summaries(
    const std::map<std::string, std::pair<uint64_t, uint64_t>>& queued) const {
  std::vector<v1::JobSummary> summaries;
  summaries.reserve(jobs_.size());
  for (const auto& [name, job] : jobs_) {
    auto counts = queued.find(name);
    summaries.push_back(
        SummaryOf(job, counts == queued.end() ? std::pair<uint64_t, uint64_t>{} : counts->second));
  }
  std::stable_sort(summaries.begin(), summaries.end(),
                   [](const v1::JobSummary& a, const v1::JobSummary& b) {
                     return a.updated_unix_ms() > b.updated_unix_ms();
                   });
  return summaries;
}

std::optional<JobHistory::Slice> JobHistory::SliceOf(const std::string& name, uint64_t since,
                                                     std::pair<uint64_t, uint64_t> queued) const {
  auto it = jobs_.find(name);
  if (it == jobs_.end()) return std::nullopt;
  const Job& job = it->second;
  Slice slice;
  slice.summary = SummaryOf(job, queued);
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
