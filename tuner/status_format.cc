#include "tuner/status_format.h"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace fleettune::tuner {
namespace {

// Renders rows as left-aligned columns separated by two spaces.
std::string FormatTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    absl::StrAppend(&out, line, "\n");
  }
  return out;
}

// A board's NOISE column: its median coefficient of variation of repeats as a percentage
// ("2.1%"), "-" before it has a sample.
std::string Noise(const v1::BoardStatus& board) {
  if (board.noise_samples() == 0) return "-";
  return absl::StrFormat("%.1f%%", board.noise_cv() * 100);
}

// A model job as `status` shows it: one per job name, however many batches it has.
struct ModelJob {
  std::string device_key;
  const v1::JobProgress* progress = nullptr;  // the latest the tracker has
  uint64_t latest_job_id = 0;                 // the batch submitted last, of those listed
  int batches = 0;                            // unfinished batches
  uint64_t tasks = 0;                         // summed over the batches
  uint64_t finished = 0;
  uint64_t running = 0;
  int64_t idle_since_unix_ms = 0;  // when its last batch finished; 0: has one, or unknown
};

// The model jobs of `status` by name: its batches with progress, merged with the tracker's
// per-name memory (whose progress is the latest submitted, hence preferred).
std::map<std::string, ModelJob> GroupModelJobs(const v1::StatusReply& status) {
  std::map<std::string, ModelJob> jobs;
  for (const v1::JobStatus& batch : status.jobs()) {
    if (!batch.has_progress()) continue;
    ModelJob& job = jobs[batch.name()];
    ++job.batches;
    job.tasks += batch.tasks();
    job.finished += batch.finished();
    job.running += batch.running();
    if (job.progress == nullptr || batch.job_id() > job.latest_job_id) {
      job.latest_job_id = batch.job_id();
      job.progress = &batch.progress();
      job.device_key = batch.device_key();
    }
  }
  for (const v1::ModelJobStatus& remembered : status.model_jobs()) {
    ModelJob& job = jobs[remembered.name()];
    job.progress = &remembered.progress();
    job.device_key = remembered.device_key();
    if (job.batches == 0) job.idle_since_unix_ms = remembered.idle_since_unix_ms();
  }
  return jobs;
}

// Each line of `text` indented by two spaces.
std::string Indent(const std::string& text) {
  std::string out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    absl::StrAppend(&out, "  ", line, "\n");
  }
  return out;
}

// One model job: its name, model and key; trials and the estimated network latency; its
// batches; and a row per task.
std::string FormatModelJob(const std::string& name, const ModelJob& job, int64_t now_ms) {
  const v1::JobProgress& progress = *job.progress;
  std::string out = absl::StrCat("model job ", name.empty() ? "-" : name, ": ",
                                 progress.model().empty() ? "?" : progress.model(), " on key ",
                                 job.device_key, "\n");
  absl::StrAppend(
      &out, "  ", progress.trials(), "/", progress.total_trials(), " trials, ",
      progress.estimated_seconds() > 0
          ? absl::StrFormat("estimated latency %.3f ms", progress.estimated_seconds() * 1e3)
          : std::string("estimated latency unknown until every task has a result"),
      "\n");
  if (job.batches > 0) {
    absl::StrAppend(&out, "  ", job.batches,
                    job.batches == 1 ? " batch: " : " batches: ", job.finished, "/", job.tasks,
                    " tasks done, ", job.running, " running\n");
  } else if (job.idle_since_unix_ms > 0) {
    const int64_t ago_s = std::max<int64_t>(0, now_ms - job.idle_since_unix_ms) / 1000;
    absl::StrAppend(&out, "  no batch: the last one finished ", ago_s, "s ago\n");
  } else {
    absl::StrAppend(&out, "  no batch listed\n");
  }
  std::vector<std::vector<std::string>> rows = {
      {"WORKLOAD", "COUNT", "TRIALS", "BEST GFLOPS", "SHARE", "STOPPED"}};
  for (const v1::TaskProgress& task : progress.tasks()) {
    rows.push_back(
        {task.workload(), absl::StrCat(task.count()), absl::StrCat(task.trials()),
         task.best_seconds() > 0 ? absl::StrFormat("%.2f", task.best_gflops()) : "-",
         progress.estimated_seconds() > 0 ? absl::StrFormat("%.1f%%", task.share() * 100) : "-",
         task.stopped() ? "yes" : "no"});
  }
  absl::StrAppend(&out, Indent(FormatTable(rows)));
  return out;
}

}  // namespace

