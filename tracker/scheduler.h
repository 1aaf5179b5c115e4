// The tracker's scheduling core, free of gRPC: a registry of boards by device key, one FIFO
// queue of tasks per key, and the routing of results back to the job that submitted them.
//
// The gRPC glue (tracker_service.cc) adapts streams to the two small interfaces below. The
// scheduler calls them while holding its own mutex, so their implementations must not block
// and must never call back into the Scheduler from inside those calls (enqueue and return).
#ifndef FLEETTUNE_TRACKER_SCHEDULER_H_
#define FLEETTUNE_TRACKER_SCHEDULER_H_

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "fleettune/v1/fleettune.pb.h"
#include "net/artifact_limit.h"
#include "tracker/board_noise.h"
#include "tracker/event_log.h"
#include "tracker/job_history.h"
#include "tracker/lost_boards.h"
#include "tracker/model_jobs.h"

namespace fleettune::tracker {

// The tracker's side of one board's stream.
class BoardChannel {
 public:
  virtual ~BoardChannel() = default;
  // Pushes one task to the board.
  virtual void SendTask(const v1::MeasureTask& task) = 0;
  // Ends the board's stream (tracker shutdown). The board is already unregistered.
  virtual void Close() = 0;
};

// The tracker's side of one submitted batch (a Measure stream).
class JobSink {
 public:
  virtual ~JobSink() = default;
  // One result of the job; called exactly once per task of the batch.
  virtual void OnResult(const v1::MeasureResult& result) = 0;
  // Every task has a result; the scheduler forgets the sink after this call.
  virtual void OnJobDone() = 0;
};

// Time limits the scheduler enforces in Expire().
struct SchedulerOptions {
  // A queued task whose device key has had no board for this long fails with REJECTED, so a
  // tuner never waits forever for a key nobody serves.
  int64_t no_board_timeout_ms = 60000;
  // A board that has sent nothing (heartbeats included) for this long is dropped as lost:
  // connected but hung (SIGSTOP, a wedged runtime) looks like this.
  int64_t board_silence_ms = 15000;
  // A running task's lease is its timeout_ms (or default_task_timeout_ms when unset) plus
  // this grace for transfer, loading and the reference run; a board past it is dropped.
  int64_t lease_grace_ms = 10000;
  int64_t default_task_timeout_ms = 10000;
  // The first task of a workload on a board (one it has not measured among its last
  // kBoardReferenceCacheEntries workloads) also runs the reference kernel before the
  // candidate's timeout starts: its lease has this much more. The board bounds a reference
  // run by max(timeout_ms, --reference-timeout-ms, default 120 s) + 2 s grace; this covers
  // that default.
  int64_t reference_allowance_ms = 125000;
  // A dropped board stays in GetStatus().lost_boards this long (state "lost", with the reason
  // and what became of its task), so an operator sees why a board vanished.
  int64_t lost_board_retention_ms = 300000;
  // A model job's progress (the latest batch's MeasureBatch.progress per job name) stays in
  // GetStatus().model_jobs this long after the name's last batch finished, so that `status`
  // shows the job between its batches (ModelJobs); 0: only while it has a batch.
  int64_t model_job_retention_ms = 300000;
  // A finished job stays in the job history (GetStatus().job_summaries, GetJobHistory: the web
  // page's jobs) this long after its last batch or result.
  int64_t job_history_retention_ms = 3600000;
  // The largest artifact (candidate, a multi-candidate task's candidate, or reference shared
  // object) a task may carry; the tracker's --max-artifact-mb (net/artifact_limit.h). A
  // bigger one, or artifacts of one task over net::TaskArtifactsLimitBytes together, refuse
  // their batch.
  int64_t max_artifact_bytes = net::MebibytesToBytes(net::kDefaultMaxArtifactMb);
  // Receives one line for each event an operator should see (see event_log.h): a board joined
  // (info), left (info) or lost (warning; naming the reason and its task's fate, e.g. a lease
  // that expired), a lost board back (info), a board quarantined (warning), and a client's
  // batch queued and done (debug). Called under the scheduler's mutex. Empty: no log.
  EventLog log;
};

// Thread-safe. Every method takes the scheduler's mutex.
class Scheduler {
 public:
  // Times a task may be lost with its board before it fails with DEVICE_LOST.
  static constexpr int kMaxBoardLosses = 2;
  // Reference outputs a board keeps (rpc_server's reference cache holds as many).
  static constexpr size_t kBoardReferenceCacheEntries = 8;
  // Failures of configs that then succeeded on another board of the key, after which a
  // board gets no more work (quarantined: shown in Status, cleared when it reconnects).
  static constexpr int kQuarantineStrikes = 3;
  // Most boards GetStatus().lost_boards lists; the oldest losses go first.
  static constexpr int kMaxLostBoards = 256;
  // Most job names GetStatus().model_jobs lists; the names idle longest go first.
  static constexpr int kMaxModelJobs = 64;
  // Most job names the job history keeps; finished ones updated longest ago go first.
  static constexpr int kMaxJobHistory = 64;

