// The SQLite implementation of Database: one connection per object, serialized by a mutex.
// Callers use Database::Open; this header is private to the db component.
#ifndef FLEETTUNE_DB_INTERNAL_SQLITE_DATABASE_H_
#define FLEETTUNE_DB_INTERNAL_SQLITE_DATABASE_H_

#include <sqlite3.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "db/database.h"
#include "db/internal/sqlite_util.h"

namespace fleettune::db::internal {

class SqliteDatabase final : public Database {
 public:
  // See Database::Open. Sets WAL mode, synchronous=NORMAL and a 10 s busy timeout, so
  // writers in other threads and processes wait for each other instead of failing.
  static absl::StatusOr<std::unique_ptr<SqliteDatabase>> Open(const std::string& path);
  ~SqliteDatabase() override;

  absl::Status Insert(Record* record) override;
  absl::StatusOr<std::vector<Record>> Best(const Query& query, int top_k) override;
  absl::StatusOr<std::vector<Record>> History(const Query& query) override;
  absl::StatusOr<int64_t> Count(const Query& query) override;
  absl::Status ForEach(const Query& query,
                       const std::function<absl::Status(const Record&)>& visit) override;
  absl::StatusOr<std::vector<std::string>> WorkloadsOfOp(const std::string& op,
                                                         const std::string& target_key) override;
  absl::StatusOr<ImportCounts> InsertAll(const RecordSource& next) override;
  absl::StatusOr<int64_t> Prune(int keep) override;
  absl::StatusOr<Stats> GetStats() override;

 private:
  SqliteDatabase(std::string path, sqlite3* db) : path_(std::move(path)), db_(db) {}

  // The cached prepared statement for `sql`, compiled on first use.
  absl::StatusOr<sqlite3_stmt*> CachedStatement(const std::string& sql)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Binds the query's filters (and `limit` when >= 0) to the parameters of `stmt` named
  // by QueryWhere.
  absl::Status BindQuery(sqlite3_stmt* stmt, const Query& query, int64_t limit)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Runs a SELECT of all record columns and decodes every row.
  absl::StatusOr<std::vector<Record>> SelectRecords(const std::string& sql, const Query& query,
                                                    int64_t limit) ABSL_LOCKS_EXCLUDED(mutex_);
  // Inserts inside the caller's transaction; `keep_schema_version` keeps the record's own
  // schema_version (imports) instead of writing the current one.
  absl::Status InsertLocked(Record* record, bool keep_schema_version)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Runs `body` in a BEGIN IMMEDIATE ... COMMIT transaction, rolling back when it fails.
  absl::Status InTransaction(const std::function<absl::Status()>& body)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  // Constant after construction.
  const std::string path_;

  absl::Mutex mutex_;
  sqlite3* const db_ ABSL_PT_GUARDED_BY(mutex_);
  std::map<std::string, Statement> statements_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace fleettune::db::internal

#endif  // FLEETTUNE_DB_INTERNAL_SQLITE_DATABASE_H_
