#include "rpc_server/sandbox.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "rpc_server/measure.h"

namespace fleettune::rpc_server {
namespace {

using Clock = std::chrono::steady_clock;

// The child's message: [u64 size][MeasureResult] then, when it computed a reference output
// the board did not have, [u64 size][cache key][u64 count][float32 values].
void AppendSized(std::string* out, const void* data, uint64_t size) {
  out->append(reinterpret_cast<const char*>(&size), sizeof(size));
  out->append(static_cast<const char*>(data), size);
}

bool WriteAll(int fd, const std::string& bytes) {
  size_t written = 0;
  while (written < bytes.size()) {
    ssize_t n = write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    written += static_cast<size_t>(n);
  }
  return true;
}

[[noreturn]] void RunChild(const v1::MeasureTask& task, const std::string& reference_key,
                           bool board_has_reference, int fd) {
  std::string message;
  std::string result = MeasureTask(task).SerializeAsString();
  AppendSized(&message, result.data(), result.size());
  if (!board_has_reference) {
    if (auto output = FindReferenceOutput(reference_key); output != nullptr) {
      AppendSized(&message, reference_key.data(), reference_key.size());
      AppendSized(&message, output->data(), output->size() * sizeof(float));
    }
  }
  _exit(WriteAll(fd, message) ? 0 : 3);
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

// Splits off one [u64 size][bytes] field from the front of `message`.
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

}  // namespace

v1::MeasureResult MeasureInSandbox(const v1::MeasureTask& task, const SandboxOptions& options) {
  const std::string reference_key = ReferenceCacheKey(task);
  const bool board_has_reference = FindReferenceOutput(reference_key) != nullptr;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    return Failure(task, v1::RUNTIME_ERROR, absl::StrCat("sandbox: pipe: ", strerror(errno)));
  }
  const pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return Failure(task, v1::RUNTIME_ERROR, absl::StrCat("sandbox: fork: ", strerror(errno)));
  }
  if (pid == 0) {
    close(fds[0]);
    RunChild(task, reference_key, board_has_reference, fds[1]);
  }
  close(fds[1]);

  const int timeout_ms =
      task.options().timeout_ms() > 0 ? task.options().timeout_ms() : options.default_timeout_ms;
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms + options.grace_ms);
  std::string message;
  const bool finished = ReadUntil(fds[0], deadline, &message);
  close(fds[0]);
  if (!finished) kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
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

}  // namespace fleettune::rpc_server
