// The PostgreSQL implementation of Database (libpq): the same records table and behaviour as
// the SQLite file, for a fleet that outgrows one machine. One connection per object,
// serialized by a mutex. Callers use Database::Open("postgresql://..."); private to db/.
//
// This file holds the queries; the schema and its migrations are in postgres_schema.h, the
// connection's error handling in postgres_connection.h, the COPY import in postgres_import.h.
#ifndef FLEETTUNE_DB_INTERNAL_POSTGRES_DATABASE_H_
#define FLEETTUNE_DB_INTERNAL_POSTGRES_DATABASE_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "db/database.h"

struct pg_conn;

namespace fleettune::db::internal {

class PostgresDatabase final : public Database {
 public:
  // Connects (Unavailable naming the redacted URL when it cannot), then checks or creates
  // the schema under an advisory lock so concurrent openers create it once.
  // FailedPrecondition when the database has a `records` table that is not fleettune's, or
  // a newer schema version.
  static absl::StatusOr<std::unique_ptr<PostgresDatabase>> Open(const std::string& url);
  ~PostgresDatabase() override;

  absl::Status Insert(Record* record) override;
  absl::Status Confirm(int64_t record_id, const std::vector<double>& costs,
                       const std::vector<double>& default_costs) override;
  absl::StatusOr<std::vector<Record>> Best(const Query& query, int top_k) override;
  absl::StatusOr<std::vector<Record>> History(const Query& query) override;
  absl::StatusOr<int64_t> Count(const Query& query) override;
  absl::Status ForEach(const Query& query,
                       const std::function<absl::Status(const Record&)>& visit) override;
  absl::StatusOr<std::vector<std::string>> WorkloadsOfOp(const std::string& op,
                                                         const std::string& target_key) override;
  absl::StatusOr<ImportCounts> InsertAll(const RecordSource& next) override;

 private:
  absl::StatusOr<int64_t> PruneChecked(int keep) override;
  absl::StatusOr<Stats> ReadStats() override;

  PostgresDatabase(std::string location, pg_conn* conn)
      : location_(std::move(location)), conn_(conn) {}

  const std::string location_;  // redacted URL
  absl::Mutex mutex_;
  pg_conn* const conn_ ABSL_PT_GUARDED_BY(mutex_);
};

}  // namespace fleettune::db::internal

#endif  // FLEETTUNE_DB_INTERNAL_POSTGRES_DATABASE_H_
