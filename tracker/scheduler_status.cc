// What the scheduler reports: its boards, queues and jobs as a StatusReply (the data behind
// `fleettune status`, its --json and the Prometheus metrics), the bookkeeping of model jobs
// between their batches, and how its log lines name jobs and leases. Part of class Scheduler
// (tracker/scheduler.h); the scheduling itself is in scheduler.cc.
#include <map>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tracker/scheduler.h"

namespace fleettune::tracker {
namespace {

// Milliseconds as seconds for a message: "10", "1.5".
std::string Seconds(int64_t ms) { return absl::StrFormat("%g", static_cast<double>(ms) / 1000); }

}  // namespace

v1::StatusReply Scheduler::GetStatus() const {
  absl::MutexLock lock(&mu_);
  v1::StatusReply reply;
  reply.set_version(FLEETTUNE_VERSION_STRING);
  std::map<std::string, v1::QueueStatus> queues;
  for (const auto& [board_id, board] : boards_) {
    *reply.add_boards() = DescribeBoard(board_id, board);
    v1::QueueStatus& queue = queues[board.info.key()];
    queue.set_boards(queue.boards() + 1);
    if (board.quarantined) {
      // counted as a board of the key, neither idle nor running
    } else if (board.current_task == 0) {
      queue.set_idle_boards(queue.idle_boards() + 1);
    } else {
      queue.set_running(queue.running() + 1);
    }
  }
  for (const auto& [key, pending] : queues_) {
    if (!pending.empty()) queues[key].set_pending(pending.size());
  }
  for (auto& [key, queue] : queues) {
    queue.set_device_key(key);
    *reply.add_queues() = std::move(queue);
  }
  for (const auto& [job_id, job] : jobs_) {
    if (job.sink == nullptr) continue;  // cancelled, draining
    v1::JobStatus* status = reply.add_jobs();
    status->set_job_id(job_id);
    status->set_name(job.name);
    status->set_device_key(job.key);
    status->set_priority(job.priority);
    status->set_tasks(job.total);
    status->set_finished(job.finished);
    status->set_running(job.running);
    if (job.has_progress) *status->mutable_progress() = job.progress;
  }
  lost_boards_.AppendTo(&reply);
  model_jobs_.AppendTo(&reply);
  for (v1::JobSummary& summary :
       job_history_.Summaries(QueuedByJobNameLocked(), absl::ToUnixMillis(absl::Now()))) {
    *reply.add_job_summaries() = std::move(summary);
  }
  return reply;
}

std::optional<JobHistory::Slice> Scheduler::GetJobHistory(const std::string& name,
                                                          uint64_t since) const {
  absl::MutexLock lock(&mu_);
  const std::map<std::string, std::pair<uint64_t, uint64_t>> queued = QueuedByJobNameLocked();
  auto counts = queued.find(name);
  return job_history_.SliceOf(
      name, since, counts == queued.end() ? std::pair<uint64_t, uint64_t>{} : counts->second,
      absl::ToUnixMillis(absl::Now()));
}

std::map<std::string, std::pair<uint64_t, uint64_t>> Scheduler::QueuedByJobNameLocked() const {
  std::map<std::string, std::pair<uint64_t, uint64_t>> queued;
  for (const auto& [job_id, job] : jobs_) {
    if (job.sink == nullptr) continue;  // cancelled, draining
    auto& [pending, running] = queued[job.history_name];
    pending += job.total - job.finished - job.running;
    running += job.running;
  }
  return queued;
}

v1::BoardStatus Scheduler::DescribeBoard(const std::string& board_id, const BoardState& board) {
  v1::BoardStatus status;
  status.set_board_id(board_id);
  *status.mutable_info() = board.info;
  status.set_state(board.quarantined ? "quarantined" : board.current_task == 0 ? "idle" : "busy");
  status.set_current_task(board.current_task);
  status.set_tasks_done(board.tasks_done);
  status.set_tasks_failed(board.tasks_failed);
  status.set_strikes(board.strikes);
  status.set_connected_unix_ms(board.connected_unix_ms);
  status.set_last_seen_unix_ms(board.last_seen_unix_ms);
  status.set_noise_cv(board.noise.MedianCv());
  status.set_noise_samples(static_cast<uint32_t>(board.noise.samples()));
  return status;
}

void Scheduler::JobEndedLocked(uint64_t job_id, const Job& job) {
  if (!job.has_progress) return;
  for (const auto& [other_id, other] : jobs_) {
    if (other_id != job_id && other.sink != nullptr && other.has_progress &&
        other.name == job.name) {
      return;  // the name still has a batch running or queued
    }
  }
  model_jobs_.Idle(job.name, absl::ToUnixMillis(absl::Now()));
}

std::string Scheduler::DescribeJob(uint64_t job_id, const Job& job) {
  return absl::StrCat("job ", job_id, " (", job.name.empty() ? "unnamed" : job.name, ", key ",
                      job.key, ")");
}

std::string Scheduler::DescribeLease(const TaskState& state) const {
  return absl::StrCat(
      Seconds(TaskTimeoutMs(state)), " s timeout + ",
      state.lease_has_reference_run
          ? absl::StrCat(Seconds(options_.reference_allowance_ms), " s for the reference run + ")
          : "",
      Seconds(options_.lease_grace_ms), " s grace");
}

}  // namespace fleettune::tracker
