// Runs a measurement in a child process, so a kernel that crashes, corrupts memory, never
// returns, exhausts memory, forks or garbles its reply costs one result, never the board
// runtime.
#ifndef FLEETTUNE_RPC_SERVER_SANDBOX_H_
#define FLEETTUNE_RPC_SERVER_SANDBOX_H_

#include <cstdint>
#include <string>

#include "fleettune/v1/fleettune.pb.h"
#include "rpc_server/measure.h"

namespace fleettune::rpc_server {

struct SandboxOptions {
  // The board runtime binary, run as `<worker_binary> --sandbox-worker` for each task: a fresh
  // process inherits no locks from the board's gRPC threads. When empty, the board forks
  // itself instead, which is only safe while the board has no other threads (tests).
  std::string worker_binary;
  // Used when the task sets no timeout_ms: the same default as MeasureOnDevice's.
  int default_timeout_ms = kDefaultTimeoutMs;
  // Added to each bound below for starting the worker and loading, which they do not cover.
  int grace_ms = 2000;
  // On a board that has not cached the task's expected output, the reference (the host loop
  // or the reference artifact, device.h) runs first, in the same worker, within max(the
  // task's timeout, this) + grace_ms of the worker's start; the task's timeout (+ grace_ms)
  // then counts from the reference output being ready. The
  // task's timeout is sized for candidates (the tuner sets it from the best time so far,
  // tuner/adaptive_timeout.h), and a naive reference is often far slower than a tuned
  // kernel: bounding the reference by it would reject healthy jobs on a board that joins
  // late. The reference runs once per workload per board, so a generous bound costs little;
  // it is only there so that a reference that never finishes cannot hold the board.
  // `fleettune-rpc-server --reference-timeout-ms`.
  int reference_timeout_ms = kDefaultReferenceTimeoutMs;
  // The most memory (MiB) one measurement may allocate on top of what the worker holds when
  // it starts measuring; 0: WorkerMemoryLimitBytes' default, derived from the tensors.
  int memory_limit_mb = 0;
};

// The memory a task's worker may allocate: memory_limit_mb when set, else 4 x the task's
// tensors (the tensors, the reference output and its copy in the reply, a kernel's packed
// copies of its inputs) + one thread stack per core (the OpenMP runtime's threads) + 256 MiB
// (the runtime's own allocations, loading the kernels). Enforced as RLIMIT_DATA, which counts
// private writable memory (heap, anonymous mappings, thread stacks) but not code, shared
// libraries or guard pages: what a kernel can actually make the board's RAM hold. An
// allocation over it fails; generated kernels then return 1 and the result is RUNTIME_ERROR
// "kernel returned 1: it could not allocate memory ...; this board limits a measurement to
// N MiB".
uint64_t WorkerMemoryLimitBytes(const v1::MeasureTask& task, const SandboxOptions& options);

// Runs MeasureOnDevice (device.h) on an in-process CpuDevice in a child process (in a process
// group of its own, under the memory limit above) that sends its result back through a pipe
// as frames (sandbox_wire.h): the same protocol, checks and reference cache key as in process.
// The child starts with the board's cached expected output for the task when there is one.
// Outcomes besides the measurement's own:
//   - killed by a signal: RUNTIME_ERROR "the kernel crashed: signal N (...)", naming the
//     tensor when the fault was on its guard pages (tensor_buffer.h);
//   - the kernel called exit(): RUNTIME_ERROR "the kernel called exit() instead of returning";
//   - still running after its time (timeout + grace; counted from the reference output being
//     ready when the worker computed it, see reference_timeout_ms): killed with its group,
//     TIMEOUT;
//   - the reference (not the candidate) ran past its bound (reference_timeout_ms) or crashed:
//     REJECTED "reference: ...; the candidate was not run" (the candidate is not blamed);
//   - processes the kernel started still alive after the worker exits: killed,
//     RUNTIME_ERROR "the kernel left processes running ...";
//   - a reply that is not well-formed frames: RUNTIME_ERROR "... reply was garbled ...".
// A multi-candidate task (device.h) runs whole in one worker, under the same bound: its
// timeout (which covers all its candidates' loading, checks and rounds) + grace_ms from the
// reference output being ready; the worker itself stops timing at the timeout (those
// candidates TIMEOUT, the task OK), so the board kills it only when a kernel hangs. A crash,
// exit() or hang then loses the whole task: RUNTIME_ERROR or TIMEOUT as above, the error
// naming the candidate from the worker's progress frames (sandbox_wire.h), e.g. "the kernel
// crashed during the multi-candidate task, in candidates[1] (of 3) while timing it in round
// 2 of 5: signal 11 (...)". The caller may then measure the others without that candidate.
// Threads a kernel leaves behind end with the worker. An expected output the child computed
// is kept in the board's cache (under ReferenceCacheKey) for later tasks, in process or not. Never
// throws. Calls must not overlap (one at a time per board); the calling thread must be the only one
// that touches the reference cache.
v1::MeasureResult MeasureInSandbox(const v1::MeasureTask& task, const SandboxOptions& options = {});

// The child's side when started as a worker: reads the request MeasureInSandbox writes to
// standard input, measures, and writes the reply to file descriptor 3. Returns the exit code.
int RunSandboxWorker();

}  // namespace fleettune::rpc_server

#endif  // FLEETTUNE_RPC_SERVER_SANDBOX_H_
