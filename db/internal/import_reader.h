// The producer side of Database::Import: reads the JSON lines of an export and parses them
// into Records on its own thread, a few batches ahead of the thread that inserts them, so
// parsing and inserting overlap on two cores. For the SQLite back end the same thread also
// runs ImportPreparer (db/internal/sqlite_import.h) on every record, so that the inserting
// thread is left with little more than the inserts themselves.
//
// Batches go back to the parsing thread once consumed and are refilled in place: in the
// steady state a record's strings are neither allocated nor freed.
#ifndef FLEETTUNE_DB_INTERNAL_IMPORT_READER_H_
#define FLEETTUNE_DB_INTERNAL_IMPORT_READER_H_

#include <cstdint>
#include <deque>
#include <istream>
#include <optional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "db/database.h"
#include "db/internal/sqlite_import.h"

namespace fleettune::db::internal {

class ImportReader {
 public:
  // Starts reading `in` after its header line (line 1). `in` must outlive this object and
  // is read only by its thread until the destructor returns. With `prepare`, every record
  // also goes through an ImportPreparer on that thread (for NextPrepared).
  explicit ImportReader(std::istream& in, bool prepare = false);
  // Stops the thread (it may be blocked on a full queue) and waits for it.
  ~ImportReader();
  ImportReader(const ImportReader&) = delete;
  ImportReader& operator=(const ImportReader&) = delete;

  // The next record in file order; std::nullopt after the last one. InvalidArgument
  // "line N: ..." for a malformed line and Unavailable for a read error; after an error
  // every call returns it again. Call from one thread.
  absl::StatusOr<std::optional<Record>> Next();

  // The same as a prepared record (only when constructed with `prepare`): nullptr after the
  // last one. The record is the caller's to modify and stays valid until the next call.
  absl::StatusOr<PreparedRecord*> NextPrepared();

 private:
  struct Batch {
    std::vector<PreparedRecord> rows;  // the first `size` are filled
    size_t size = 0;
    absl::Status status;  // set on the last batch when reading stopped at an error
    bool last = false;
  };

  void Run();
  // Queues `batch`, waiting while the queue is full; false when stopped.
  bool Push(Batch batch);
  // A consumed batch to refill, or a new one.
  Batch TakeFree();
  // The consumer's next row; nullptr after the last one.
  absl::StatusOr<PreparedRecord*> NextRow();

  std::istream& in_;
  const bool prepare_;

  absl::Mutex mutex_;
  std::deque<Batch> queue_ ABSL_GUARDED_BY(mutex_);
  std::vector<Batch> free_ ABSL_GUARDED_BY(mutex_);
  bool stop_ ABSL_GUARDED_BY(mutex_) = false;

  // Used by the consumer only.
  Batch current_;
  size_t next_index_ = 0;
  bool done_ = false;
  absl::Status error_;

  std::thread thread_;  // last: starts after everything above is constructed
};

}  // namespace fleettune::db::internal

#endif  // FLEETTUNE_DB_INTERNAL_IMPORT_READER_H_
