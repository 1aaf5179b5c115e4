// The SQLite implementation of Database: one connection per object, serialized by a mutex.
// Callers use Database::Open; this header is private to the db component.
#ifndef FLEETTUNE_DB_INTERNAL_SQLITE_DATABASE_H_
#define FLEETTUNE_DB_INTERNAL_SQLITE_DATABASE_H_

#include <sqlite3.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "db/database.h"
#include "db/internal/sqlite_import.h"
#include "db/internal/sqlite_open.h"
#include "db/internal/sqlite_strings.h"
#include "db/internal/sqlite_util.h"

namespace fleettune::db::internal {

class SqliteDatabase final : public Database {
 public:
  // What Open does with a file or directory this process may not write.
  using OpenMode = SqliteOpenMode;

  // See Database::Open; OpenSqliteFile (sqlite_open.h) says how the file is opened, checked
  // and set up, and what a read-only open may see.
  static absl::StatusOr<std::unique_ptr<SqliteDatabase>> Open(const std::string& path,
                                                              OpenMode mode);
  ~SqliteDatabase() override;

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
  // Parsing, validation and encoding on the reader's thread (db/internal/sqlite_import.h).
  absl::StatusOr<ImportCounts> Import(std::istream& in) override;

 private:
  absl::StatusOr<int64_t> PruneChecked(int keep) override;
  absl::StatusOr<Stats> ReadStats() override;

  // The import and InsertAll: `next`'s records in one write transaction (SqliteImporter).
  absl::StatusOr<ImportCounts> InsertPrepared(const PreparedSource& next);

  SqliteDatabase(std::string path, sqlite3* db, absl::Status read_only)
      : path_(std::move(path)), read_only_(std::move(read_only)), db_(db), strings_(db, path_) {}

  // The cached prepared statement for `sql`, compiled on first use.
  absl::StatusOr<sqlite3_stmt*> CachedStatement(const std::string& sql)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // The string ids of a query's filters; unset fields match anything.
  struct QueryIds {
    std::optional<int64_t> workload, target, device, job;
  };
  // The ids of the texts `query` filters by; nullopt when one was never stored, so nothing
  // can match.
  absl::StatusOr<std::optional<QueryIds>> ResolveQuery(const Query& query)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Binds the ids (and `limit` when >= 0) to the parameters of `stmt` named by QueryWhere.
  absl::Status BindQuery(sqlite3_stmt* stmt, const QueryIds& ids, int64_t limit)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Decodes a row of kSelectColumns, looking its string ids up.
  absl::StatusOr<Record> DecodeRow(sqlite3_stmt* stmt) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Runs a SELECT of all record columns and calls `visit` with every decoded row.
  absl::Status Scan(const std::string& sql, const Query& query, int64_t limit,
                    const std::function<absl::Status(Record&&)>& visit) ABSL_LOCKS_EXCLUDED(mutex_);
  // Runs a SELECT of all record columns and decodes every row.
  absl::StatusOr<std::vector<Record>> SelectRecords(const std::string& sql, const Query& query,
                                                    int64_t limit) ABSL_LOCKS_EXCLUDED(mutex_);
  // The string ids of a record's texts, adding new texts (inside the caller's transaction).
  struct RecordIds {
    int64_t workload = 0, target = 0, device = 0, job = 0;
    int64_t version = 0, llvm_version = 0, device_model = 0, device_cpu = 0, runtime_version = 0;
    bool new_job = false;  // the job's text was added by this call: it has no records yet
  };
  absl::StatusOr<RecordIds> InternLocked(const Record& record)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Inserts inside the caller's transaction; `keep_schema_version` keeps the record's own
  // schema_version (imports) instead of writing the current one.
  absl::Status InsertLocked(Record* record, const RecordIds& ids, bool keep_schema_version)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Runs `body` in a BEGIN IMMEDIATE ... COMMIT transaction, rolling back when it fails;
  // read_only_ without running it when the database was opened read-only.
  absl::Status InTransaction(const std::function<absl::Status()>& body)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  // Constant after construction.
  const std::string path_;
  const absl::Status read_only_;  // OK when writable; else why not (PermissionDenied)

  absl::Mutex mutex_;
  sqlite3* const db_ ABSL_PT_GUARDED_BY(mutex_);
  std::map<std::string, Statement> statements_ ABSL_GUARDED_BY(mutex_);
  sqlite3_stmt* insert_ ABSL_GUARDED_BY(mutex_) = nullptr;  // owned by statements_
  SqliteStrings strings_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace fleettune::db::internal

#endif  // FLEETTUNE_DB_INTERNAL_SQLITE_DATABASE_H_
