// The sandbox worker's side of a measurement (sandbox.h): what runs in the child process, a
// spawned `fleettune-rpc-server --sandbox-worker` or a forked copy of the board.
#ifndef FLEETTUNE_RPC_SERVER_SANDBOX_WORKER_H_
#define FLEETTUNE_RPC_SERVER_SANDBOX_WORKER_H_

#include <cstdint>
#include <string>

#include "fleettune/v1/fleettune.pb.h"

namespace fleettune::rpc_server {

// Measures `task` in this process (MeasureOnDevice on an in-process CpuDevice, device.h) and
// writes the reply frames (sandbox_wire.h) to kReplyFd: kReferenceReady once the expected
// output is ready, then kResult. First limits this
// process's data memory to what it holds now plus `memory_limit_bytes` (RLIMIT_DATA; 0: no
// limit), and hooks exit() so that a kernel calling it still sends a result (RUNTIME_ERROR
// "the kernel called exit() instead of returning") and ends the process. Only for a process
// that exits afterwards: the limit and the hook stay. Returns the process's exit code (0, or
// 3 when the reply could not be written).
int MeasureAndReply(const v1::MeasureTask& task, const std::string& reference_key,
                    bool board_has_reference, uint64_t memory_limit_bytes);

}  // namespace fleettune::rpc_server

#endif  // FLEETTUNE_RPC_SERVER_SANDBOX_WORKER_H_
