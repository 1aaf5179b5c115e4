// Runs a measurement in a child process, so a kernel that crashes, corrupts memory or never
// returns costs one result, never the board runtime.
#ifndef FLEETTUNE_RPC_SERVER_SANDBOX_H_
#define FLEETTUNE_RPC_SERVER_SANDBOX_H_

#include "fleettune/v1/fleettune.pb.h"

namespace fleettune::rpc_server {

struct SandboxOptions {
  // Used when the task sets no timeout_ms.
  int default_timeout_ms = 10000;
  // Added to the task's timeout for loading and the reference run, which it does not cover.
  int grace_ms = 2000;
};

// Forks a child that runs MeasureTask(task) and sends its result back through a pipe. A child
// killed by a signal gives RUNTIME_ERROR naming the signal; one still running after the
// timeout is killed and gives TIMEOUT. A reference output the child computed is kept in the
// board's cache for later tasks. Never throws. Calls must not overlap (one at a time per
// board); the calling thread must be the only one that touches the reference cache.
v1::MeasureResult MeasureInSandbox(const v1::MeasureTask& task, const SandboxOptions& options = {});

}  // namespace fleettune::rpc_server

#endif  // FLEETTUNE_RPC_SERVER_SANDBOX_H_
