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

ImportReader::ImportReader(std::istream& in, bool prepare)
    : in_(in), prepare_(prepare), thread_([this] { Run(); }) {
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

ImportReader::Batch ImportReader::TakeFree() {
  Batch batch;
  {
    absl::MutexLock lock(&mutex_);
    if (!free_.empty()) {
      batch = std::move(free_.back());
      free_.pop_back();
    }
  }
  batch.size = 0;
  batch.status = absl::OkStatus();
  batch.last = false;
  if (batch.rows.size() < kBatchRecords) batch.rows.resize(kBatchRecords);
  return batch;
}

void ImportReader::Run() {
  std::string line;
  int64_t number = 1;  // the header
  ImportPreparer preparer;
  Batch batch = TakeFree();
  while (true) {
    if (!std::getline(in_, line)) {
      if (in_.bad()) {
        batch.status = absl::UnavailableError(absl::StrCat("reading line ", number + 1));
      }
      break;
    }
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;  // blank line
    PreparedRecord& row = batch.rows[batch.size];
    if (absl::Status parsed = RecordFromJsonLine(line, &row.record); !parsed.ok()) {
      batch.status =
          absl::InvalidArgumentError(absl::StrCat("line ", number, ": ", parsed.message()));
      break;
    }
    if (prepare_) preparer.Prepare(&row);
    if (++batch.size == kBatchRecords) {
      if (!Push(std::move(batch))) return;
      batch = TakeFree();
    }
  }
  batch.last = true;
  Push(std::move(batch));
}

absl::StatusOr<PreparedRecord*> ImportReader::NextRow() {
  while (true) {
    if (!error_.ok()) return error_;
    if (next_index_ < current_.size) return &current_.rows[next_index_++];
    if (current_.last || done_) {
      done_ = true;
      if (!current_.status.ok()) error_ = current_.status;
      if (!error_.ok()) return error_;
      return nullptr;
    }
    absl::MutexLock lock(&mutex_);
    const auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) { return !queue_.empty(); };
    mutex_.Await(absl::Condition(&ready));
    if (!current_.rows.empty()) free_.push_back(std::move(current_));  // back to the parser
    current_ = std::move(queue_.front());
    queue_.pop_front();
    next_index_ = 0;
  }
}

absl::StatusOr<PreparedRecord*> ImportReader::NextPrepared() {
  if (!prepare_) return absl::InternalError("ImportReader::NextPrepared without `prepare`");
  return NextRow();
}

absl::StatusOr<std::optional<Record>> ImportReader::Next() {
  absl::StatusOr<PreparedRecord*> row = NextRow();
  if (!row.ok()) return row.status();
  if (*row == nullptr) return std::optional<Record>();
  // The moved-from record is refilled by the parser later (RecordFromJsonLine resets it).
  return std::optional<Record>(std::move((*row)->record));
}

}  // namespace fleettune::db::internal
