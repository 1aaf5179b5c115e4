#include "tracker/scheduler.h"

#include <algorithm>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "tracker/task_artifacts.h"

namespace fleettune::tracker {
namespace {

int64_t NowUnixMs() { return absl::ToUnixMillis(absl::Now()); }

// Which reference output a board needs for `task`, as the board's cache tells them apart (the
// same workload and target build the same reference); empty when the board runs none.
std::string ReferenceKey(const v1::MeasureTask& task) {
  if (!task.options().check_correctness() && task.reference().shared_object().empty()) return "";
  return absl::StrCat(task.workload_key(), "\n", task.target_key());
}

v1::MeasureResult FailureResult(v1::MeasureStatus status, std::string error) {
  v1::MeasureResult result;
  result.set_status(status);
  result.set_error(std::move(error));
  result.set_finished_unix_ms(NowUnixMs());
  return result;
}

}  // namespace

std::string Scheduler::NextBoardId() {
  absl::MutexLock lock(&mu_);
  return absl::StrCat("board-", next_board_number_++);
}

absl::Status Scheduler::AddBoard(const std::string& board_id, const v1::DeviceInfo& info,
                                 BoardChannel* channel) {
  if (info.key().empty()) {
    return absl::InvalidArgumentError("DeviceInfo.key is empty");
  }
  absl::MutexLock lock(&mu_);
  if (shut_down_) return absl::FailedPreconditionError("tracker is shutting down");
  if (boards_.count(board_id) != 0) {
    return absl::AlreadyExistsError(absl::StrCat("board id ", board_id, " is taken"));
  }
  BoardState& board = boards_[board_id];
  board.info = info;
  board.channel = channel;
  board.connected_unix_ms = board.last_seen_unix_ms = NowUnixMs();
  Log(EventSeverity::kInfo, absl::StrCat(NameBoard(board_id, info), " joined"));
  // The same runtime process reconnecting (after a drop, or a tracker restart) is no longer
  // lost: its new entry replaces the old one.
  const std::vector<std::string> was = lost_boards_.ForgetInstance(info.instance());
  if (!was.empty()) {
    Log(EventSeverity::kInfo,
        absl::StrCat(NameBoard(board_id, info), " is back: it was ", absl::StrJoin(was, ", ")));
  }
  DispatchLocked(info.key());
  return absl::OkStatus();
}

void Scheduler::RemoveBoard(const std::string& board_id, const std::string& reason) {
  absl::MutexLock lock(&mu_);
  RemoveBoardLocked(board_id, LossCause::kDisconnected, reason, NowUnixMs());
}

void Scheduler::RemoveBoardLocked(const std::string& board_id, LossCause cause,
                                  const std::string& reason, int64_t now_unix_ms) {
  auto it = boards_.find(board_id);
  if (it == boards_.end()) return;
  const std::string key = it->second.info.key();
  const uint64_t task_id = it->second.current_task;
  v1::BoardStatus lost = DescribeBoard(board_id, it->second);
  lost.set_state("lost");
  lost.set_current_task(0);
  lost.set_lost_reason(reason);
  lost.set_lost_unix_ms(now_unix_ms);
  lost.set_lost_task(task_id);
  key_last_board_unix_ms_[key] = now_unix_ms;
  boards_.erase(it);
  ++counters_.boards_dropped_by_cause[LossCauseName(cause)];

  if (task_id != 0) {
    TaskState& state = tasks_.at(task_id);
    Job& job = jobs_.at(state.task.job_id());
    state.board_id.clear();
    --job.running;
    ++state.losses;
    ++counters_.boards_lost;
    if (job.sink == nullptr) {  // cancelled: nobody wants the result
      lost.set_lost_task_outcome("dropped");
      FinishTaskLocked(task_id, v1::MeasureResult());
    } else if (state.losses >= kMaxBoardLosses) {
      lost.set_lost_task_outcome("failed");
      FinishTaskLocked(
          task_id,
          FailureResult(v1::DEVICE_LOST,
                        absl::StrCat("lost ", state.losses,
                                     " boards while running the task (last: ", board_id, ")")));
    } else {
      lost.set_lost_task_outcome("requeued");
      queues_[key].push_front(task_id);
      DispatchLocked(key);
    }
  }
  // A board that went away is news; one that hung or overran a lease is trouble.
  Log(cause == LossCause::kDisconnected ? EventSeverity::kInfo : EventSeverity::kWarning,
      DescribeLoss(lost));
  lost_boards_.Add(std::move(lost));
}

void Scheduler::Expire(int64_t now_unix_ms) {
  absl::MutexLock lock(&mu_);
  if (shut_down_) return;
  lost_boards_.Expire(now_unix_ms);
  model_jobs_.Expire(now_unix_ms);
  job_history_.Expire(now_unix_ms);
  struct Drop {
    std::string board_id;
    LossCause cause;
    std::string reason;
  };
  std::vector<Drop> drops;
  for (auto& [board_id, board] : boards_) {
    key_last_board_unix_ms_[board.info.key()] = now_unix_ms;
    const int64_t silent_ms = now_unix_ms - board.last_seen_unix_ms;
    if (silent_ms > options_.board_silence_ms) {
      drops.push_back(
          {board_id, LossCause::kSilent,
           absl::StrCat("silent for ", silent_ms / 1000, " s (no heartbeat or result)")});
    } else if (board.current_task != 0 &&
               now_unix_ms > tasks_.at(board.current_task).lease_deadline_unix_ms) {
      const TaskState& state = tasks_.at(board.current_task);
      drops.push_back({board_id, LossCause::kLeaseExpired,
                       absl::StrCat("lease expired: task ", board.current_task, " ran past its ",
                                    DescribeLease(state))});
    }
  }
  for (const Drop& drop : drops) {
    BoardChannel* channel = boards_.at(drop.board_id).channel;
    RemoveBoardLocked(drop.board_id, drop.cause, drop.reason, now_unix_ms);
    channel->Close();
  }
  // Keys nobody serves: fail what has waited longer than no_board_timeout_ms.
  std::set<std::string> served;
  for (const auto& [board_id, board] : boards_) {
    if (!board.quarantined) served.insert(board.info.key());
  }
  std::vector<uint64_t> rejected;
  for (const auto& [key, queue] : queues_) {
    if (served.count(key) != 0) continue;
    auto last = key_last_board_unix_ms_.find(key);
    for (uint64_t task_id : queue) {
      int64_t waiting_since = tasks_.at(task_id).queued_unix_ms;
      if (last != key_last_board_unix_ms_.end())
        waiting_since = std::max(waiting_since, last->second);
      if (now_unix_ms - waiting_since > options_.no_board_timeout_ms) rejected.push_back(task_id);
    }
  }
  // A failed task waiting for a second opinion whose other boards have all gone: the first
  // failure is the answer.
  std::vector<uint64_t> stranded;
  for (const auto& [key, queue] : queues_) {
    for (uint64_t task_id : queue) {
      const TaskState& state = tasks_.at(task_id);
      if (!state.failed_on.empty() && !HasOtherBoardLocked(key, state) &&
          std::find(rejected.begin(), rejected.end(), task_id) == rejected.end()) {
        stranded.push_back(task_id);
      }
    }
  }
  for (uint64_t task_id : stranded) {
    const std::string key = tasks_.at(task_id).task.device_key();
    std::deque<uint64_t>& queue = queues_.at(key);
    queue.erase(std::find(queue.begin(), queue.end(), task_id));
    if (queue.empty()) queues_.erase(key);
    CountStandingFailureLocked(tasks_.at(task_id));
    FinishTaskLocked(task_id, tasks_.at(task_id).last_failure);
  }
  for (uint64_t task_id : rejected) {
    const std::string key = tasks_.at(task_id).task.device_key();
    std::deque<uint64_t>& queue = queues_.at(key);
    queue.erase(std::find(queue.begin(), queue.end(), task_id));
    if (queue.empty()) queues_.erase(key);
    FinishTaskLocked(
        task_id, FailureResult(v1::REJECTED,
                               absl::StrCat("no board with device key '", key, "' connected for ",
                                            options_.no_board_timeout_ms / 1000, " s")));
  }
}

void Scheduler::Touch(const std::string& board_id) {
  absl::MutexLock lock(&mu_);
  auto it = boards_.find(board_id);
  if (it != boards_.end()) it->second.last_seen_unix_ms = NowUnixMs();
}

absl::Status Scheduler::OnBoardResult(const std::string& board_id, v1::MeasureResult result) {
  absl::MutexLock lock(&mu_);
  auto it = boards_.find(board_id);
  if (it == boards_.end()) {
    return absl::FailedPreconditionError(absl::StrCat("unknown board ", board_id));
  }
  BoardState& board = it->second;
  if (board.current_task == 0 || board.current_task != result.task_id()) {
    return absl::FailedPreconditionError(absl::StrCat("board ", board_id,
                                                      " sent a result for task ", result.task_id(),
                                                      " but holds task ", board.current_task));
  }
  board.current_task = 0;
  board.last_seen_unix_ms = NowUnixMs();
  const uint64_t task_id = result.task_id();
  TaskState& state = tasks_.at(task_id);
  if (state.lease_has_reference_run) {
    board.references.push_back(ReferenceKey(state.task));
    if (board.references.size() > kBoardReferenceCacheEntries) board.references.pop_front();
  }
  const std::string key = board.info.key();
  const bool measurement_failed =
      result.status() == v1::RUNTIME_ERROR || result.status() == v1::WRONG_ANSWER ||
      result.status() == v1::TIMEOUT || result.status() == v1::LOAD_ERROR;
  // A failed measurement counts on its board once it stands (CountStandingFailureLocked); one
  // that another board overturns is a strike instead.
  if (result.status() == v1::OK) {
    ++board.tasks_done;
    board.noise.Add(result);
  } else if (!measurement_failed) {
    ++board.tasks_failed;
  }
  if (measurement_failed) {
    state.failed_on.push_back(board_id);
    state.last_failure = result;
    state.last_failure.set_board_id(board_id);
    if (jobs_.at(state.task.job_id()).sink != nullptr && HasOtherBoardLocked(key, state)) {
      // Bad config or bad board? Ask another board before blaming the config.
      state.board_id.clear();
      --jobs_.at(state.task.job_id()).running;
      queues_[key].push_front(task_id);
      DispatchLocked(key);
      return absl::OkStatus();
    }
    CountStandingFailureLocked(state);
    if (state.failed_on.size() > 1) {
      result.set_error(absl::StrCat(result.error(), " (failed on ", state.failed_on.size(),
                                    " boards: the config's fault)"));
    }
  } else if (result.status() == v1::OK) {
    // It failed elsewhere and works here: those boards are suspect.
    for (const std::string& failed_board : state.failed_on) {
      auto suspect = boards_.find(failed_board);
      if (suspect == boards_.end()) continue;
      BoardState& suspect_board = suspect->second;
      if (++suspect_board.strikes >= kQuarantineStrikes && !suspect_board.quarantined) {
        suspect_board.quarantined = true;
        Log(EventSeverity::kWarning,
            absl::StrCat(NameBoard(failed_board, suspect_board.info),
                         " quarantined: ", suspect_board.strikes,
                         " of its failed measurements succeeded on other boards; it gets no more "
                         "work until it reconnects"));
      }
    }
  }
  result.set_board_id(board_id);
  FinishTaskLocked(task_id, std::move(result));
  DispatchLocked(key);
  return absl::OkStatus();
}

void Scheduler::CountStandingFailureLocked(const TaskState& state) {
  for (const std::string& failed_board : state.failed_on) {
    auto it = boards_.find(failed_board);
    if (it != boards_.end()) ++it->second.tasks_failed;
  }
}

bool Scheduler::HasOtherBoardLocked(const std::string& key, const TaskState& state) const {
  for (const auto& [board_id, board] : boards_) {
    if (board.info.key() != key || board.quarantined) continue;
    if (std::find(state.failed_on.begin(), state.failed_on.end(), board_id) ==
        state.failed_on.end()) {
      return true;
    }
  }
  return false;
}

absl::StatusOr<uint64_t> Scheduler::SubmitJob(const v1::MeasureBatch& batch, JobSink* sink) {
  if (batch.device_key().empty()) {
    return absl::InvalidArgumentError("MeasureBatch.device_key is empty");
  }
  if (batch.tasks().empty()) {
    return absl::InvalidArgumentError("MeasureBatch.tasks is empty");
  }
  for (int i = 0; i < batch.tasks_size(); ++i) {
    const std::string task_name = absl::StrCat("MeasureBatch.tasks[", i, "]");
    if (absl::Status fits =
            CheckTaskArtifacts(batch.tasks(i), options_.max_artifact_bytes, task_name + ".",
                               task_name, "the tracker", "`fleettune tracker --max-artifact-mb`");
        !fits.ok()) {
      return fits;
    }
    const std::string& key = batch.tasks(i).device_key();
    if (!key.empty() && key != batch.device_key()) {
      return absl::InvalidArgumentError(absl::StrCat("MeasureBatch.tasks[", i, "].device_key is \"",
                                                     key, "\" but the batch's device_key is \"",
                                                     batch.device_key(), "\""));
    }
  }
  absl::MutexLock lock(&mu_);
  if (shut_down_) return absl::UnavailableError("tracker is shutting down");
  const uint64_t job_id = next_job_id_++;
  Job& job = jobs_[job_id];
  job.sink = sink;
  job.priority = batch.priority();
  job.name = batch.job_name();
  job.history_name = job.name.empty() ? absl::StrCat("batch-", job_id) : job.name;
  job.key = batch.device_key();
  job.total = batch.tasks_size();
  job_history_.Submitted(job.history_name, batch, NowUnixMs());
  if (batch.has_progress()) {
    job.has_progress = true;
    job.progress = batch.progress();
    model_jobs_.Submitted(job.name, job.key, job.progress, NowUnixMs());
  }
  std::deque<uint64_t>& queue = queues_[batch.device_key()];
  for (const v1::MeasureTask& task : batch.tasks()) {
    const uint64_t task_id = next_task_id_++;
    TaskState& state = tasks_[task_id];
    state.task = task;
    state.task.set_task_id(task_id);
    state.task.set_job_id(job_id);
    state.task.set_device_key(batch.device_key());
    state.queued_unix_ms = NowUnixMs();
    queue.push_back(task_id);
    ++counters_.tasks_submitted;
  }
  Log(EventSeverity::kDebug,
      absl::StrCat(DescribeJob(job_id, job), " queued: ", job.total,
                   job.total == 1 ? " task" : " tasks", ", priority ", job.priority));
  DispatchLocked(batch.device_key());
  return job_id;
}

void Scheduler::CancelJob(uint64_t job_id) {
  absl::MutexLock lock(&mu_);
  auto job_it = jobs_.find(job_id);
  if (job_it == jobs_.end()) return;
  const bool was_live = job_it->second.sink != nullptr;
  job_it->second.sink = nullptr;
  if (was_live) {
    JobEndedLocked(job_id, job_it->second);
    job_history_.BatchEnded(job_it->second.history_name, NowUnixMs());
  }
  Log(EventSeverity::kDebug,
      absl::StrCat(DescribeJob(job_id, job_it->second), " cancelled by its client (",
                   job_it->second.finished, " of ", job_it->second.total, " tasks done)"));
  for (auto& [key, queue] : queues_) {
    for (auto it = queue.begin(); it != queue.end();) {
      if (tasks_.at(*it).task.job_id() == job_id) {
        tasks_.erase(*it);
        ++job_it->second.finished;
        it = queue.erase(it);
      } else {
        ++it;
      }
    }
  }
  if (job_it->second.running == 0) jobs_.erase(job_it);
}

int64_t Scheduler::TaskTimeoutMs(const TaskState& state) const {
  return state.task.options().timeout_ms() > 0 ? state.task.options().timeout_ms()
                                               : options_.default_task_timeout_ms;
}

Scheduler::Counters Scheduler::GetCounters() const {
  absl::MutexLock lock(&mu_);
  return counters_;
}

void Scheduler::Shutdown() {
  absl::MutexLock lock(&mu_);
  if (shut_down_) return;
  shut_down_ = true;
  for (auto& [board_id, board] : boards_) board.channel->Close();
  boards_.clear();
  queues_.clear();
  std::vector<uint64_t> unfinished;
  for (const auto& [task_id, state] : tasks_) unfinished.push_back(task_id);
  for (uint64_t task_id : unfinished) {
    FinishTaskLocked(task_id, FailureResult(v1::DEVICE_LOST,
                                            "tracker shut down before the task "
                                            "finished"));
  }
}

void Scheduler::DispatchLocked(const std::string& key) {
  auto queue_it = queues_.find(key);
  if (queue_it == queues_.end()) return;
  std::deque<uint64_t>& queue = queue_it->second;
  for (auto& [board_id, board] : boards_) {
    if (queue.empty()) break;
    if (board.current_task != 0 || board.quarantined || board.info.key() != key) continue;
    // Until the board holds a task or none is left for it.
    while (!queue.empty()) {
      // Fair share between the jobs on this key (see the header); a task never goes back to
      // a board it failed on.
      auto best = queue.end();
      for (auto it = queue.begin(); it != queue.end(); ++it) {
        const TaskState& candidate = tasks_.at(*it);
        if (std::find(candidate.failed_on.begin(), candidate.failed_on.end(), board_id) !=
            candidate.failed_on.end()) {
          continue;
        }
        if (best == queue.end()) {
          best = it;
          continue;
        }
        const Job& job = jobs_.at(candidate.task.job_id());
        const Job& best_job = jobs_.at(tasks_.at(*best).task.job_id());
        if (job.priority > best_job.priority ||
            (job.priority == best_job.priority && job.running < best_job.running)) {
          best = it;
        }
      }
      if (best == queue.end()) break;
      const uint64_t task_id = *best;
      queue.erase(best);
      TaskState& state = tasks_.at(task_id);
      // A board takes no message over its own limit (its stream would break): such a task
      // fails here, naming that limit, and the board is offered the next one.
      if (const int64_t board_limit = board.info.max_artifact_bytes(); board_limit > 0) {
        if (const absl::Status fits =
                CheckTaskArtifacts(state.task, board_limit, "the task's ", "the task",
                                   absl::StrCat("board ", board_id),
                                   "`fleettune-rpc-server --max-artifact-mb` on the board");
            !fits.ok()) {
          FinishTaskLocked(task_id, FailureResult(v1::REJECTED, std::string(fits.message())));
          continue;
        }
      }
      state.board_id = board_id;
      const std::string reference = ReferenceKey(state.task);
      state.lease_has_reference_run =
          !reference.empty() && std::find(board.references.begin(), board.references.end(),
                                          reference) == board.references.end();
      state.lease_deadline_unix_ms =
          NowUnixMs() + TaskTimeoutMs(state) + options_.lease_grace_ms +
          (state.lease_has_reference_run ? options_.reference_allowance_ms : 0);
      board.current_task = task_id;
      ++jobs_.at(state.task.job_id()).running;
      ++counters_.tasks_dispatched;
      board.channel->SendTask(state.task);
      break;
    }
  }
  if (queue.empty()) queues_.erase(queue_it);
}

void Scheduler::FinishTaskLocked(uint64_t task_id, v1::MeasureResult result) {
  auto task_it = tasks_.find(task_id);
  const v1::MeasureTask& task = task_it->second.task;
  const bool was_running = !task_it->second.board_id.empty();
  auto job_it = jobs_.find(task.job_id());
  Job& job = job_it->second;
  result.set_task_id(task_id);
  result.set_client_tag(task.client_tag());
  result.set_device_key(task.device_key());
  if (job.sink != nullptr) job_history_.Delivered(job.history_name, task, result, NowUnixMs());
  tasks_.erase(task_it);
  if (was_running) --job.running;
  ++job.finished;
  if (job.sink != nullptr) {
    ++counters_.results_by_status[v1::MeasureStatus_Name(result.status())];
    job.sink->OnResult(result);
    if (job.finished == job.total) {
      Log(EventSeverity::kDebug, absl::StrCat(DescribeJob(job_it->first, job), " done"));
      job.sink->OnJobDone();
      JobEndedLocked(job_it->first, job);
      job_history_.BatchEnded(job.history_name, NowUnixMs());
      jobs_.erase(job_it);
    }
  } else if (job.running == 0) {
    jobs_.erase(job_it);  // cancelled, and its last running task is gone
  }
}

}  // namespace fleettune::tracker
