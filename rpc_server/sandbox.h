// Runs a measurement in a child process, so a kernel that crashes, corrupts memory or never
// returns costs one result, never the board runtime.
#ifndef FLEETTUNE_RPC_SERVER_SANDBOX_H_
#define FLEETTUNE_RPC_SERVER_SANDBOX_H_

#include <string>

#include "fleettune/v1/fleettune.pb.h"

namespace fleettune::rpc_server {

struct SandboxOptions {
  // The board runtime binary, run as `<worker_binary> --sandbox-worker` for each task: a fresh
  // process inherits no locks from the board's gRPC threads. When empty, the board forks
  // itself instead, which is only safe while the board has no other threads (tests).
  std::string worker_binary;
  // Used when the task sets no timeout_ms.
  int default_timeout_ms = 10000;
  // Added to the task's timeout for loading and the reference run, which it does not cover.
  int grace_ms = 2000;
};

// Runs MeasureTask(task) in a child process that sends its result back through a pipe. A child
// killed by a signal gives RUNTIME_ERROR naming the signal; one still running after the
// timeout is killed and gives TIMEOUT. A reference output the child computed is kept in the
// board's cache for later tasks. Never throws. Calls must not overlap (one at a time per
// board); the calling thread must be the only one that touches the reference cache.
v1::MeasureResult MeasureInSandbox(const v1::MeasureTask& task, const SandboxOptions& options = {});

// The child's side when started as a worker: reads the request MeasureInSandbox writes to
// standard input, measures, and writes the reply to file descriptor 3. Returns the exit code.
int RunSandboxWorker();

}  // namespace fleettune::rpc_server

#endif  // FLEETTUNE_RPC_SERVER_SANDBOX_H_
