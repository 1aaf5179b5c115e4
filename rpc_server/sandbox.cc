#include "rpc_server/sandbox.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "rpc_server/measure.h"
#include "rpc_server/sandbox_wire.h"
#include "rpc_server/sandbox_worker.h"

extern char** environ;

namespace fleettune::rpc_server {
namespace {

using Clock = std::chrono::steady_clock;

// How long a worker that sent its result may take to exit before it is killed.
constexpr auto kExitGrace = std::chrono::seconds(2);
// Room in a reply frame besides the reference output and the costs (up to 16 bytes per
// repeat): the rest of the MeasureResult and the cache key.
constexpr uint64_t kReplyOverheadBytes = 1 << 20;
// Room per candidate of a multi-candidate task besides its costs: its status and error.
constexpr uint64_t kCandidateReplyBytes = 64 << 10;
// Memory a measurement may use besides its tensors' multiple (see WorkerMemoryLimitBytes).
constexpr uint64_t kBaseMemoryBytes = uint64_t{256} << 20;
constexpr uint64_t kTensorMemoryFactor = 4;

v1::MeasureResult Failure(const v1::MeasureTask& task, v1::MeasureStatus status,
                          std::string error) {
  v1::MeasureResult result;
  result.set_task_id(task.task_id());
  result.set_client_tag(task.client_tag());
  result.set_device_key(task.device_key());
  result.set_status(status);
  result.set_error(std::move(error));
  return result;
}

// A worker started in its own process group (so it and whatever it starts are killed
// together), with its reply pipe; pid < 0 and `error` set when it could not start.
struct Child {
  pid_t pid = -1;
  int reply_fd = -1;
  std::string error;
};

Child ForkChild(const v1::MeasureTask& task, const std::string& reference_key,
                bool board_has_reference, uint64_t memory_limit_bytes) {
  Child child;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    child.error = absl::StrCat("sandbox: pipe: ", strerror(errno));
    return child;
  }
  child.pid = fork();
  if (child.pid == 0) {
    setpgid(0, 0);
    close(fds[0]);
    // The reply goes out on kReplyFd, as from a spawned worker.
    if (fds[1] != kReplyFd) {
      if (dup2(fds[1], kReplyFd) < 0) _exit(3);
      close(fds[1]);
    }
    _exit(MeasureAndReply(task, reference_key, board_has_reference, memory_limit_bytes));
  }
  close(fds[1]);
  if (child.pid < 0) {
    child.error = absl::StrCat("sandbox: fork: ", strerror(errno));
    close(fds[0]);
    return child;
  }
  setpgid(child.pid, child.pid);  // also here, so the group exists before we may kill it
  child.reply_fd = fds[0];
  return child;
}

Child SpawnWorker(const std::string& binary, const v1::MeasureTask& task,
                  const std::string& reference_key, uint64_t memory_limit_bytes) {
  Child child;
  int request_pipe[2], reply_pipe[2];
  if (pipe2(request_pipe, O_CLOEXEC) != 0) {
    child.error = absl::StrCat("sandbox: pipe: ", strerror(errno));
    return child;
  }
  if (pipe2(reply_pipe, O_CLOEXEC) != 0) {
    child.error = absl::StrCat("sandbox: pipe: ", strerror(errno));
    close(request_pipe[0]);
    close(request_pipe[1]);
    return child;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, request_pipe[0], 0);
  posix_spawn_file_actions_adddup2(&actions, reply_pipe[1], kReplyFd);
  std::string program = binary;
  std::string flag = "--sandbox-worker";
  char* argv[] = {program.data(), flag.data(), nullptr};
  // The board blocks SIGINT/SIGTERM for its signal thread; the worker gets a clean mask, and
  // a process group of its own.
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t no_signals;
  sigemptyset(&no_signals);
  posix_spawnattr_setsigmask(&attributes, &no_signals);
  posix_spawnattr_setpgroup(&attributes, 0);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP);
  int error = posix_spawn(&child.pid, program.c_str(), &actions, &attributes, argv, environ);
  posix_spawnattr_destroy(&attributes);
  posix_spawn_file_actions_destroy(&actions);
  close(request_pipe[0]);
  close(reply_pipe[1]);
  if (error != 0) {
    child.pid = -1;
    child.error = absl::StrCat("sandbox: cannot start '", binary, "': ", strerror(error));
    close(request_pipe[1]);
    close(reply_pipe[0]);
    return child;
  }
  // The worker reads its whole request before it measures, so this write cannot deadlock
  // against its reply.
  WorkerRequest request;
  request.task = task;
  request.reference_key = reference_key;
  if (auto output = FindReferenceOutput(reference_key); output != nullptr) {
    request.reference_output.assign(reinterpret_cast<const char*>(output->data()),
                                    output->size() * sizeof(float));
  }
  request.memory_limit_bytes = memory_limit_bytes;
  signal(SIGPIPE, SIG_IGN);  // a worker that dies early must not kill the board
  WriteAll(request_pipe[1], EncodeRequest(request));
  close(request_pipe[1]);
  child.reply_fd = reply_pipe[0];
  return child;
}

