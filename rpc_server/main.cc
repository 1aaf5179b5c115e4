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
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "net/host_port.h"
#include "rpc_server/board.h"
#include "rpc_server/device.h"
#include "rpc_server/grpc_log.h"
#include "rpc_server/sandbox.h"

namespace {

constexpr char kUsage[] =
    "usage: fleettune-rpc-server --tracker HOST:PORT --key KEY\n"
    "\n"
    "Runs a board: connects to the tracker, registers under KEY and measures the kernels\n"
    "it is sent, until SIGINT/SIGTERM. When the tracker goes away it connects again, with\n"
    "backoff from 0.5 s up to 30 s.\n"
    "\n"
    "  --tracker HOST:PORT   address of the fleettune tracker (required)\n"
    "  --key KEY             device key this board serves, e.g. rk3399 (required)\n"
    "  --token-file FILE     the tracker's board token (default: $FLEETTUNE_BOARD_TOKEN)\n"
    "  --tls-ca FILE         PEM CA certificates: speak TLS, and take work only from a\n"
    "                        tracker whose certificate they vouch for\n"
    "  --tls-error-timeout-s N  exit with status 2 when a TLS mistake retrying cannot fix\n"
    "                        (untrusted or misnamed certificate, TLS on one side only)\n"
    "                        lasts N seconds (default 30)\n"
    "  --parent-pid PID      exit when process PID is no longer this board's parent (the\n"
    "                        local boards of `fleettune tune` die with it)\n"
    "  --simulate-ms N       a simulated board for scale tests: runs no code, answers every\n"
    "                        task OK after N ms with a synthetic cost\n"
    "  --no-reconnect        exit when the tracker goes away instead of connecting again\n"
    "  --no-sandbox          measure in this process instead of a child per task (debugging:\n"
    "                        a crashing kernel then takes the board down)\n"
    "  --emulated            register as an emulated board (e.g. under qemu-user): results\n"
    "                        stay checked, but timings say nothing about real hardware\n"
    "  --sandbox-worker-binary FILE\n"
    "                        program started as `FILE --sandbox-worker` for each task\n"
    "                        (default: this binary; under qemu-user, a host wrapper that\n"
    "                        runs it through qemu, see deploy/boards/qemu-aarch64.sh)\n"
    "  --worker-memory-mb N  the most memory one measurement may allocate, in MiB; over it\n"
    "                        an allocation fails and the task is RUNTIME_ERROR (default: 4 x\n"
    "                        the task's tensors + 8 MiB stack per core + 256 MiB)\n"
    "  --reference-timeout-ms N\n"
    "                        the most a reference kernel may run, in ms, before its output is\n"
    "                        cached on this board (once per workload); never less than the\n"
    "                        task's timeout_ms, which then counts from the reference's end.\n"
    "                        Past it the task is REJECTED (default 120000)\n"
    "  --device KIND         where kernels run: cpu (default), opencl (an OpenCL device;\n"
    "                        artifacts are OpenCL C from an `opencl` target), hexagon (a stub\n"
    "                        until a vendor runtime is linked, see rpc_server/device.h)\n"
    "  --opencl-device N     with --device opencl: device index on the platform (default 0)\n"
    "  --opencl-platform NAME  with --device opencl: platform whose name contains NAME\n"
    "  --help                show this message\n";

constexpr std::chrono::milliseconds kFirstBackoff(500);
constexpr std::chrono::milliseconds kMaxBackoff(30000);

int UsageError(const std::string& message) {
  std::fprintf(stderr, "fleettune-rpc-server: %s\n\n%s", message.c_str(), kUsage);
  return 2;
}

// Writes each problem once while it lasts: a board retrying a tracker meets the same one on
// every attempt. `note` (e.g. when it reconnects) is written with it but not compared.
class ProblemLog {
 public:
  void Write(const std::string& problem, const std::string& note = "") {
    absl::MutexLock lock(&mu_);
    if (problem == last_) return;
    last_ = problem;
    std::fprintf(stderr, "fleettune-rpc-server: %s%s\n", problem.c_str(), note.c_str());
  }

