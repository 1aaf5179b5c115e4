// The bytes between the board and its sandbox worker (sandbox.h). The worker runs untrusted
// kernels in its own address space, so what the board reads back is checked as input: the
// reply is a sequence of framed messages, and anything that is not a well-formed frame (a
// kernel writing to the result pipe, a stray thread, a truncated reply) is "garbled" rather
// than parsed as a result.
#ifndef FLEETTUNE_RPC_SERVER_SANDBOX_WIRE_H_
#define FLEETTUNE_RPC_SERVER_SANDBOX_WIRE_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "fleettune/v1/fleettune.pb.h"

namespace fleettune::rpc_server {

// The worker reads its request on standard input and writes its reply on this descriptor.
inline constexpr int kReplyFd = 3;

// What the board asks of a spawned worker (a forked one shares the board's memory instead).
struct WorkerRequest {
  v1::MeasureTask task;
  std::string reference_key;     // the board's reference cache key for the task
  std::string reference_output;  // the cached output (raw floats), empty when the board has none
  uint64_t memory_limit_bytes = 0;
};
// Four sized fields: the serialized task, the key, the output, the limit (a u64).
std::string EncodeRequest(const WorkerRequest& request);
// False when `bytes` is not a request EncodeRequest wrote.
bool DecodeRequest(std::string_view bytes, WorkerRequest* request);

// Writes all of `bytes` to `fd`, retrying on EINTR; false on an error.
bool WriteAll(int fd, std::string_view bytes);

// A frame: the 4-byte magic "FTsw", a 1-byte type, a u64 payload size, the payload.
enum class FrameType : uint8_t {
  // The expected output is ready (cached, computed, or not needed): the candidate runs next.
  // Empty payload. Tells the board whose time a timeout or crash was.
  kReferenceReady = 1,
  // The worker's reply: sized fields (AppendSized) of the MeasureResult and, when the worker
  // computed a reference output the board did not have, its cache key and the output.
  kResult = 2,
  // Sent by the worker's SIGSEGV/SIGBUS handler just before the worker dies: the fault was
  // on a tensor's guard pages. Payload: the tensor's index (i32) and the distance of the
  // address from the tensor in bytes (i64; negative: before its start).
  kGuardPageHit = 3,
  // A multi-candidate task (device.h) moved on: the worker is about to check candidate
  // `candidate` (round kCandidateCheckRound, -1) or time it in `round` (0: its warm-up).
  // Payload: candidate (i32), round (i32). Tells the board which candidate a crash or hang
  // happened in.
  kCandidateProgress = 4,
};

// A kCandidateProgress frame's payload.
struct CandidateProgress {
  int32_t candidate = -1;  // -1: no such frame came
  int32_t round = 0;
};
std::string EncodeCandidateProgressFrame(const CandidateProgress& progress);
// Where `progress` puts a multi-candidate `task`, for the error of a crash or hang in it:
// "during the multi-candidate task, in candidates[1] (of 3) while it was loaded, run and
// checked" ("..., while timing it in its warm-up" / "in round 2 of 5"; "..., before its first
// candidate" when no frame came).
std::string DescribeCandidateProgress(const CandidateProgress& progress,
                                      const v1::MeasureTask& task);

// A kGuardPageHit frame's payload.
struct GuardPageHit {
  int32_t tensor = -1;
  int64_t offset = 0;
};
// Writes the whole kGuardPageHit frame into `out` (kGuardPageHitFrameBytes long) without
// allocating, so a signal handler may call it.
inline constexpr size_t kGuardPageHitFrameBytes = 4 + 1 + 8 + 4 + 8;
void EncodeGuardPageHitFrame(const GuardPageHit& hit, char* out);

std::string EncodeFrame(FrameType type, std::string_view payload);

// Fields inside a payload (and the board's request to the worker): [u64 size][bytes].
void AppendSized(std::string* out, const void* data, uint64_t size);
// Takes the next field off `message`; false when too few bytes are left.
bool TakeSized(std::string_view* message, std::string_view* field);

// Parses the reply stream as its bytes arrive. Not thread-safe.
class FrameReader {
 public:
  // `max_payload_bytes` bounds one frame, so a runaway writer cannot make the board buffer
  // without limit.
  explicit FrameReader(uint64_t max_payload_bytes) : max_payload_bytes_(max_payload_bytes) {}

  // Takes the next bytes. Returns false, with error() saying why, once the stream is garbled:
  // a frame without the magic, an unknown type, a payload over the limit, bytes after the
  // result. Further calls then return false.
  bool Append(std::string_view bytes);

  bool reference_ready() const { return reference_ready_; }
  bool has_result() const { return has_result_; }
  // The worker died on a tensor's guard page (tensor -1: no such frame came).
  const GuardPageHit& guard_page_hit() const { return guard_page_hit_; }
  // The last kCandidateProgress frame (candidate -1: none came).
  const CandidateProgress& candidate_progress() const { return candidate_progress_; }
  const std::string& result() const { return result_; }  // the kResult payload
  const std::string& error() const { return error_; }
  // Bytes of a frame not yet complete; non-zero at the end of the stream means truncated.
  size_t pending_bytes() const { return pending_.size(); }

 private:
  bool Garbled(std::string error);

  const uint64_t max_payload_bytes_;
  std::string pending_;
  bool reference_ready_ = false;
  bool has_result_ = false;
  GuardPageHit guard_page_hit_;
  CandidateProgress candidate_progress_;
  std::string result_;
  std::string error_;
};

}  // namespace fleettune::rpc_server

#endif  // FLEETTUNE_RPC_SERVER_SANDBOX_WIRE_H_
