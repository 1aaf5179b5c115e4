#include "rpc_server/sandbox_worker.h"

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "rpc_server/cpu_device.h"
#include "rpc_server/kernel_library.h"
#include "rpc_server/measure.h"
#include "rpc_server/sandbox.h"
#include "rpc_server/sandbox_wire.h"
#include "rpc_server/tensor_buffer.h"

namespace fleettune::rpc_server {
namespace {

// The worker's exit code after the kernel called exit() (its result is already sent).
constexpr int kKernelCalledExitCode = 86;

// The task being measured, for the exit hook; null outside a measurement.
const v1::MeasureTask* measuring = nullptr;
// Where a multi-candidate task is (the last on_candidate call), for the exit hook.
CandidateProgress candidate_progress;

// Writes the kResult frame for `result`, followed by the reference output the board lacks.
bool SendResult(const v1::MeasureResult& result, const std::string& reference_key,
                bool board_has_reference) {
  std::string payload;
  const std::string bytes = result.SerializeAsString();
  AppendSized(&payload, bytes.data(), bytes.size());
  if (!board_has_reference) {
    if (auto output = FindReferenceOutput(reference_key); output != nullptr) {
      AppendSized(&payload, reference_key.data(), reference_key.size());
      AppendSized(&payload, output->data(), output->size() * sizeof(float));
    }
  }
  return WriteAll(kReplyFd, EncodeFrame(FrameType::kResult, payload));
}

// Runs at exit(): when that happens inside a measurement, the kernel called exit(). Sends the
// result saying so and ends the process before anything else of it is torn down (in a forked
// worker, that would be the board's own exit handlers).
void ReportExitDuringMeasurement() {
  if (measuring == nullptr) return;
  v1::MeasureResult result;
  result.set_status(v1::RUNTIME_ERROR);
  result.set_error("the kernel called exit() instead of returning");
  if (!measuring->candidates().empty()) {
    absl::StrAppend(result.mutable_error(), " ",
                    DescribeCandidateProgress(candidate_progress, *measuring));
  }
  measuring = nullptr;
  SendResult(result, "", /*board_has_reference=*/true);
  _exit(kKernelCalledExitCode);
}

// A SIGSEGV/SIGBUS handler: when the fault is on a tensor's guard pages, tells the board
// which tensor (a kGuardPageHit frame, written without allocating), then lets the signal
// kill the process as it would have (SA_RESETHAND: the faulting access repeats).
void OnMemoryFault(int /*signal_number*/, siginfo_t* info, void* /*context*/) {
  GuardPageHit hit;
  int index = -1;
  if (FindGuardPageHit(info->si_addr, &index, &hit.offset)) {
    hit.tensor = index;
    char frame[kGuardPageHitFrameBytes];
    EncodeGuardPageHitFrame(hit, frame);
    ssize_t written = write(kReplyFd, frame, sizeof(frame));
    (void)written;
  }
}

void CatchMemoryFaults() {
  static char alternate_stack[1 << 16];  // the fault may be a stack overflow
  stack_t stack{};
  stack.ss_sp = alternate_stack;
  stack.ss_size = sizeof(alternate_stack);
  sigaltstack(&stack, nullptr);
  struct sigaction action {};
  action.sa_sigaction = OnMemoryFault;
  action.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND;
  sigemptyset(&action.sa_mask);
  sigaction(SIGSEGV, &action, nullptr);
  sigaction(SIGBUS, &action, nullptr);
}

// This process's private writable memory (what RLIMIT_DATA counts), from /proc/self/status.
uint64_t DataBytesInUse() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (absl::StartsWith(line, "VmData:")) {
      return std::strtoull(line.c_str() + 7, nullptr, 10) << 10;  // in kB
    }
  }
  return 0;
}

// Lets this process allocate `limit_bytes` more than it holds now; an allocation over that
// fails (malloc returns null) instead of eating the board's memory.
void LimitMemory(uint64_t limit_bytes) {
  rlimit limit{};
  if (limit_bytes == 0 || getrlimit(RLIMIT_DATA, &limit) != 0) return;
  const rlim_t wanted = static_cast<rlim_t>(DataBytesInUse() + limit_bytes);
  limit.rlim_cur = limit.rlim_max == RLIM_INFINITY ? wanted : std::min(wanted, limit.rlim_max);
  setrlimit(RLIMIT_DATA, &limit);
}

}  // namespace

int MeasureAndReply(const v1::MeasureTask& task, const std::string& reference_key,
                    bool board_has_reference, uint64_t memory_limit_bytes) {
  static const bool hooked = atexit(ReportExitDuringMeasurement) == 0;
  (void)hooked;
  LimitMemory(memory_limit_bytes);
  CatchMemoryFaults();
  // This process ends after the reply; a thread the kernel left behind must find its code
  // still mapped until then (the board kills the worker's group once it has the reply).
  KernelLibrary::KeepLoadedUntilExit();
  measuring = &task;
  CpuDevice device(/*sandbox=*/false, SandboxOptions{});
  v1::MeasureResult result = MeasureOnDevice(
      device, task, [] { WriteAll(kReplyFd, EncodeFrame(FrameType::kReferenceReady, "")); },
      [](int candidate, int round) {
        candidate_progress = {candidate, round};
        WriteAll(kReplyFd, EncodeCandidateProgressFrame(candidate_progress));
      });
  measuring = nullptr;
  // Generated kernels return 1 when an allocation fails: name the limit it ran into.
  const auto name_memory_limit = [&](v1::MeasureStatus status, std::string* error) {
    if (status == v1::RUNTIME_ERROR && memory_limit_bytes > 0 &&
        absl::StrContains(*error, "kernel returned 1:")) {
      absl::StrAppend(error, "; this board limits a measurement to ", memory_limit_bytes >> 20,
                      " MiB (fleettune-rpc-server --worker-memory-mb)");
    }
  };
  name_memory_limit(result.status(), result.mutable_error());
  for (v1::CandidateResult& candidate : *result.mutable_candidates()) {
    name_memory_limit(candidate.status(), candidate.mutable_error());
  }
  return SendResult(result, reference_key, board_has_reference) ? 0 : 3;
}

int RunSandboxWorker() {
  std::string bytes;
  char buffer[1 << 16];
  for (;;) {
    ssize_t n = read(0, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return 4;
    if (n == 0) break;
    bytes.append(buffer, static_cast<size_t>(n));
  }
  WorkerRequest request;
  if (!DecodeRequest(bytes, &request)) return 5;
  bytes.clear();
  const bool board_has_reference = !request.reference_output.empty();
  if (board_has_reference) {
    std::vector<float> output(request.reference_output.size() / sizeof(float));
    std::memcpy(output.data(), request.reference_output.data(), output.size() * sizeof(float));
    StoreReferenceOutput(request.reference_key, std::move(output));
  }
  return MeasureAndReply(request.task, request.reference_key, board_has_reference,
                         request.memory_limit_bytes);
}

}  // namespace fleettune::rpc_server
