// The SQLite tuning log: one record per measurement, and best-record queries.
#ifndef FLEETTUNE_DB_DATABASE_H_
#define FLEETTUNE_DB_DATABASE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "fleettune/v1/fleettune.pb.h"

namespace fleettune::db {

// One measurement of one config. `costs` are seconds per run, one per repeat.
struct Record {
  int64_t id = 0;            // assigned by Insert
  std::string workload_key;  // canonical workload string
  std::string target_key;    // canonical target string
  std::string device_key;
  std::string job;    // the tuning job that produced it
  int64_t trial = 0;  // position in the job's measurement order (0-based)
  v1::Config config;
  uint64_t config_hash = 0;
  v1::MeasureStatus status = v1::MEASURE_STATUS_UNSPECIFIED;
  std::vector<double> costs;
  double mean_cost = 0;  // seconds; 0 unless status == OK
  double gflops = 0;     // 0 unless status == OK
  std::string error;
  std::string board_id;
  int64_t timestamp_ms = 0;  // unix ms
  std::string version;       // fleettune version that produced it
};

// Filters of Best, History and Count. Unset optional fields match anything; an empty
// workload_key matches every workload.
struct Query {
  std::string workload_key;
  std::optional<std::string> target_key;
  std::optional<std::string> device_key;
  std::optional<std::string> job;
};

// A tuning database file. Thread-safe: one connection guarded by a mutex; several processes
// may write the same file at once (WAL, busy timeout). Read and write errors come back as
// Unavailable (still locked after the 10 s busy timeout), DataLoss (a stored field that does
// not decode) or Internal, naming the file.
class Database {
 public:
  // Opens or creates `path`, creating the schema. FailedPrecondition naming the file when it
  // is not a SQLite database or holds a foreign schema (or a newer fleettune schema); the
  // file is left untouched. NotFound when the parent directory does not exist.
  static absl::StatusOr<std::unique_ptr<Database>> Open(const std::string& path);

  // Like Open, but NotFound naming the file when it does not exist (nothing is created):
  // for commands that only read, so a mistyped path is an error rather than a new file.
  static absl::StatusOr<std::unique_ptr<Database>> OpenExisting(const std::string& path);
  virtual ~Database() = default;

  // Appends a record in its own transaction; fills `record->id`, and `timestamp_ms` with the
  // current time when it is 0. InvalidArgument (nothing written) for an empty workload_key,
  // an unknown status, or a cost, mean_cost or gflops that is not finite.
  virtual absl::Status Insert(Record* record) = 0;

  // The `top_k` fastest OK records matching `query`, fastest first (lowest mean cost; ties
  // in insertion order). InvalidArgument when top_k < 1.
  virtual absl::StatusOr<std::vector<Record>> Best(const Query& query, int top_k) = 0;

  // Every record matching `query`, in measurement order: the order they were inserted
  // (ascending id), which interleaves jobs that ran at the same time.
  virtual absl::StatusOr<std::vector<Record>> History(const Query& query) = 0;

  // Number of records matching `query`, of any status.
  virtual absl::StatusOr<int64_t> Count(const Query& query) = 0;
};

}  // namespace fleettune::db

#endif  // FLEETTUNE_DB_DATABASE_H_
