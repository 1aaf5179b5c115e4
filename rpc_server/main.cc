// fleettune-rpc-server: the board runtime. Connects out to a tracker, registers under a
// device key, and measures the kernels it is sent until the tracker closes the stream or
// the process gets SIGINT/SIGTERM.
//
// Exit codes: 0 clean stop, 1 runtime failure (tracker unreachable, stream broken),
// 2 bad usage, a token the tracker refuses, or a TLS mistake that lasted --tls-error-timeout-s.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "rpc_server/board.h"
#include "rpc_server/board_flags.h"
#include "rpc_server/device.h"
#include "rpc_server/grpc_log.h"
#include "rpc_server/log.h"
#include "rpc_server/sandbox.h"

namespace fleettune::rpc_server {
namespace {

constexpr std::chrono::milliseconds kFirstBackoff(500);
constexpr std::chrono::milliseconds kMaxBackoff(30000);

// A usage mistake: the message, then the usage text (not a log line: the board never ran).
int UsageError(absl::string_view message) {
  std::fprintf(stderr, "fleettune-rpc-server: %s\n\n%s", std::string(message).c_str(), kBoardUsage);
  return 2;
}

// Writes each problem once while it lasts: a board retrying a tracker meets the same one on
// every attempt. `note` (e.g. when it reconnects) is written with it but not compared.
class ProblemLog {
 public:
  void Write(LogLevel level, const std::string& problem, const std::string& note = "") {
    absl::MutexLock lock(&mu_);
    if (problem == last_) return;
    last_ = problem;
    Log(level, problem + note);
  }

 private:
  absl::Mutex mu_;
  std::string last_ ABSL_GUARDED_BY(mu_);
};

// Whether the board's --parent-pid process has exited (the board was reparented); says so.
// A local board of `fleettune tune` must not outlive it, however the tuner dies. Polled
// rather than PR_SET_PDEATHSIG, which fires when the forking *thread* exits and misses a
// parent that died before it was set.
bool ParentGone(pid_t parent_pid) {
  if (parent_pid == 0 || getppid() == parent_pid) return false;
  Log(LogLevel::kWarn, absl::StrCat("parent process ", parent_pid, " has exited; stopping"));
  return true;
}

// Makes the --device's device; its exit code when that fails (2: usage, 1: at run time).
int AttachDevice(BoardCommandLine& command_line) {
  if (command_line.device.kind == "cpu") return 0;  // the board's own CpuDevice
  absl::StatusOr<std::shared_ptr<Device>> device = CreateDevice(command_line.device);
  if (device.ok()) {
    command_line.board.device = *device;
    return 0;
  }
  if (device.status().code() == absl::StatusCode::kInvalidArgument ||
      device.status().code() == absl::StatusCode::kUnimplemented) {
    return UsageError(device.status().message());
  }
  Log(LogLevel::kError, device.status().ToString());
  return 1;
}

// Stops a board on SIGINT/SIGTERM, or when its --parent-pid exits, from threads of its own.
// The constructor blocks the signals in the calling thread, so every thread started after it
// (gRPC's) inherits the mask and only the watcher's sigwait takes them.
class StopWatch {
 public:
  explicit StopWatch(pid_t parent_pid) : parent_pid_(parent_pid) {
    sigemptyset(&signals_);
    sigaddset(&signals_, SIGINT);
    sigaddset(&signals_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals_, nullptr);
  }

  // Starts watching for what stops `board`, which must outlive Finish().
  void Start(Board& board) {
    board_ = &board;
    signal_thread_ = std::thread([this] {
      int signal_number = 0;
      sigwait(&signals_, &signal_number);
      Stop();
    });
    if (parent_pid_ != 0) parent_thread_ = std::thread([this] { WatchParent(); });
  }

  // Ends both threads; call once, after the board's last Run().
  void Finish() {
    finished_ = true;
    if (parent_thread_.joinable()) parent_thread_.join();
    // Wake the signal thread if no signal came; Stop() after Run() returned is harmless.
    pthread_kill(signal_thread_.native_handle(), SIGTERM);
    signal_thread_.join();
  }

  bool stopping() const { return stopping_; }