std::string FormatStatus(const v1::StatusReply& status, int64_t now_ms) {
  std::string out = absl::StrCat("tracker version ",
                                 status.version().empty() ? "unknown" : status.version(), "\n\n");
  if (status.boards().empty()) {
    absl::StrAppend(&out, "no boards connected\n");
  } else {
    std::vector<std::vector<std::string>> rows = {{"BOARD", "KEY", "STATE", "TASK", "DONE",
                                                   "FAILED", "STRIKES", "NOISE", "HOST", "TRIPLE",
                                                   "CORES", "UP"}};
    for (const v1::BoardStatus& board : status.boards()) {
      const int64_t up_s = std::max<int64_t>(0, now_ms - board.connected_unix_ms()) / 1000;
      rows.push_back({board.board_id(), board.info().key(), board.state(),
                      board.current_task() == 0 ? "-" : absl::StrCat(board.current_task()),
                      absl::StrCat(board.tasks_done()), absl::StrCat(board.tasks_failed()),
                      absl::StrCat(board.strikes()), Noise(board), board.info().hostname(),
                      board.info().triple(), absl::StrCat(board.info().num_cores()),
                      absl::StrCat(up_s, "s")});
    }
    absl::StrAppend(&out, FormatTable(rows));
  }
  if (!status.lost_boards().empty()) {
    // Dropped boards stay listed for a while, so one that vanished says why.
    std::vector<std::vector<std::string>> rows = {
        {"LOST BOARD", "KEY", "STATE", "HOST", "LOST", "REASON", "ITS TASK"}};
    for (const v1::BoardStatus& board : status.lost_boards()) {
      const int64_t ago_s = std::max<int64_t>(0, now_ms - board.lost_unix_ms()) / 1000;
      rows.push_back({board.board_id(), board.info().key(), board.state(), board.info().hostname(),
                      absl::StrCat(ago_s, "s ago"), board.lost_reason(),
                      board.lost_task() == 0
                          ? "-"
                          : absl::StrCat(board.lost_task(), " ", board.lost_task_outcome())});
    }
    absl::StrAppend(&out, "\n", FormatTable(rows));
  }
  absl::StrAppend(&out, "\n");
  if (status.queues().empty()) {
    absl::StrAppend(&out, "no queues\n");
  } else {
    std::vector<std::vector<std::string>> rows = {{"KEY", "BOARDS", "IDLE", "PENDING", "RUNNING"}};
    for (const v1::QueueStatus& queue : status.queues()) {
      rows.push_back({queue.device_key(), absl::StrCat(queue.boards()),
                      absl::StrCat(queue.idle_boards()), absl::StrCat(queue.pending()),
                      absl::StrCat(queue.running())});
    }
    absl::StrAppend(&out, FormatTable(rows));
  }
  absl::StrAppend(&out, "\n");
  const std::map<std::string, ModelJob> model_jobs = GroupModelJobs(status);
  std::vector<const v1::JobStatus*> plain_jobs;
  for (const v1::JobStatus& job : status.jobs()) {
    if (!job.has_progress()) plain_jobs.push_back(&job);
  }
  if (plain_jobs.empty() && model_jobs.empty()) {
    absl::StrAppend(&out, "no jobs\n");
  }
  if (!plain_jobs.empty()) {
    std::vector<std::vector<std::string>> rows = {
        {"JOB", "NAME", "KEY", "PRIORITY", "DONE", "RUNNING", "TASKS"}};
    for (const v1::JobStatus* job_pointer : plain_jobs) {
      const v1::JobStatus& job = *job_pointer;
      rows.push_back({absl::StrCat(job.job_id()), job.name().empty() ? "-" : job.name(),
                      job.device_key(), absl::StrCat(job.priority()), absl::StrCat(job.finished()),
                      absl::StrCat(job.running()), absl::StrCat(job.tasks())});
    }
    absl::StrAppend(&out, FormatTable(rows));
  }
  std::string separator = plain_jobs.empty() ? "" : "\n";
  for (const auto& [name, job] : model_jobs) {
    absl::StrAppend(&out, separator, FormatModelJob(name, job, now_ms));
    separator = "\n";
  }
  return out;
}

std::string FormatStatus(const v1::StatusReply& status) {
  return FormatStatus(status, absl::ToUnixMillis(absl::Now()));
}

}  // namespace fleettune::tuner
