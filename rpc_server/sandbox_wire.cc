#include "rpc_server/sandbox_wire.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "rpc_server/measure.h"

namespace fleettune::rpc_server {
namespace {

constexpr char kMagic[4] = {'F', 'T', 's', 'w'};
constexpr size_t kHeaderBytes = sizeof(kMagic) + 1 + sizeof(uint64_t);
static_assert(kGuardPageHitFrameBytes == kHeaderBytes + sizeof(int32_t) + sizeof(int64_t));

}  // namespace

std::string EncodeRequest(const WorkerRequest& request) {
  std::string bytes;
  const std::string task = request.task.SerializeAsString();
  AppendSized(&bytes, task.data(), task.size());
  AppendSized(&bytes, request.reference_key.data(), request.reference_key.size());
  AppendSized(&bytes, request.reference_output.data(), request.reference_output.size());
  AppendSized(&bytes, &request.memory_limit_bytes, sizeof(request.memory_limit_bytes));
  return bytes;
}

bool DecodeRequest(std::string_view bytes, WorkerRequest* request) {
  std::string_view task, key, output, limit;
  if (!TakeSized(&bytes, &task) || !TakeSized(&bytes, &key) || !TakeSized(&bytes, &output) ||
      !TakeSized(&bytes, &limit) || limit.size() != sizeof(request->memory_limit_bytes) ||
      !request->task.ParseFromArray(task.data(), static_cast<int>(task.size()))) {
    return false;
  }
  request->reference_key = std::string(key);
  request->reference_output = std::string(output);
  std::memcpy(&request->memory_limit_bytes, limit.data(), limit.size());
  return true;
}

bool WriteAll(int fd, std::string_view bytes) {
  size_t written = 0;
  while (written < bytes.size()) {
    ssize_t n = write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    written += static_cast<size_t>(n);
  }
  return true;
}

void EncodeGuardPageHitFrame(const GuardPageHit& hit, char* out) {
  const uint64_t size = sizeof(hit.tensor) + sizeof(hit.offset);
  std::memcpy(out, kMagic, sizeof(kMagic));
  out[sizeof(kMagic)] = static_cast<char>(FrameType::kGuardPageHit);
  std::memcpy(out + sizeof(kMagic) + 1, &size, sizeof(size));
  std::memcpy(out + kHeaderBytes, &hit.tensor, sizeof(hit.tensor));
  std::memcpy(out + kHeaderBytes + sizeof(hit.tensor), &hit.offset, sizeof(hit.offset));
}

std::string EncodeCandidateProgressFrame(const CandidateProgress& progress) {
  char payload[sizeof(progress.candidate) + sizeof(progress.round)];
  std::memcpy(payload, &progress.candidate, sizeof(progress.candidate));
  std::memcpy(payload + sizeof(progress.candidate), &progress.round, sizeof(progress.round));
  return EncodeFrame(FrameType::kCandidateProgress, std::string_view(payload, sizeof(payload)));
}

std::string DescribeCandidateProgress(const CandidateProgress& progress,
                                      const v1::MeasureTask& task) {
  if (progress.candidate < 0) return "during the multi-candidate task, before its first candidate";
  std::string text = absl::StrCat("during the multi-candidate task, in candidates[",
                                  progress.candidate, "] (of ", task.candidates_size(), ") ");
  if (progress.round < 0) {
    absl::StrAppend(&text, "while it was loaded, run and checked");
  } else if (progress.round == 0) {
    absl::StrAppend(&text, "while timing it in its warm-up");
  } else {
    absl::StrAppend(&text, "while timing it in round ", progress.round, " of ", TaskRounds(task));
  }
  return text;
}

std::string EncodeFrame(FrameType type, std::string_view payload) {
  std::string frame(kMagic, sizeof(kMagic));
  frame.push_back(static_cast<char>(type));
  AppendSized(&frame, payload.data(), payload.size());
  return frame;
}

void AppendSized(std::string* out, const void* data, uint64_t size) {
  out->append(reinterpret_cast<const char*>(&size), sizeof(size));
  if (size > 0) out->append(static_cast<const char*>(data), size);
}

bool TakeSized(std::string_view* message, std::string_view* field) {
  uint64_t size = 0;
  if (message->size() < sizeof(size)) return false;
  std::memcpy(&size, message->data(), sizeof(size));
  message->remove_prefix(sizeof(size));
  if (message->size() < size) return false;
  *field = message->substr(0, size);
  message->remove_prefix(size);
  return true;
}

bool FrameReader::Garbled(std::string error) {
  if (error_.empty()) error_ = std::move(error);
  return false;
}

bool FrameReader::Append(std::string_view bytes) {
  if (!error_.empty()) return false;
  pending_.append(bytes);
  while (!pending_.empty()) {
    if (has_result_) {
      return Garbled(absl::StrCat(pending_.size(), " bytes after the result"));
    }
    const size_t compared = std::min(pending_.size(), sizeof(kMagic));
    if (std::memcmp(pending_.data(), kMagic, compared) != 0) {
      return Garbled(absl::StrCat("bytes that are not a frame: \"",
                                  absl::CHexEscape(pending_.substr(0, 16)), "\""));
    }
    if (pending_.size() < kHeaderBytes) return true;
    const auto type = static_cast<FrameType>(pending_[sizeof(kMagic)]);
    if (type != FrameType::kReferenceReady && type != FrameType::kResult &&
        type != FrameType::kGuardPageHit && type != FrameType::kCandidateProgress) {
      return Garbled(absl::StrCat("a frame of unknown type ", static_cast<int>(type)));
    }
    uint64_t size = 0;
    std::memcpy(&size, pending_.data() + sizeof(kMagic) + 1, sizeof(size));
    if (size > max_payload_bytes_) {
      return Garbled(
          absl::StrCat("a frame of ", size, " bytes (the limit is ", max_payload_bytes_, ")"));
    }
    if (pending_.size() - kHeaderBytes < size) return true;
    if (type == FrameType::kReferenceReady) {
      reference_ready_ = true;
    } else if (type == FrameType::kGuardPageHit) {
      const char* payload = pending_.data() + kHeaderBytes;
      if (size != sizeof(int32_t) + sizeof(int64_t)) {
        return Garbled(absl::StrCat("a guard page frame of ", size, " bytes"));
      }
      std::memcpy(&guard_page_hit_.tensor, payload, sizeof(int32_t));
      std::memcpy(&guard_page_hit_.offset, payload + sizeof(int32_t), sizeof(int64_t));
    } else if (type == FrameType::kCandidateProgress) {
      const char* payload = pending_.data() + kHeaderBytes;
      if (size != 2 * sizeof(int32_t)) {
        return Garbled(absl::StrCat("a candidate progress frame of ", size, " bytes"));
      }
      std::memcpy(&candidate_progress_.candidate, payload, sizeof(int32_t));
      std::memcpy(&candidate_progress_.round, payload + sizeof(int32_t), sizeof(int32_t));
    } else {
      has_result_ = true;
      result_ = pending_.substr(kHeaderBytes, size);
    }
    pending_.erase(0, kHeaderBytes + size);
  }
  return true;
}

}  // namespace fleettune::rpc_server
