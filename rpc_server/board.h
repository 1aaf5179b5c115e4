// The board runtime: connects out to a tracker, registers by key, and measures the tasks it
// is pushed. Depends only on protobuf, gRPC and Abseil so it cross-builds for boards.
#ifndef FLEETTUNE_RPC_SERVER_BOARD_H_
#define FLEETTUNE_RPC_SERVER_BOARD_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "net/artifact_limit.h"

namespace fleettune::rpc_server {

class Device;  // device.h

struct BoardOptions {
  std::string tracker_address;     // host:port
  std::string key;                 // device key the board serves
  int connect_timeout_ms = 30000;  // how long Run() retries a tracker that does not answer
  // How long Run() retries a mistake retrying cannot fix (connect_diagnosis.h: a certificate
  // our CA does not vouch for or that names another host, TLS on one side only) before it
  // fails with FailedPrecondition; long enough for a tracker restarting with a new certificate.
  int tls_error_timeout_ms = 30000;
  // Called from Run() after each failed attempt to connect, with what failed and the likely
  // fix ("tracker at HOST:PORT: the tracker speaks TLS: pass --tls-ca ..."): the same text for
  // the same problem on every attempt, so the caller can print each problem once. Null: none.
  std::function<void(const std::string& problem, bool retrying_can_fix)> on_connect_error;
  int heartbeat_interval_ms = 3000;  // how often the board tells the tracker it is alive
  std::string token;                 // the tracker's board token; empty when it has none
  // PEM root certificates: when set the board speaks TLS and takes work only from a tracker
  // whose certificate they vouch for.
  std::string tls_ca_pem;
  // > 0: a simulated board for scale tests. It runs no code: each task is answered OK after
  // this many milliseconds with a synthetic cost, and the board registers as emulated.
  int simulate_ms = 0;
  // Registers as emulated (DeviceInfo.emulated), e.g. an aarch64 runtime under qemu-user:
  // its results are real checks, its timings are not the hardware's.
  bool emulated = false;
  bool sandbox = true;  // measure in a child process (MeasureInSandbox)
  // The runtime binary started per task as the sandbox worker; empty: fork (see sandbox.h).
  std::string sandbox_worker_binary;
  // The most memory (MiB) one measurement may allocate; 0: derived from each task's tensors
  // (SandboxOptions::memory_limit_mb, WorkerMemoryLimitBytes in sandbox.h).
  int worker_memory_mb = 0;
  // The most a reference run may take on this board before its output is cached; 0: the
  // default (SandboxOptions::reference_timeout_ms in sandbox.h, which says why).
  int reference_timeout_ms = 0;
  // The largest artifact a task may carry to this board (--max-artifact-mb); the channel's
  // message limit follows from it (net::MessageLimitBytes) and the board declares it when it
  // registers (DeviceInfo.max_artifact_bytes), so the tracker refuses bigger tasks by name.
  int64_t max_artifact_bytes = net::MebibytesToBytes(net::kDefaultMaxArtifactMb);
  // Where tasks run (device.h), e.g. an OpenCL device; null: this CPU (a CpuDevice with the
  // sandbox settings above). Its Describe() adds to the registration.
  std::shared_ptr<Device> device;
};

// Runs until the tracker closes the stream or Stop() is called. Thread-safe.
class Board {
 public:
  explicit Board(BoardOptions options);
  ~Board();
  // Connects, registers and serves. Unavailable, with the last on_connect_error problem, when
  // the tracker does not answer within connect_timeout_ms; FailedPrecondition, with the
  // problem, when a mistake retrying cannot fix lasts tls_error_timeout_ms.
  absl::Status Run();
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fleettune::rpc_server

#endif  // FLEETTUNE_RPC_SERVER_BOARD_H_
