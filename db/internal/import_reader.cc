#include "db/internal/import_reader.h"

#include <pthread.h>

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "db/internal/record_json.h"

namespace fleettune::db::internal {
namespace {

constexpr size_t kBatchRecords = 256;
constexpr size_t kMaxQueuedBatches = 16;

}  // namespace

ImportReader::ImportReader(std::istream& in) : in_(in), thread_([this] { Run(); }) {
  pthread_setname_np(thread_.native_handle(), "ft-import-parse");  // for top and perf
}

ImportReader::~ImportReader() {
  {
    absl::MutexLock lock(&mutex_);
    stop_ = true;
  }
  thread_.join();
}

bool ImportReader::Push(Batch batch) {
  absl::MutexLock lock(&mutex_);
  const auto room = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    return stop_ || queue_.size() < kMaxQueuedBatches;
  };
  mutex_.Await(absl::Condition(&room));
  if (stop_) return false;
  queue_.push_back(std::move(batch));
  return true;
}

void ImportReader::Run() {
  std::string line;
  int64_t number = 1;  // the header
  Batch batch;
  batch.records.reserve(kBatchRecords);
  while (true) {
    if (!std::getline(in_, line)) {
      if (in_.bad()) {
        batch.status = absl::UnavailableError(absl::StrCat("reading line ", number + 1));
      }
      break;
    }
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;  // blank line
    absl::StatusOr<Record> record = RecordFromJsonLine(line);
    if (!record.ok()) {
      batch.status = absl::InvalidArgumentError(
          absl::StrCat("line ", number, ": ", record.status().message()));
      break;
    }
    batch.records.push_back(*std::move(record));
    if (batch.records.size() == kBatchRecords) {
      if (!Push(std::move(batch))) return;
      batch = Batch();
      batch.records.reserve(kBatchRecords);
    }
  }
  batch.last = true;
  Push(std::move(batch));
}

absl::StatusOr<std::optional<Record>> ImportReader::Next() {
  while (true) {
    if (!error_.ok()) return error_;
    if (next_index_ < current_.records.size()) {
      return std::optional<Record>(std::move(current_.records[next_index_++]));
    }
    if (current_.last || done_) {
      done_ = true;
      if (!current_.status.ok()) error_ = current_.status;
      if (!error_.ok()) return error_;
      return std::optional<Record>();
    }
    absl::MutexLock lock(&mutex_);
    const auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) { return !queue_.empty(); };
    mutex_.Await(absl::Condition(&ready));
    current_ = std::move(queue_.front());
    queue_.pop_front();
    next_index_ = 0;
  }
}

}  // namespace fleettune::db::internal
