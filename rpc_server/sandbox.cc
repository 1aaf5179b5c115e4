#include "rpc_server/sandbox.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "rpc_server/measure.h"

extern char** environ;

namespace fleettune::rpc_server {
namespace {

using Clock = std::chrono::steady_clock;

// Both directions are sequences of [u64 size][bytes] fields.
// Request (worker only): the MeasureTask, the reference cache key, the cached reference
// output (empty when the board has none). Reply: the MeasureResult, then, when the child
// computed a reference output the board did not have, the key and the output.
constexpr int kReplyFd = 3;

void AppendSized(std::string* out, const void* data, uint64_t size) {
  out->append(reinterpret_cast<const char*>(&size), sizeof(size));
  out->append(static_cast<const char*>(data), size);
}

bool TakeSized(std::string_view* message, std::string_view* field) {
  uint64_t size = 0;
  if (message->size() < sizeof(size)) return false;
  std::memcpy(&size, message->data(), sizeof(size));
  message->remove_prefix(sizeof(size));
  if (message->size() < size) return false;
  *field = message->substr(0, size);
  message->remove_prefix(size);
  return true;
}

bool WriteAll(int fd, std::string_view bytes) {
  size_t written = 0;
  while (written < bytes.size()) {
    ssize_t n = write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    written += static_cast<size_t>(n);
  }
  return true;
}

bool ReadAll(int fd, std::string* out) {
  char buffer[1 << 16];
  for (;;) {
    ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) return true;
    out->append(buffer, static_cast<size_t>(n));
  }
}

// Measures in this (child) process and builds the reply.
std::string MeasureAndReply(const v1::MeasureTask& task, const std::string& reference_key,
                            bool board_has_reference) {
  std::string reply;
  std::string result = MeasureTask(task).SerializeAsString();
  AppendSized(&reply, result.data(), result.size());
  if (!board_has_reference) {
    if (auto output = FindReferenceOutput(reference_key); output != nullptr) {
      AppendSized(&reply, reference_key.data(), reference_key.size());
      AppendSized(&reply, output->data(), output->size() * sizeof(float));
    }
  }
  return reply;
}

// Reads `fd` to its end or until `deadline`; false on timeout.
bool ReadUntil(int fd, Clock::time_point deadline, std::string* out) {
  char buffer[1 << 16];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd poll_fd{fd, POLLIN, 0};
    int ready = poll(&poll_fd, 1, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return true;  // end of stream (or an error: the child's status tells)
    out->append(buffer, static_cast<size_t>(n));
  }
}

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

// A child started with its reply pipe; pid < 0 and `error` set when it could not start.
struct Child {
  pid_t pid = -1;
  int reply_fd = -1;
  std::string error;
};

Child ForkChild(const v1::MeasureTask& task, const std::string& reference_key,
                bool board_has_reference) {
  Child child;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    child.error = absl::StrCat("sandbox: pipe: ", strerror(errno));
    return child;
  }
  child.pid = fork();
  if (child.pid == 0) {
    close(fds[0]);
    _exit(WriteAll(fds[1], MeasureAndReply(task, reference_key, board_has_reference)) ? 0 : 3);
  }
  close(fds[1]);
  if (child.pid < 0) {
    child.error = absl::StrCat("sandbox: fork: ", strerror(errno));
    close(fds[0]);
    return child;
  }
  child.reply_fd = fds[0];
  return child;
}