 private:
  void Stop() {
    stopping_ = true;
    board_->Stop();
  }
  void WatchParent() {
    while (!finished_) {
      if (ParentGone(parent_pid_)) return Stop();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  const pid_t parent_pid_;
  Board* board_ = nullptr;  // set by Start
  sigset_t signals_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> finished_{false};
  std::thread signal_thread_;
  std::thread parent_thread_;
};

// Whether a stopped session's `status` ends the board: a refused token, or a TLS mistake
// that lasted --tls-error-timeout-s, which retrying cannot fix.
bool Unfixable(const absl::Status& status) {
  return status.code() == absl::StatusCode::kUnauthenticated ||
         status.code() == absl::StatusCode::kFailedPrecondition;
}

// Serves; when the tracker goes away (restart, network loss, it dropped this board), connects
// again with exponential backoff, unless `reconnect` is false, a stop, or an Unfixable status.
// Returns the last session's status (OK after a stop).
absl::Status ServeWithReconnects(Board& board, bool reconnect, const StopWatch& stop,
                                 ProblemLog& problems) {
  std::chrono::milliseconds backoff = kFirstBackoff;
  while (true) {
    const auto session_start = std::chrono::steady_clock::now();
    absl::Status status = board.Run();
    if (stop.stopping()) return absl::OkStatus();
    if (!reconnect || Unfixable(status)) return status;
    if (std::chrono::steady_clock::now() - session_start > kMaxBackoff) backoff = kFirstBackoff;
    problems.Write(
        LogLevel::kWarn,
        status.ok() ? "the tracker closed the connection" : std::string(status.message()),
        absl::StrFormat("; reconnecting in %.1f s", backoff.count() / 1000.0));
    for (auto slept = std::chrono::milliseconds(0); slept < backoff && !stop.stopping();
         slept += std::chrono::milliseconds(50)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (stop.stopping()) return absl::OkStatus();
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
}

// The exit code for the board's final status, after saying why it failed.
int ExitCode(const absl::Status& status, int tls_error_timeout_s) {
  if (status.ok()) return 0;
  if (status.code() == absl::StatusCode::kFailedPrecondition) {
    Log(LogLevel::kError,
        absl::StrCat("giving up after ", tls_error_timeout_s, " s: ", status.message()));
    return 2;
  }
  Log(LogLevel::kError, status.ToString());
  return status.code() == absl::StatusCode::kUnauthenticated ? 2 : 1;
}

// Runs the board until it stops; returns the exit code.
int RunBoard(BoardCommandLine& command_line) {
  // The board says why it cannot connect in its own words (connect_diagnosis.h), once per
  // problem, instead of gRPC's handshake errors on every attempt.
  LeaveTlsHandshakeErrorsToDiagnosis();
  ProblemLog problems;
  const int tls_error_timeout_s = command_line.board.tls_error_timeout_ms / 1000;
  command_line.board.on_connect_error = [&](const std::string& problem, bool retrying_can_fix) {
    if (retrying_can_fix) return problems.Write(LogLevel::kWarn, problem);
    problems.Write(LogLevel::kError, problem,
                   absl::StrCat("; retrying cannot fix this: exiting with status 2 if it lasts ",
                                tls_error_timeout_s, " s"));
  };
  StopWatch stop(command_line.parent_pid);
  Board board(command_line.board);
  stop.Start(board);
  const absl::Status status = ServeWithReconnects(board, command_line.reconnect, stop, problems);
  stop.Finish();
  return ExitCode(status, tls_error_timeout_s);
}

}  // namespace
}  // namespace fleettune::rpc_server

int main(int argc, char** argv) {
  namespace rpc = fleettune::rpc_server;
  if (argc == 2 && std::string(argv[1]) == "--sandbox-worker") {
    return rpc::RunSandboxWorker();  // one measurement, for the board
  }
  absl::StatusOr<rpc::BoardCommandLine> command_line = rpc::ParseBoardCommandLine(argc, argv);
  if (!command_line.ok()) return rpc::UsageError(command_line.status().message());
  if (command_line->help) {
    std::fputs(rpc::kBoardUsage, stdout);
    return 0;
  }
  rpc::SetLogLevel(command_line->log_level);
  if (const int failed = rpc::AttachDevice(*command_line); failed != 0) return failed;
  if (rpc::ParentGone(command_line->parent_pid)) return 0;
  const int exit_code = rpc::RunBoard(*command_line);
  // Leave without running static destructors: gRPC's own threads may still be tearing down
  // the last channels (a failed TLS handshake, the probe that named it), and destroying its
  // globals under them crashed the board now and then on its way out (exit by a signal
  // instead of the code an init system acts on). Nothing here needs flushing but stdio.
  std::fflush(nullptr);
  std::_Exit(exit_code);
}