  explicit Scheduler(SchedulerOptions options = {})
      : options_(std::move(options)),
        lost_boards_(options_.lost_board_retention_ms, kMaxLostBoards),
        model_jobs_(options_.model_job_retention_ms, kMaxModelJobs),
        job_history_(options_.job_history_retention_ms, kMaxJobHistory) {}
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // A fresh, unique board id. The caller tells the board its id before calling AddBoard, so
  // the board hears Registered before its first task.
  std::string NextBoardId();

  // Registers an idle board (info.key must be non-empty) and may push it a task at once.
  // `channel` must stay valid until RemoveBoard(board_id) returns or Close() is called.
  // InvalidArgument when info.key is empty; FailedPrecondition after Shutdown().
  absl::Status AddBoard(const std::string& board_id, const v1::DeviceInfo& info,
                        BoardChannel* channel);

  // Unregisters a board whose stream ended and lists it in lost_boards with `reason`. A task it
  // held is re-queued at the front of its key's queue; on its kMaxBoardLosses-th loss it fails
  // with DEVICE_LOST. Unknown ids are ignored (removal is idempotent).
  void RemoveBoard(const std::string& board_id, const std::string& reason = "disconnected");

  // Records that a board is alive (heartbeat or any message).
  void Touch(const std::string& board_id);

  // A board finished its current task. The result is stamped with the tracker's task_id,
  // client_tag, board_id and device_key and routed to the submitting job; the board becomes
  // idle and may get the next task. A failed measurement (RUNTIME_ERROR, WRONG_ANSWER,
  // TIMEOUT, LOAD_ERROR) is first tried once more on another board of the key, when there is
  // one: if it succeeds there the failure was the board's (a strike against it) and the good
  // result is delivered; if it fails again it was the config's, and that result is delivered.
  // FailedPrecondition (state unchanged) when the board is unknown or does not hold that task.
  absl::Status OnBoardResult(const std::string& board_id, v1::MeasureResult result);

  // Queues a batch for its device key, assigning the job id and task ids. The batch must
  // name a device_key and hold at least one task; a task's own device_key, if set, must
  // match, and none of its artifacts (a multi-candidate task's candidates' included) may
  // exceed options.max_artifact_bytes, nor all of them together net::TaskArtifactsLimitBytes
  // of it. InvalidArgument naming the field otherwise (net::ArtifactTooLarge for an artifact:
  // the limit, its value and the tracker's --max-artifact-mb; net::TaskArtifactsTooLarge for
  // the sum), Unavailable after Shutdown(). On success `sink` must stay valid until
  // OnJobDone() or until CancelJob() returns. A task over those limits, taken at the limit its
  // board declares (DeviceInfo.max_artifact_bytes) fails REJECTED when it is dispatched to
  // that board, naming the board's limit and its --max-artifact-mb. A batch's
  // progress (a model job's) is kept with the job and becomes its job name's latest progress
  // in GetStatus().model_jobs.
  absl::StatusOr<uint64_t> SubmitJob(const v1::MeasureBatch& batch, JobSink* sink);

  // The submitter went away: drops the job's queued tasks, and results of its running tasks
  // are discarded when they arrive. The sink is never called after this returns.
  void CancelJob(uint64_t job_id);

  // Enforces the time limits of SchedulerOptions at `now_unix_ms`: drops silent boards and
  // boards past a task's lease (closing their streams, listing them as lost; their tasks are
  // re-queued or fail with DEVICE_LOST as in RemoveBoard), fails queued tasks of keys that
  // have had no board for no_board_timeout_ms with REJECTED, and forgets lost boards older
  // than lost_board_retention_ms and model jobs idle for longer than model_job_retention_ms.
  // The tracker calls it about once a second.
  void Expire(int64_t now_unix_ms);

  // Totals since start, for the metrics endpoint.
  struct Counters {
    uint64_t tasks_submitted = 0;
    uint64_t tasks_dispatched = 0;  // pushes to boards, re-dispatches included
    uint64_t boards_lost = 0;       // streams ended or dropped while holding a task
    // Boards dropped, held task or not, by cause: "silent", "lease_expired", "disconnected".
    std::map<std::string, uint64_t> boards_dropped_by_cause;
    std::map<std::string, uint64_t> results_by_status;  // delivered results, by status name
  };
  Counters GetCounters() const;

  // The tracker's version (FLEETTUNE_VERSION_STRING), connected boards (ordered by id; each with
  // its noise, the median coefficient of variation of its last BoardNoise::kMaxSamples OK results'
  // repeats), queues (ordered by key), unfinished jobs (each with its batch's progress, if any),
  // the boards lost within lost_board_retention_ms (oldest loss first, at most kMaxLostBoards), and
  // the model jobs (by name, at most kMaxModelJobs): each name's latest progress while it has
  // unfinished batches and for model_job_retention_ms after its last one finished; and the job
  // history's summaries (job_summaries, the most recently updated first).
  v1::StatusReply GetStatus() const;

