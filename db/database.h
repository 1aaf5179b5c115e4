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
  int64_t id = 0;                 // assigned by Insert
  std::string workload_key;       // canonical workload string
  std::string target_key;         // canonical target string
  std::string device_key;
  std::string job;                // the tuning job that produced it
  int64_t trial = 0;              // position in the job's measurement order (0-based)
  v1::Config config;
  uint64_t config_hash = 0;
  v1::MeasureStatus status = v1::MEASURE_STATUS_UNSPECIFIED;
  std::vector<double> costs;
  double mean_cost = 0;           // seconds; 0 unless status == OK
  double gflops = 0;              // 0 unless status == OK
  std::string error;
  std::string board_id;
  int64_t timestamp_ms = 0;       // unix ms
  std::string version;            // fleettune version that produced it
};

struct Query {
  std::string workload_key;
  std::optional<std::string> target_key;
  std::optional<std::string> device_key;
  std::optional<std::string> job;
};

// A tuning database file. Thread-safe: one connection guarded by a mutex; several processes
// may write the same file at once (WAL, busy timeout).
class Database {
 public:
  // Opens or creates `path`, creating the schema. FailedPrecondition naming the file when it
  // is not a SQLite database or holds a foreign schema; the file is left untouched.
  static absl::StatusOr<std::unique_ptr<Database>> Open(const std::string& path);
  virtual ~Database() = default;

  // Appends a record in its own transaction; fills `record->id`.
  virtual absl::Status Insert(Record* record) = 0;

  // The `top_k` fastest OK records matching `query`, fastest first (lowest mean cost).
  virtual absl::StatusOr<std::vector<Record>> Best(const Query& query, int top_k) = 0;

  // Every record matching `query`, in measurement order (job, trial, id).
  virtual absl::StatusOr<std::vector<Record>> History(const Query& query) = 0;

  // Number of records matching `query`.
  virtual absl::StatusOr<int64_t> Count(const Query& query) = 0;
};

}  // namespace fleettune::db

#endif  // FLEETTUNE_DB_DATABASE_H_
