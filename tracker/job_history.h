// The tracker's memory of jobs for its web page (docs/web.md): per job name, every trial the
// tracker delivered (its time, status, robust mean cost, GFLOPS, board and workload), the
// build errors the tuner reported with its batches, and a model job's estimated latency each
// time it changed.
//
// A `fleettune tune` job sends many batches under one job name, so a job here is a name, not
// a batch. Trials are numbered in the order the tracker delivered them, a batch's build
// errors first (the database numbers a round's trials by config, so within a round the
// orders may differ; the trials are the same).
//
// The tracker hears of no job's end, so a job's state follows from what it sees: "running"
// while a batch is in flight, or within a minute of its last activity (between rounds);
// "finished" once it has its plan's trials (JobSummary.total_trials, or a model job's
// progress); otherwise, a minute after its last activity, "stopped" (it ended short: early
// stop, an error, or its tuner was killed).
//
// Bounded three ways: a job keeps its last kMaxTrialsPerJob trials, the list keeps
// `capacity` names (one without batches in flight, least recently updated, goes first), and
// a name without batches in flight is forgotten `retention_ms` after its last update.
#ifndef FLEETTUNE_TRACKER_JOB_HISTORY_H_
#define FLEETTUNE_TRACKER_JOB_HISTORY_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "fleettune/v1/fleettune.pb.h"

namespace fleettune::tracker {

// Not thread-safe: the Scheduler guards it with its own mutex.
class JobHistory {
 public:
  static constexpr size_t kMaxTrialsPerJob = 100000;
  static constexpr size_t kMaxEstimatesPerJob = 10000;

  // One trial as the history keeps it.
  struct Trial {
    int64_t unix_ms = 0;
    v1::MeasureStatus status = v1::MEASURE_STATUS_UNSPECIFIED;
    double seconds = 0;     // the robust mean per-run cost (util::RobustMean); 0 unless OK
    double gflops = 0;      // 0 unless OK with the task's FLOPs known
    uint32_t board = 0;     // index into Slice::boards (0: "" for a build error)
    uint32_t workload = 0;  // index into Slice::workloads
  };
  // A model job's estimated network latency at one moment.
  struct Estimate {
    int64_t unix_ms = 0;
    int64_t trials = 0;
    double seconds = 0;
  };
  // What SliceOf() answers: the trials from `first` on, and everything needed to read them.
  struct Slice {
    v1::JobSummary summary;
    uint64_t first = 0;  // the number of trials[0]
    uint64_t next = 0;   // one past the last trial: the `since` of the next poll
    std::vector<Trial> trials;
    std::vector<std::string> boards;     // the job's board ids; [0] is ""
    std::vector<std::string> workloads;  // the job's workload strings
    std::vector<Estimate> estimates;     // whole
  };

  JobHistory(int64_t retention_ms, size_t capacity)
      : retention_ms_(retention_ms), capacity_(capacity) {}

  // A batch of job `name` was queued at `now_unix_ms`: the name is running until as many
  // BatchEnded calls as Submitted calls; the batch's build errors become trials; a batch
  // with progress makes the job a model job, and its progress becomes the job's (and may add
  // an estimate) unless it has fewer trials than the progress held: a round built earlier.
  void Submitted(const std::string& name, const v1::MeasureBatch& batch, int64_t now_unix_ms);

  // `result` of `task` of job `name` was delivered to its submitter at `now_unix_ms`: a
  // single-config task's result is the next trial (REJECTED ones are not trials: the tuner
  // does not record them); a multi-config task counts as a confirmation task. Unknown names
  // are ignored.
  void Delivered(const std::string& name, const v1::MeasureTask& task,
                 const v1::MeasureResult& result, int64_t now_unix_ms);

  // One batch of `name` finished or was cancelled at `now_unix_ms`.
  void BatchEnded(const std::string& name, int64_t now_unix_ms);

  // Forgets names without batches in flight not updated for more than the retention before
  // `now_unix_ms`.
  void Expire(int64_t now_unix_ms);

  // Every name's summary at `now_unix_ms` (its state depends on it), the most recently
  // updated first. `queued` gives each name's tasks queued and running now (absent: none).
  std::vector<v1::JobSummary> Summaries(
      const std::map<std::string, std::pair<uint64_t, uint64_t>>& queued,
      int64_t now_unix_ms) const;

  // The job's trials from number `since` on (from the oldest kept one when `since` is below
  // it); nullopt for an unknown name.
  std::optional<Slice> SliceOf(const std::string& name, uint64_t since,
                               std::pair<uint64_t, uint64_t> queued, int64_t now_unix_ms) const;

 private:
  struct Job {
    v1::JobSummary summary;  // without pending/running (filled in when asked)
    int live_batches = 0;
    uint64_t dropped = 0;  // trials no longer kept
    std::deque<Trial> trials;
    std::vector<std::string> boards{""};
    std::map<std::string, uint32_t> board_index{{"", 0}};
    std::vector<std::string> workloads;
    std::map<std::string, uint32_t> workload_index;
    std::vector<Estimate> estimates;
  };

  // The job's entry for `name`, made room for when the list is full.
  Job& Entry(const std::string& name, int64_t now_unix_ms);
  static uint32_t Intern(const std::string& text, std::vector<std::string>& texts,
                         std::map<std::string, uint32_t>& index);
  static void Append(Job& job, const Trial& trial);
  // "running", "finished" or "stopped" (see the header comment).
  static std::string StateOf(const Job& job, int64_t now_unix_ms);
  static v1::JobSummary SummaryOf(const Job& job, std::pair<uint64_t, uint64_t> queued,
                                  int64_t now_unix_ms);

  const int64_t retention_ms_;
  const size_t capacity_;
  std::map<std::string, Job> jobs_;
};

}  // namespace fleettune::tracker

#endif  // FLEETTUNE_TRACKER_JOB_HISTORY_H_