  // One job name's trials from number `since` on, with its summary (JobHistory::SliceOf);
  // nullopt when the history does not hold the name.
  std::optional<JobHistory::Slice> GetJobHistory(const std::string& name, uint64_t since) const;

  // Fails every unfinished task with DEVICE_LOST, completes every job, closes and forgets
  // every board, and refuses new boards and jobs. Idempotent.
  void Shutdown();

 private:
  struct TaskState {
    v1::MeasureTask task;  // with tracker-assigned task_id and job_id
    int losses = 0;        // boards lost while running this task
    std::string board_id;  // non-empty while running
    int64_t queued_unix_ms = 0;
    int64_t lease_deadline_unix_ms = 0;    // while running
    bool lease_has_reference_run = false;  // while running: the lease allows for the reference
    std::vector<std::string> failed_on;    // boards whose measurement of it failed
    v1::MeasureResult last_failure;        // delivered if no other board can try it
  };
  struct Job {
    JobSink* sink = nullptr;  // null once cancelled
    int32_t priority = 0;
    std::string name;
    std::string history_name;  // name, or "batch-<id>" for an unnamed batch
    std::string key;
    size_t total = 0;
    size_t finished = 0;
    size_t running = 0;
    bool has_progress = false;
    v1::JobProgress progress;  // MeasureBatch.progress, when has_progress
  };
  struct BoardState {
    v1::DeviceInfo info;
    BoardChannel* channel = nullptr;
    uint64_t current_task = 0;  // 0 when idle
    uint64_t tasks_done = 0;
    uint64_t tasks_failed = 0;  // failures that stood (another board's OK makes a strike)
    int64_t connected_unix_ms = 0;
    int64_t last_seen_unix_ms = 0;
    int strikes = 0;  // failures that succeeded elsewhere
    // The workloads whose reference output the board holds, most recent last (at most
    // kBoardReferenceCacheEntries).
    std::deque<std::string> references;
    bool quarantined = false;
    BoardNoise noise;  // of its OK results (BoardStatus.noise_cv)
  };

  // A failed measurement of `state` is the answer (no other board can overturn it): it counts
  // in tasks_failed of every board that failed it.
  void CountStandingFailureLocked(const TaskState& state) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // True when a failed task should be measured again on another board of `key`.
  bool HasOtherBoardLocked(const std::string& key, const TaskState& state) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Forgets a board, lists it as lost for `reason` at `now_unix_ms` and logs it; re-queues or
  // fails its task (see RemoveBoard).
  void RemoveBoardLocked(const std::string& board_id, LossCause cause, const std::string& reason,
                         int64_t now_unix_ms) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The board's row in GetStatus().
  static v1::BoardStatus DescribeBoard(const std::string& board_id, const BoardState& board);
  // How long a task may run on a board before its lease needs the grace on top.
  int64_t TaskTimeoutMs(const TaskState& state) const;
  // How the log names a submitted batch: "job 7 (matmul@20261203T124801-1a2b3c4d, key k)".
  static std::string DescribeJob(uint64_t job_id, const Job& job);
  // What the lease of `state` on its board covers, e.g. "1 s timeout + 10 s grace".
  std::string DescribeLease(const TaskState& state) const;
  void Log(EventSeverity severity, const std::string& line) const {
    if (options_.log) options_.log(severity, line);
  }
  // Pushes queued tasks of `key` to its idle boards. Jobs sharing the key take turns: the
  // next task comes from the highest-priority job, then the one with the fewest tasks
  // running, then the oldest task; re-queued tasks (at the front) go before their job's rest.
  void DispatchLocked(const std::string& key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // `job` (id `job_id`) is done or cancelled: when it was its name's last unfinished batch
  // with progress, the name's model-job retention starts.
  void JobEndedLocked(uint64_t job_id, const Job& job) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Each job name's tasks queued and running now (cancelled batches left out).
  std::map<std::string, std::pair<uint64_t, uint64_t>> QueuedByJobNameLocked() const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Delivers `result` for a task that is leaving the system and forgets the task.
  void FinishTaskLocked(uint64_t task_id, v1::MeasureResult result)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const SchedulerOptions options_;
  mutable absl::Mutex mu_;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t next_board_number_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t next_task_id_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t next_job_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<std::string, BoardState> boards_ ABSL_GUARDED_BY(mu_);
  std::map<uint64_t, TaskState> tasks_ ABSL_GUARDED_BY(mu_);  // queued or running
  std::map<uint64_t, Job> jobs_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::deque<uint64_t>> queues_ ABSL_GUARDED_BY(mu_);  // key → task ids
  Counters counters_ ABSL_GUARDED_BY(mu_);
  // When each key last had a board (absent: never).
  std::map<std::string, int64_t> key_last_board_unix_ms_ ABSL_GUARDED_BY(mu_);
  LostBoards lost_boards_ ABSL_GUARDED_BY(mu_);
  ModelJobs model_jobs_ ABSL_GUARDED_BY(mu_);
  JobHistory job_history_ ABSL_GUARDED_BY(mu_);
};

}  // namespace fleettune::tracker

#endif  // FLEETTUNE_TRACKER_SCHEDULER_H_