enum class ReadOutcome { kResult, kEndOfStream, kGarbled, kTimedOut };

// When the board stops waiting for a worker's reply.
struct ReplyDeadlines {
  // Until the reference output is ready; for the whole reply when `after_reference` is unset.
  Clock::time_point reference;
  // Set when the worker computes the reference: from the moment it is ready, the deadline is
  // this much later.
  std::optional<Clock::duration> after_reference;
};

// Reads reply frames from `fd` into `reader` until the result is complete (not the end of
// the stream: a process the kernel left behind may hold the pipe open), the stream ends or
// is garbled, or the deadline passes.
ReadOutcome ReadReply(int fd, const ReplyDeadlines& deadlines, FrameReader* reader) {
  char buffer[1 << 16];
  Clock::time_point deadline = deadlines.reference;
  bool candidate_started = false;
  while (!reader->has_result()) {
    if (deadlines.after_reference.has_value() && !candidate_started && reader->reference_ready()) {
      deadline = Clock::now() + *deadlines.after_reference;
      candidate_started = true;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return ReadOutcome::kTimedOut;
    pollfd poll_fd{fd, POLLIN, 0};
    int ready = poll(&poll_fd, 1, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
    if (ready <= 0) continue;  // EINTR or nothing yet
    ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return ReadOutcome::kEndOfStream;  // an error too: the child's status tells
    if (!reader->Append(std::string_view(buffer, static_cast<size_t>(n)))) {
      return ReadOutcome::kGarbled;
    }
  }
  return ReadOutcome::kResult;
}

// How a worker ended: its wait status, and whether the board had to kill it.
struct Ending {
  int status = 0;
  bool killed = false;
};

// Waits for the worker to exit. Kills its process group first when `kill_now`, or once the
// worker has not exited kExitGrace after sending its result.
Ending Reap(pid_t pid, bool kill_now) {
  Ending ending;
  if (kill_now) ending.killed = kill(-pid, SIGKILL) == 0;
  const auto deadline = Clock::now() + kExitGrace;
  for (;;) {
    pid_t done = waitpid(pid, &ending.status, ending.killed ? 0 : WNOHANG);
    if (done == pid) return ending;
    if (done < 0 && errno != EINTR) return ending;
    if (!ending.killed && Clock::now() > deadline) {
      kill(-pid, SIGKILL);
      ending.killed = true;
    }
    if (!ending.killed) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

std::string SignalText(int signal_number) {
  std::string text = absl::StrCat("signal ", signal_number, " (", strsignal(signal_number), ")");
  if (signal_number == SIGSEGV || signal_number == SIGBUS) {
    absl::StrAppend(&text, ": a bad memory access (a bad pointer, or far outside its tensors)");
  }
  return text;
}

}  // namespace

uint64_t WorkerMemoryLimitBytes(const v1::MeasureTask& task, const SandboxOptions& options) {
  if (options.memory_limit_mb > 0) return static_cast<uint64_t>(options.memory_limit_mb) << 20;
  uint64_t tensor_bytes = 0;
  if (absl::StatusOr<std::vector<int64_t>> sizes = TaskTensorSizes(task); sizes.ok()) {
    for (int64_t elements : *sizes) tensor_bytes += static_cast<uint64_t>(elements) * sizeof(float);
  }
  // Thread stacks count too: the OpenMP runtime starts one thread per core.
  rlimit stack{};
  uint64_t stack_bytes = uint64_t{8} << 20;
  if (getrlimit(RLIMIT_STACK, &stack) == 0 && stack.rlim_cur != RLIM_INFINITY) {
    stack_bytes = std::min<uint64_t>(stack.rlim_cur, uint64_t{64} << 20);
  }
  const uint64_t cores = std::max(1u, std::thread::hardware_concurrency());
  return kTensorMemoryFactor * tensor_bytes + cores * stack_bytes + kBaseMemoryBytes;
}

v1::MeasureResult MeasureInSandbox(const v1::MeasureTask& task, const SandboxOptions& options) {
  const std::string reference_key = ReferenceCacheKey(task);
  const bool board_has_reference = FindReferenceOutput(reference_key) != nullptr;
  const bool computes_reference = !board_has_reference && TaskChecksOutput(task);
  const uint64_t memory_limit = WorkerMemoryLimitBytes(task, options);
  const auto start = Clock::now();
  Child child = options.worker_binary.empty()
                    ? ForkChild(task, reference_key, board_has_reference, memory_limit)
                    : SpawnWorker(options.worker_binary, task, reference_key, memory_limit);
  if (child.pid < 0) return Failure(task, v1::RUNTIME_ERROR, child.error);

  const int timeout_ms =
      task.options().timeout_ms() > 0 ? task.options().timeout_ms() : options.default_timeout_ms;
  const std::chrono::milliseconds candidate_time(timeout_ms + options.grace_ms);
  // Never below the task's timeout: a task that gives its candidate longer gives its reference
  // that too (SandboxOptions::reference_timeout_ms says why the reference has a bound of its
  // own).
  const int reference_timeout_ms = std::max(timeout_ms, options.reference_timeout_ms);
  ReplyDeadlines deadlines;
  if (computes_reference) {
    deadlines.reference =
        start + std::chrono::milliseconds(reference_timeout_ms + options.grace_ms);
    deadlines.after_reference = candidate_time;
  } else {
    deadlines.reference = start + candidate_time;
  }
  uint64_t output_bytes = 0;
  if (auto sizes = TaskTensorSizes(task); sizes.ok()) output_bytes = sizes->back() * sizeof(float);
  const uint64_t candidates = static_cast<uint64_t>(task.candidates_size());
  const uint64_t costs_bytes =
      16 * static_cast<uint64_t>(std::max(3, task.options().repeat())) +
      candidates *
          (kCandidateReplyBytes + 16 * static_cast<uint64_t>(std::max(0, TaskRounds(task))));
  FrameReader reader(kReplyOverheadBytes + costs_bytes + reference_key.size() + output_bytes);
  const ReadOutcome outcome = ReadReply(child.reply_fd, deadlines, &reader);
  close(child.reply_fd);
  const Ending ending = Reap(child.pid, /*kill_now=*/outcome != ReadOutcome::kResult);
  const int status = ending.status;
  // Whatever is left in the worker's group was started by the kernel and outlived it.
  const bool left_processes = kill(-child.pid, SIGKILL) == 0;

  const bool in_reference = computes_reference && !reader.reference_ready();
  // In a multi-candidate task, which candidate the worker was at: " during the multi-candidate
  // task, in candidates[1] (of 3) ...".
  const std::string where =
      task.candidates().empty()
          ? std::string()
          : absl::StrCat(" ", DescribeCandidateProgress(reader.candidate_progress(), task));
  if (outcome == ReadOutcome::kTimedOut) {
    if (in_reference) {
      return Failure(
          task, v1::REJECTED,
          absl::StrCat("reference: the reference kernel did not finish within ",
                       reference_timeout_ms, " ms (+", options.grace_ms,
                       " ms grace), this board's bound for a reference run (fleettune-rpc-server "
                       "--reference-timeout-ms); the candidate was not run. Use a faster "
                       "reference or raise the board's --reference-timeout-ms"));
    }
    return Failure(
        task, v1::TIMEOUT,
        absl::StrCat("no result within ", timeout_ms, " ms (+", options.grace_ms, " ms grace)",
                     computes_reference ? " of the reference output being ready" : "", where,
                     "; the kernel was killed"));
  }
  if (outcome == ReadOutcome::kGarbled) {
    return Failure(task, v1::RUNTIME_ERROR,
                   absl::StrCat("the measuring process's reply was garbled (", reader.error(),
                                "): the kernel wrote to the sandbox's result pipe"));
  }
  if (outcome == ReadOutcome::kEndOfStream) {
    if (WIFSIGNALED(status)) {
      std::string crash = SignalText(WTERMSIG(status));
      if (const GuardPageHit& hit = reader.guard_page_hit();
          hit.tensor >= 0 && hit.tensor < task.tensors_size()) {
        crash = absl::StrCat(
            "signal ", WTERMSIG(status), " (", strsignal(WTERMSIG(status)),
            "): it wrote outside tensor ", hit.tensor, " (", task.tensors(hit.tensor).name(), "), ",
            hit.offset < 0 ? -hit.offset : hit.offset, " bytes ",
            hit.offset < 0 ? "before its start" : "past its end", ", onto its guard pages");
      }
      if (in_reference) {
        return Failure(task, v1::REJECTED,
                       absl::StrCat("reference: the reference kernel crashed: ", crash,
                                    "; the candidate was not run"));
      }
      return Failure(task, v1::RUNTIME_ERROR,
                     absl::StrCat("the kernel crashed", where, ": ", crash));
    }
    return Failure(
        task, v1::RUNTIME_ERROR,
        absl::StrCat("the measuring process ended without a result (exit status ",
                     WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                     reader.pending_bytes() > 0 ? ", its reply cut short" : "", ")", where));
  }

  std::string_view rest = reader.result();
  std::string_view result_bytes;
  v1::MeasureResult result;
  if (!TakeSized(&rest, &result_bytes) ||
      !result.ParseFromArray(result_bytes.data(), static_cast<int>(result_bytes.size())) ||
      !v1::MeasureStatus_IsValid(result.status()) ||
      result.status() == v1::MEASURE_STATUS_UNSPECIFIED) {
    return Failure(task, v1::RUNTIME_ERROR,
                   "the measuring process's reply was garbled (its result does not parse)");
  }
  // The board, not the worker, says which task this is.
  result.set_task_id(task.task_id());
  result.set_client_tag(task.client_tag());
  result.set_device_key(task.device_key());
  if (ending.killed) {
    return Failure(task, v1::RUNTIME_ERROR,
                   absl::StrCat("the measuring process did not exit within ",
                                std::chrono::seconds(kExitGrace).count(),
                                " s of sending its result (the kernel kept it alive); killed"));
  }
  if (WIFSIGNALED(status)) {
    return Failure(task, v1::RUNTIME_ERROR,
                   absl::StrCat("the measuring process crashed after its result: ",
                                SignalText(WTERMSIG(status))));
  }
  if (left_processes) {
    return Failure(task, v1::RUNTIME_ERROR,
                   "the kernel left processes running after it returned (they were killed)");
  }
  std::string_view key, values;
  if (TakeSized(&rest, &key) && TakeSized(&rest, &values) && key == reference_key &&
      values.size() == output_bytes) {
    std::vector<float> output(values.size() / sizeof(float));
    std::memcpy(output.data(), values.data(), output.size() * sizeof(float));
    StoreReferenceOutput(std::string(key), std::move(output));
  }
  return result;
}

}  // namespace fleettune::rpc_server