Child SpawnWorker(const std::string& binary, const v1::MeasureTask& task,
                  const std::string& reference_key) {
  Child child;
  int request[2], reply[2];
  if (pipe2(request, O_CLOEXEC) != 0) {
    child.error = absl::StrCat("sandbox: pipe: ", strerror(errno));
    return child;
  }
  if (pipe2(reply, O_CLOEXEC) != 0) {
    child.error = absl::StrCat("sandbox: pipe: ", strerror(errno));
    close(request[0]);
    close(request[1]);
    return child;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, request[0], 0);
  posix_spawn_file_actions_adddup2(&actions, reply[1], kReplyFd);
  std::string program = binary;
  std::string flag = "--sandbox-worker";
  char* argv[] = {program.data(), flag.data(), nullptr};
  // The board blocks SIGINT/SIGTERM for its signal thread; the worker gets a clean mask.
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t no_signals;
  sigemptyset(&no_signals);
  posix_spawnattr_setsigmask(&attributes, &no_signals);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK);
  int error = posix_spawn(&child.pid, program.c_str(), &actions, &attributes, argv, environ);
  posix_spawnattr_destroy(&attributes);
  posix_spawn_file_actions_destroy(&actions);
  close(request[0]);
  close(reply[1]);
  if (error != 0) {
    child.pid = -1;
    child.error = absl::StrCat("sandbox: cannot start '", binary, "': ", strerror(error));
    close(request[1]);
    close(reply[0]);
    return child;
  }
  // The worker reads its whole request before it measures, so this write cannot deadlock
  // against its reply.
  std::string message;
  std::string task_bytes = task.SerializeAsString();
  AppendSized(&message, task_bytes.data(), task_bytes.size());
  AppendSized(&message, reference_key.data(), reference_key.size());
  auto output = FindReferenceOutput(reference_key);
  AppendSized(&message, output ? output->data() : nullptr,
              output ? output->size() * sizeof(float) : 0);
  signal(SIGPIPE, SIG_IGN);  // a worker that dies early must not kill the board
  WriteAll(request[1], message);
  close(request[1]);
  child.reply_fd = reply[0];
  return child;
}

}  // namespace

v1::MeasureResult MeasureInSandbox(const v1::MeasureTask& task, const SandboxOptions& options) {
  const std::string reference_key = ReferenceCacheKey(task);
  const bool board_has_reference = FindReferenceOutput(reference_key) != nullptr;
  const auto start = Clock::now();
  Child child = options.worker_binary.empty()
                    ? ForkChild(task, reference_key, board_has_reference)
                    : SpawnWorker(options.worker_binary, task, reference_key);
  if (child.pid < 0) return Failure(task, v1::RUNTIME_ERROR, child.error);

  const int timeout_ms =
      task.options().timeout_ms() > 0 ? task.options().timeout_ms() : options.default_timeout_ms;
  const auto deadline = start + std::chrono::milliseconds(timeout_ms + options.grace_ms);
  std::string message;
  const bool finished = ReadUntil(child.reply_fd, deadline, &message);
  close(child.reply_fd);
  if (!finished) kill(child.pid, SIGKILL);
  int status = 0;
  while (waitpid(child.pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!finished) {
    return Failure(task, v1::TIMEOUT,
                   absl::StrCat("no result within ", timeout_ms, " ms (+", options.grace_ms,
                                " ms grace); the kernel was killed"));
  }
  if (WIFSIGNALED(status)) {
    const int signal_number = WTERMSIG(status);
    return Failure(task, v1::RUNTIME_ERROR,
                   absl::StrCat("the kernel crashed: signal ", signal_number, " (",
                                strsignal(signal_number), ")"));
  }
  std::string_view rest = message;
  std::string_view result_bytes;
  v1::MeasureResult result;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !TakeSized(&rest, &result_bytes) ||
      !result.ParseFromArray(result_bytes.data(), static_cast<int>(result_bytes.size()))) {
    return Failure(task, v1::RUNTIME_ERROR,
                   absl::StrCat("the measuring process ended without a result (exit status ",
                                WIFEXITED(status) ? WEXITSTATUS(status) : -1, ")"));
  }
  std::string_view key, values;
  if (TakeSized(&rest, &key) && TakeSized(&rest, &values) && key == reference_key) {
    std::vector<float> output(values.size() / sizeof(float));
    std::memcpy(output.data(), values.data(), output.size() * sizeof(float));
    StoreReferenceOutput(std::string(key), std::move(output));
  }
  return result;
}

int RunSandboxWorker() {
  std::string request;
  if (!ReadAll(0, &request)) return 4;
  std::string_view rest = request, task_bytes, key, values;
  v1::MeasureTask task;
  if (!TakeSized(&rest, &task_bytes) || !TakeSized(&rest, &key) || !TakeSized(&rest, &values) ||
      !task.ParseFromArray(task_bytes.data(), static_cast<int>(task_bytes.size()))) {
    return 5;
  }
  const bool board_has_reference = !values.empty();
  if (board_has_reference) {
    std::vector<float> output(values.size() / sizeof(float));
    std::memcpy(output.data(), values.data(), output.size() * sizeof(float));
    StoreReferenceOutput(std::string(key), std::move(output));
  }
  return WriteAll(kReplyFd, MeasureAndReply(task, std::string(key), board_has_reference)) ? 0 : 3;
}

}  // namespace fleettune::rpc_server
