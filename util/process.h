// Starting and stopping child processes: the one posix_spawn path that the embedded fleet
// (`fleettune tune` without --tracker starts local boards) and the tests (which run the real
// binaries) share. The board's sandbox worker does not use it: it needs pipes on fixed
// descriptors, its own process group and a clean signal mask (rpc_server/sandbox.cc).
#ifndef FLEETTUNE_UTIL_PROCESS_H_
#define FLEETTUNE_UTIL_PROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace fleettune::util {

struct SpawnOptions {
  // The child's environment as NAME=VALUE strings; the caller's own when nullopt.
  std::optional<std::vector<std::string>> environment;
  // Files the child's stdout and stderr go to (created or truncated); when empty, the child
  // shares the caller's. Redirecting either also reads stdin from /dev/null.
  std::string stdout_path;
  std::string stderr_path;
};

// Starts `argv` (argv[0] is the program, looked up in PATH when it has no '/') and returns
// its pid; the caller reaps it (waitpid or StopProcess). An empty `argv`, or a program that
// cannot be started, gives an error whose message is the reason alone (strerror's text), so
// the caller names what it was starting. Thread-safe.
absl::StatusOr<pid_t> SpawnProcess(const std::vector<std::string>& argv,
                                   const SpawnOptions& options = {});

// Sends `pid` SIGTERM, waits up to `grace` for it to exit, then sends SIGKILL; reaps it
// either way. Thread-safe.
void StopProcess(pid_t pid, std::chrono::milliseconds grace);

}  // namespace fleettune::util

#endif  // FLEETTUNE_UTIL_PROCESS_H_