 private:
  absl::Mutex mu_;
  std::string last_ ABSL_GUARDED_BY(mu_);
};

// A positive integer flag value no larger than `max`; -1 when it is not one.
long PositiveInteger(const std::string& value, long max) {
  char* end = nullptr;
  const long number = std::strtol(value.c_str(), &end, 10);
  return *end != '\0' || number <= 0 || number > max ? -1 : number;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::string(argv[1]) == "--sandbox-worker") {
    return fleettune::rpc_server::RunSandboxWorker();  // one measurement, for the board
  }
  fleettune::rpc_server::BoardOptions options;
  bool reconnect = true;
  std::string token_file;
  fleettune::rpc_server::DeviceOptions device_options;
  pid_t parent_pid = 0;  // --parent-pid; 0: none
  // Each task is measured by a fresh process of this binary (see sandbox.h).
  char self[4096];
  if (ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1); n > 0) {
    options.sandbox_worker_binary.assign(self, n);
  }
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (arg == "--no-reconnect") {
      reconnect = false;
      continue;
    }
    if (arg == "--no-sandbox") {
      options.sandbox = false;
      continue;
    }
    if (arg == "--emulated") {
      options.emulated = true;
      continue;
    }
    std::string name = arg;
    std::string value;
    bool has_value = false;
    if (const size_t eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      has_value = true;
    }
    if (name != "--tracker" && name != "--key" && name != "--token-file" &&
        name != "--simulate-ms" && name != "--tls-ca" && name != "--sandbox-worker-binary" &&
        name != "--device" && name != "--opencl-device" && name != "--opencl-platform" &&
        name != "--tls-error-timeout-s" && name != "--parent-pid" && name != "--worker-memory-mb" &&
        name != "--reference-timeout-ms") {
      return UsageError("unknown argument " + arg);
    }
    if (!has_value) {
      if (i + 1 >= argc) return UsageError(name + " needs a value");
      value = argv[++i];
    }
    if (value.empty()) return UsageError(name + " must not be empty");
    if (name == "--device") {
      device_options.kind = value;
    } else if (name == "--opencl-device") {
      char* end = nullptr;
      const long index = std::strtol(value.c_str(), &end, 10);
      if (*end != '\0' || index < 0 || index > 64) {
        return UsageError("--opencl-device must be an integer in [0, 64], got " + value);
      }
      device_options.opencl_device = static_cast<int>(index);
    } else if (name == "--worker-memory-mb") {
      char* end = nullptr;
      const long mb = std::strtol(value.c_str(), &end, 10);
      if (*end != '\0' || mb < 16 || mb > (1 << 24)) {
        return UsageError("--worker-memory-mb must be a number of MiB in [16, 16777216], got " +
                          value);
      }
      options.worker_memory_mb = static_cast<int>(mb);
    } else if (name == "--reference-timeout-ms") {
      char* end = nullptr;
      const long ms = std::strtol(value.c_str(), &end, 10);
      if (*end != '\0' || ms < 100 || ms > 86400000) {
        return UsageError(
            "--reference-timeout-ms must be a number of milliseconds in [100, 86400000], got " +
            value);
      }
      options.reference_timeout_ms = static_cast<int>(ms);
    } else if (name == "--opencl-platform") {
      device_options.opencl_platform = value;
    } else if (name == "--token-file") {
      token_file = value;
    } else if (name == "--sandbox-worker-binary") {
      if (access(value.c_str(), X_OK) != 0) {
        return UsageError("--sandbox-worker-binary " + value + " is not an executable file");
      }
      options.sandbox_worker_binary = value;
    } else if (name == "--tls-ca") {
      std::ifstream in(value);
      options.tls_ca_pem.assign(std::istreambuf_iterator<char>(in),
                                std::istreambuf_iterator<char>());
      if (!in && !in.eof()) return UsageError("cannot read --tls-ca " + value);
      if (options.tls_ca_pem.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
        return UsageError("--tls-ca " + value + " holds no PEM certificate");
      }
    } else if (name == "--tls-error-timeout-s") {
      const long seconds = PositiveInteger(value, 3600);
      if (seconds < 0) {
        return UsageError("--tls-error-timeout-s must be a number of seconds in [1, 3600], got " +
                          value);
      }
      options.tls_error_timeout_ms = static_cast<int>(seconds * 1000);
    } else if (name == "--parent-pid") {
      const long pid = PositiveInteger(value, 1L << 30);
      if (pid < 0) return UsageError("--parent-pid must be a process id, got " + value);
      parent_pid = static_cast<pid_t>(pid);
    } else if (name == "--simulate-ms") {
      char* end = nullptr;
      const long ms = std::strtol(value.c_str(), &end, 10);
      if (*end != '\0' || ms <= 0 || ms > 3600000) {
        return UsageError("--simulate-ms must be a positive number of milliseconds, got " + value);
      }
      options.simulate_ms = static_cast<int>(ms);
    } else {
      (name == "--tracker" ? options.tracker_address : options.key) = value;
    }
  }
  if (options.tracker_address.empty()) return UsageError("--tracker is required");
  absl::StatusOr<fleettune::net::HostPort> tracker = fleettune::net::ParseHostPort(
      "--tracker", options.tracker_address, fleettune::net::PortZero::kRefused);
  if (!tracker.ok()) return UsageError(std::string(tracker.status().message()));
  options.tracker_address = tracker->ToString();
  if (options.key.empty()) return UsageError("--key is required");
  if (device_options.kind != "cpu") {
    absl::StatusOr<std::shared_ptr<fleettune::rpc_server::Device>> device =
        fleettune::rpc_server::CreateDevice(device_options);
    if (!device.ok()) {
      if (device.status().code() == absl::StatusCode::kInvalidArgument ||
          device.status().code() == absl::StatusCode::kUnimplemented) {
        return UsageError(std::string(device.status().message()));
      }
      std::fprintf(stderr, "fleettune-rpc-server: %s\n", device.status().ToString().c_str());
      return 1;
    }
    options.device = *device;
  }
  if (!token_file.empty()) {
    std::ifstream in(token_file);
    std::string token((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back())))
      token.pop_back();
    if (!in && !in.eof()) return UsageError("cannot read --token-file " + token_file);
    if (token.empty()) return UsageError("--token-file " + token_file + " is empty");
    options.token = token;
  } else if (const char* env = std::getenv("FLEETTUNE_BOARD_TOKEN"); env != nullptr) {
    options.token = env;
  }

  // A local board of `fleettune tune` must not outlive it, however the tuner dies: a board
  // whose parent is gone has been reparented, so getppid() changes. Polled (here and in a
  // thread below) rather than PR_SET_PDEATHSIG, which fires when the forking *thread* exits
  // and misses a parent that died before it was set.
  if (parent_pid != 0 && getppid() != parent_pid) {
    std::fprintf(stderr, "fleettune-rpc-server: parent process %d has exited; stopping\n",
                 static_cast<int>(parent_pid));
    return 0;
  }
  // The board says why it cannot connect in its own words (connect_diagnosis.h), once per
  // problem, instead of gRPC's handshake errors on every attempt.
  fleettune::rpc_server::LeaveTlsHandshakeErrorsToDiagnosis();
  ProblemLog problems;
  const int tls_error_timeout_s = options.tls_error_timeout_ms / 1000;
  options.on_connect_error = [&](const std::string& problem, bool retrying_can_fix) {
    problems.Write(problem, retrying_can_fix
                                ? std::string()
                                : "; retrying cannot fix this: exiting with status 2 if it lasts " +
                                      std::to_string(tls_error_timeout_s) + " s");
  };

  // SIGINT/SIGTERM are taken by a dedicated thread (blocked everywhere else, so every thread
  // gRPC starts inherits the mask) that stops the board.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  fleettune::rpc_server::Board board(options);
  std::atomic<bool> stopping{false};
  std::thread signal_thread([&] {
    int signal_number = 0;
    sigwait(&signals, &signal_number);
    stopping = true;
    board.Stop();
  });
  std::atomic<bool> finished{false};
  std::thread parent_watch([&] {
    while (parent_pid != 0 && !finished) {
      if (getppid() != parent_pid) {
        std::fprintf(stderr, "fleettune-rpc-server: parent process %d has exited; stopping\n",
                     static_cast<int>(parent_pid));
        stopping = true;
        board.Stop();
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });

  // Serve; when the tracker goes away (restart, network loss, it dropped this board), connect
  // again with exponential backoff, unless --no-reconnect, a stop signal, or a mistake that
  // retrying cannot fix (a refused token; a TLS mistake that lasted --tls-error-timeout-s).
  absl::Status status;
  std::chrono::milliseconds backoff = kFirstBackoff;
  while (true) {
    const auto session_start = std::chrono::steady_clock::now();
    status = board.Run();
    if (stopping || !reconnect) break;
    if (status.code() == absl::StatusCode::kUnauthenticated ||
        status.code() == absl::StatusCode::kFailedPrecondition) {
      break;
    }
    if (std::chrono::steady_clock::now() - session_start > kMaxBackoff) backoff = kFirstBackoff;
    char note[64];
    std::snprintf(note, sizeof(note), "; reconnecting in %.1f s", backoff.count() / 1000.0);
    problems.Write(
        status.ok() ? "the tracker closed the connection" : std::string(status.message()), note);
    for (auto slept = std::chrono::milliseconds(0); slept < backoff && !stopping;
         slept += std::chrono::milliseconds(50)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (stopping) break;
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
  if (stopping) status = absl::OkStatus();
  finished = true;
  parent_watch.join();
  // Wake the signal thread if no signal came; Stop() after Run() returned is harmless.
  pthread_kill(signal_thread.native_handle(), SIGTERM);
  signal_thread.join();
  int exit_code = 0;
  if (status.code() == absl::StatusCode::kFailedPrecondition) {
    std::fprintf(stderr, "fleettune-rpc-server: giving up after %d s: %s\n", tls_error_timeout_s,
                 std::string(status.message()).c_str());
    exit_code = 2;
  } else if (!status.ok()) {
    std::fprintf(stderr, "fleettune-rpc-server: %s\n", status.ToString().c_str());
    exit_code = status.code() == absl::StatusCode::kUnauthenticated ? 2 : 1;
  }
  // Leave without running static destructors: gRPC's own threads may still be tearing down
  // the last channels (a failed TLS handshake, the probe that named it), and destroying its
  // globals under them crashed the board now and then on its way out (exit by a signal
  // instead of the code an init system acts on). Nothing here needs flushing but stdio.
  std::fflush(nullptr);
  std::_Exit(exit_code);
}
