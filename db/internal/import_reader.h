// The producer side of Database::Import: reads the JSON lines of an export and parses them
// into Records on its own thread, a few batches ahead of the thread that inserts them, so
// parsing and inserting overlap on two cores.
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

namespace fleettune::db::internal {

class ImportReader {
 public:
  // Starts reading `in` after its header line (line 1). `in` must outlive this object and
  // is read only by its thread until the destructor returns.
  explicit ImportReader(std::istream& in);
  // Stops the thread (it may be blocked on a full queue) and waits for it.
  ~ImportReader();
  ImportReader(const ImportReader&) = delete;
  ImportReader& operator=(const ImportReader&) = delete;

  // The next record in file order; std::nullopt after the last one. InvalidArgument
  // "line N: ..." for a malformed line and Unavailable for a read error; after an error
  // every call returns it again. Call from one thread.
  absl::StatusOr<std::optional<Record>> Next();

 private:
  struct Batch {
    std::vector<Record> records;
    absl::Status status;  // set on the last batch when reading stopped at an error
    bool last = false;
  };

  void Run();
  // Queues `batch`, waiting while the queue is full; false when stopped.
  bool Push(Batch batch);

  std::istream& in_;

  absl::Mutex mutex_;
  std::deque<Batch> queue_ ABSL_GUARDED_BY(mutex_);
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
