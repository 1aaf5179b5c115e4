#include "db/internal/sqlite_database.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "db/internal/record_codec.h"
#include "db/internal/schema.h"

namespace fleettune::db::internal {
namespace {

constexpr int kBusyTimeoutMs = 10'000;

// Columns in the order DecodeRow reads them.
constexpr char kSelectColumns[] =
    "SELECT id, workload_key, target_key, device_key, job, trial, config_json, config_hash, "
    "status, costs_json, mean_cost, gflops, error, board_id, timestamp_ms, version, "
    "llvm_version, device_model, device_cpu, device_cores, runtime_version, schema_version "
    "FROM records";

constexpr char kInsertSql[] =
    "INSERT INTO records (workload_key, target_key, device_key, job, trial, template_name, "
    "config_json, config_hash, status, costs_json, mean_cost, gflops, error, board_id, "
    "timestamp_ms, version, llvm_version, device_model, device_cpu, device_cores, "
    "runtime_version, schema_version) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, "
    "?19, ?20, ?21, ?22)";

// The import's duplicate check (served by the records_job index).
constexpr char kExistsSql[] =
    "SELECT 1 FROM records INDEXED BY records_job WHERE job = ?1 AND trial = ?2 AND workload_key = "
    "?3 AND "
    "target_key = ?4 AND device_key = ?5 AND config_hash = ?6 LIMIT 1";

// InvalidArgument naming the field when `record` cannot be stored.
absl::Status ValidateForInsert(const Record& record) {
  if (record.workload_key.empty()) {
    return absl::InvalidArgumentError("Insert: record.workload_key is empty");
  }
  if (!std::isfinite(record.mean_cost) || !std::isfinite(record.gflops)) {
    return absl::InvalidArgumentError(absl::StrCat("Insert: record.mean_cost (", record.mean_cost,
                                                   ") and record.gflops (", record.gflops,
                                                   ") must be finite"));
  }
  return absl::OkStatus();
}

// " WHERE workload_key = :workload AND ..." for the filters `query` sets; empty when none.
std::string QueryWhere(const Query& query, bool ok_only) {
  std::vector<std::string> terms;
  if (!query.workload_key.empty()) terms.push_back("workload_key = :workload");
  if (query.target_key) terms.push_back("target_key = :target");
  if (query.device_key) terms.push_back("device_key = :device");
  if (query.job) terms.push_back("job = :job");
  if (ok_only) terms.push_back("status = 'OK'");
  if (terms.empty()) return "";
  return absl::StrCat(" WHERE ", absl::StrJoin(terms, " AND "));
}

std::string ColumnText(sqlite3_stmt* stmt, int column) {
  const unsigned char* text = sqlite3_column_text(stmt, column);
  if (text == nullptr) return "";
  return std::string(reinterpret_cast<const char*>(text), sqlite3_column_bytes(stmt, column));
}

int BindText(sqlite3_stmt* stmt, int index, const std::string& text) {
  return sqlite3_bind_text(stmt, index, text.data(), static_cast<int>(text.size()),
                           SQLITE_TRANSIENT);
}

absl::StatusOr<Record> DecodeRow(sqlite3_stmt* stmt) {
  Record record;
  record.id = sqlite3_column_int64(stmt, 0);
  record.workload_key = ColumnText(stmt, 1);
  record.target_key = ColumnText(stmt, 2);
  record.device_key = ColumnText(stmt, 3);
  record.job = ColumnText(stmt, 4);
  record.trial = sqlite3_column_int64(stmt, 5);
  absl::StatusOr<v1::Config> config = ConfigFromJson(ColumnText(stmt, 6));
  if (!config.ok()) return config.status();
  record.config = *std::move(config);
  record.config_hash = HashFromColumn(sqlite3_column_int64(stmt, 7));
  absl::StatusOr<v1::MeasureStatus> status = StatusFromName(ColumnText(stmt, 8));
  if (!status.ok()) return status.status();
  record.status = *status;
  absl::StatusOr<std::vector<double>> costs = CostsFromJson(ColumnText(stmt, 9));
  if (!costs.ok()) return costs.status();
  record.costs = *std::move(costs);
  record.mean_cost = sqlite3_column_double(stmt, 10);
  record.gflops = sqlite3_column_double(stmt, 11);
  record.error = ColumnText(stmt, 12);
  record.board_id = ColumnText(stmt, 13);
  record.timestamp_ms = sqlite3_column_int64(stmt, 14);
  record.version = ColumnText(stmt, 15);
  record.llvm_version = ColumnText(stmt, 16);
  record.device.model = ColumnText(stmt, 17);
  record.device.cpu = ColumnText(stmt, 18);
  record.device.cores = static_cast<int32_t>(sqlite3_column_int64(stmt, 19));
  record.device.runtime_version = ColumnText(stmt, 20);
  record.schema_version = sqlite3_column_int64(stmt, 21);
  return record;
}

// Sets WAL mode and returns the journal mode now in effect. WAL is persistent in the file,
// so this is a no-op once any opener has done it. Switching needs a moment with no other
// connection in the file; the busy handler does not cover that, so retry until the busy
// timeout.
absl::StatusOr<std::string> SwitchToWal(sqlite3* db, const std::string& path) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(kBusyTimeoutMs);
  while (true) {
    absl::StatusOr<Statement> journal = Statement::Prepare(db, "PRAGMA journal_mode = WAL", path);
    if (!journal.ok()) return journal.status();
    const int rc = sqlite3_step(journal->get());
    if (rc == SQLITE_ROW) return ColumnText(journal->get(), 0);
    if ((rc & 0xff) != SQLITE_BUSY || std::chrono::steady_clock::now() > deadline) {
      return SqliteError(db, rc, path, "switching to WAL mode");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// Closes a connection that failed to open, returning `status`.
absl::Status CloseWith(sqlite3* db, absl::Status status) {
  sqlite3_close_v2(db);
  return status;
}

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteDatabase>> SqliteDatabase::Open(const std::string& path) {
  if (absl::Status status = CheckFileBeforeOpen(path); !status.ok()) return status;

  sqlite3* db = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  if (int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr); rc != SQLITE_OK) {
    return CloseWith(db, SqliteError(db, rc, path, "opening"));
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, kBusyTimeoutMs);

  // Recognise the file before anything writes to it: EnsureSchema only reads a foreign file.
  if (absl::Status status = EnsureSchema(db, path); !status.ok()) return CloseWith(db, status);

  absl::StatusOr<std::string> mode = SwitchToWal(db, path);
  if (!mode.ok()) return CloseWith(db, mode.status());
  if (*mode != "wal" && *mode != "memory") {
    return CloseWith(db, absl::FailedPreconditionError(absl::StrCat(
                             "tuning database '", path, "' cannot use WAL mode (journal mode is '",
                             *mode, "'); is it on a network file system?")));
  }
  // 64 MiB of page cache: a bulk import's transaction then rarely spills to the WAL early.
  if (absl::Status status =
          Exec(db, "PRAGMA synchronous = NORMAL; PRAGMA cache_size = -65536", path);
      !status.ok()) {
    return CloseWith(db, status);
  }
  return std::unique_ptr<SqliteDatabase>(new SqliteDatabase(path, db));
}

SqliteDatabase::~SqliteDatabase() {
  absl::MutexLock lock(&mutex_);
  statements_.clear();  // finalize before closing
  sqlite3_close_v2(db_);
}

absl::StatusOr<sqlite3_stmt*> SqliteDatabase::CachedStatement(const std::string& sql) {
  auto it = statements_.find(sql);
  if (it == statements_.end()) {
    absl::StatusOr<Statement> statement = Statement::Prepare(db_, sql, path_);
    if (!statement.ok()) return statement.status();
    it = statements_.emplace(sql, *std::move(statement)).first;
  }
  return it->second.get();
}

absl::Status SqliteDatabase::BindQuery(sqlite3_stmt* stmt, const Query& query, int64_t limit) {
  const auto bind = [&](const char* name, const std::string& value) -> absl::Status {
    const int index = sqlite3_bind_parameter_index(stmt, name);
    if (index == 0) return absl::OkStatus();
    if (int rc = BindText(stmt, index, value); rc != SQLITE_OK) {
      return SqliteError(db_, rc, path_, absl::StrCat("binding ", name));
    }
    return absl::OkStatus();
  };
  if (absl::Status s = bind(":workload", query.workload_key); !s.ok()) return s;
  if (query.target_key) {
    if (absl::Status s = bind(":target", *query.target_key); !s.ok()) return s;
  }
  if (query.device_key) {
    if (absl::Status s = bind(":device", *query.device_key); !s.ok()) return s;
  }
  if (query.job) {
    if (absl::Status s = bind(":job", *query.job); !s.ok()) return s;
  }
  if (limit >= 0) {
    const int index = sqlite3_bind_parameter_index(stmt, ":limit");
    if (int rc = sqlite3_bind_int64(stmt, index, limit); rc != SQLITE_OK) {
      return SqliteError(db_, rc, path_, "binding :limit");
    }
  }
  return absl::OkStatus();
}

absl::Status SqliteDatabase::InTransaction(const std::function<absl::Status()>& body) {
  if (absl::Status status = Exec(db_, "BEGIN IMMEDIATE", path_); !status.ok()) return status;
  absl::Status status = body();
  if (status.ok()) status = Exec(db_, "COMMIT", path_);
  if (!status.ok()) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  return status;
}

absl::Status SqliteDatabase::Insert(Record* record) {
  if (record == nullptr) return absl::InvalidArgumentError("Insert: record is null");
  if (absl::Status valid = ValidateForInsert(*record); !valid.ok()) return valid;
  if (record->timestamp_ms == 0) {
    record->timestamp_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  }
  absl::MutexLock lock(&mutex_);
  absl::Status status =
      InTransaction([&] { return InsertLocked(record, /*keep_schema_version=*/false); });
  if (!status.ok()) record->id = 0;
  return status;
}

absl::Status SqliteDatabase::InsertLocked(Record* record, bool keep_schema_version) {
  absl::StatusOr<std::string> config_json = ConfigToJson(record->config);
  if (!config_json.ok()) return config_json.status();
  absl::StatusOr<std::string> costs_json = CostsToJson(record->costs);
  if (!costs_json.ok()) return costs_json.status();
  absl::StatusOr<std::string> status_name = StatusToName(record->status);
  if (!status_name.ok()) return status_name.status();

  absl::StatusOr<sqlite3_stmt*> stmt = CachedStatement(kInsertSql);
  if (!stmt.ok()) return stmt.status();
  StatementResetter resetter(*stmt);
  int rc = SQLITE_OK;
  const auto text = [&](int index, const std::string& value) {
    if (rc == SQLITE_OK) rc = BindText(*stmt, index, value);
  };
  const auto integer = [&](int index, int64_t value) {
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(*stmt, index, value);
  };
  const auto real = [&](int index, double value) {
    if (rc == SQLITE_OK) rc = sqlite3_bind_double(*stmt, index, value);
  };
  text(1, record->workload_key);
  text(2, record->target_key);
  text(3, record->device_key);
  text(4, record->job);
  integer(5, record->trial);
  text(6, record->config.template_name());
  text(7, *config_json);
  integer(8, HashToColumn(record->config_hash));
  text(9, *status_name);
  text(10, *costs_json);
  real(11, record->mean_cost);
  real(12, record->gflops);
  text(13, record->error);
  text(14, record->board_id);
  integer(15, record->timestamp_ms);
  text(16, record->version);
  text(17, record->llvm_version);
  text(18, record->device.model);
  text(19, record->device.cpu);
  integer(20, record->device.cores);
  text(21, record->device.runtime_version);
  if (!keep_schema_version) record->schema_version = kSchemaVersion;
  integer(22, record->schema_version);
  if (rc != SQLITE_OK) return SqliteError(db_, rc, path_, "binding a record");
  if (rc = sqlite3_step(*stmt); rc != SQLITE_DONE) {
    return SqliteError(db_, rc, path_, "inserting a record");
  }
  record->id = sqlite3_last_insert_rowid(db_);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Record>> SqliteDatabase::SelectRecords(const std::string& sql,
                                                                  const Query& query,
                                                                  int64_t limit) {
  absl::MutexLock lock(&mutex_);
  absl::StatusOr<sqlite3_stmt*> stmt = CachedStatement(sql);
  if (!stmt.ok()) return stmt.status();
  StatementResetter resetter(*stmt);
  if (absl::Status status = BindQuery(*stmt, query, limit); !status.ok()) return status;
  std::vector<Record> records;
  int rc;
  while ((rc = sqlite3_step(*stmt)) == SQLITE_ROW) {
    absl::StatusOr<Record> record = DecodeRow(*stmt);
    if (!record.ok()) {
      return absl::Status(
          record.status().code(),
          absl::StrCat("tuning database '", path_, "', record ", sqlite3_column_int64(*stmt, 0),
                       ": ", record.status().message()));
    }
    records.push_back(*std::move(record));
  }
  if (rc != SQLITE_DONE) return SqliteError(db_, rc, path_, "reading records");
  return records;
}

absl::StatusOr<std::vector<Record>> SqliteDatabase::Best(const Query& query, int top_k) {
  if (top_k <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("Best: top_k must be >= 1, got ", top_k));
  }
  const std::string sql = absl::StrCat(kSelectColumns, QueryWhere(query, /*ok_only=*/true),
                                       " ORDER BY mean_cost ASC, id ASC LIMIT :limit");
  return SelectRecords(sql, query, top_k);
}

absl::StatusOr<std::vector<Record>> SqliteDatabase::History(const Query& query) {
  const std::string sql =
      absl::StrCat(kSelectColumns, QueryWhere(query, /*ok_only=*/false), " ORDER BY id ASC");
  return SelectRecords(sql, query, /*limit=*/-1);
}

absl::StatusOr<int64_t> SqliteDatabase::Count(const Query& query) {
  const std::string sql =
      absl::StrCat("SELECT count(*) FROM records", QueryWhere(query, /*ok_only=*/false));
  absl::MutexLock lock(&mutex_);
  absl::StatusOr<sqlite3_stmt*> stmt = CachedStatement(sql);
  if (!stmt.ok()) return stmt.status();
  StatementResetter resetter(*stmt);
  if (absl::Status status = BindQuery(*stmt, query, /*limit=*/-1); !status.ok()) return status;
  if (int rc = sqlite3_step(*stmt); rc != SQLITE_ROW) {
    return SqliteError(db_, rc, path_, "counting records");
  }
  return sqlite3_column_int64(*stmt, 0);
}

absl::Status SqliteDatabase::ForEach(const Query& query,
                                     const std::function<absl::Status(const Record&)>& visit) {
  const std::string sql =
      absl::StrCat(kSelectColumns, QueryWhere(query, /*ok_only=*/false), " ORDER BY id ASC");
  absl::MutexLock lock(&mutex_);
  absl::StatusOr<sqlite3_stmt*> stmt = CachedStatement(sql);
  if (!stmt.ok()) return stmt.status();
  StatementResetter resetter(*stmt);
  if (absl::Status status = BindQuery(*stmt, query, /*limit=*/-1); !status.ok()) return status;
  int rc;
  while ((rc = sqlite3_step(*stmt)) == SQLITE_ROW) {
    absl::StatusOr<Record> record = DecodeRow(*stmt);
    if (!record.ok()) {
      return absl::Status(
          record.status().code(),
          absl::StrCat("tuning database '", path_, "', record ", sqlite3_column_int64(*stmt, 0),
                       ": ", record.status().message()));
    }
    if (absl::Status status = visit(*record); !status.ok()) return status;
  }
  if (rc != SQLITE_DONE) return SqliteError(db_, rc, path_, "reading records");
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> SqliteDatabase::WorkloadsOfOp(
    const std::string& op, const std::string& target_key) {
  // A loose index scan over records_best: one index seek per distinct workload of the op,
  // however many records each has. ';' sorts right after ':'.
  static constexpr char kSql[] =
      "WITH RECURSIVE w(k) AS ("
      " SELECT min(workload_key) FROM records WHERE workload_key > ?1 AND workload_key < ?2"
      " UNION ALL SELECT (SELECT min(workload_key) FROM records"
      "   WHERE workload_key > w.k AND workload_key < ?2) FROM w WHERE w.k IS NOT NULL)"
      " SELECT k FROM w WHERE k IS NOT NULL AND EXISTS (SELECT 1 FROM records"
      "   WHERE workload_key = w.k AND target_key = ?3 AND status = 'OK')";
  absl::MutexLock lock(&mutex_);
  absl::StatusOr<sqlite3_stmt*> stmt = CachedStatement(kSql);
  if (!stmt.ok()) return stmt.status();
  StatementResetter resetter(*stmt);
  int rc = BindText(*stmt, 1, op + ":");
  if (rc == SQLITE_OK) rc = BindText(*stmt, 2, op + ";");
  if (rc == SQLITE_OK) rc = BindText(*stmt, 3, target_key);
  if (rc != SQLITE_OK) return SqliteError(db_, rc, path_, "binding a workload scan");
  std::vector<std::string> keys;
  while ((rc = sqlite3_step(*stmt)) == SQLITE_ROW) keys.push_back(ColumnText(*stmt, 0));
  if (rc != SQLITE_DONE) return SqliteError(db_, rc, path_, "listing workloads");
  return keys;
}

absl::StatusOr<ImportCounts> SqliteDatabase::InsertAll(const RecordSource& next) {
  ImportCounts counts;
  absl::MutexLock lock(&mutex_);
  absl::Status status = InTransaction([&]() -> absl::Status {
    absl::StatusOr<sqlite3_stmt*> exists = CachedStatement(kExistsSql);
    if (!exists.ok()) return exists.status();
    while (true) {
      absl::StatusOr<std::optional<Record>> record = next();
      if (!record.ok()) return record.status();
      if (!record->has_value()) return absl::OkStatus();
      Record& r = **record;
      ++counts.read;
      if (absl::Status valid = ValidateForInsert(r); !valid.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("record ", counts.read, ": ", valid.message()));
      }
      if (r.schema_version < 1 || r.schema_version > kSchemaVersion) {
        r.schema_version = kSchemaVersion;
      }
      {
        StatementResetter resetter(*exists);
        int rc = BindText(*exists, 1, r.job);
        if (rc == SQLITE_OK) rc = sqlite3_bind_int64(*exists, 2, r.trial);
        if (rc == SQLITE_OK) rc = BindText(*exists, 3, r.workload_key);
        if (rc == SQLITE_OK) rc = BindText(*exists, 4, r.target_key);
        if (rc == SQLITE_OK) rc = BindText(*exists, 5, r.device_key);
        if (rc == SQLITE_OK) rc = sqlite3_bind_int64(*exists, 6, HashToColumn(r.config_hash));
        if (rc != SQLITE_OK) return SqliteError(db_, rc, path_, "binding a duplicate check");
        rc = sqlite3_step(*exists);
        if (rc == SQLITE_ROW) {
          ++counts.duplicates;
          continue;
        }
        if (rc != SQLITE_DONE) return SqliteError(db_, rc, path_, "checking for a duplicate");
      }
      if (absl::Status inserted = InsertLocked(&r, /*keep_schema_version=*/true); !inserted.ok()) {
        return absl::Status(inserted.code(),
                            absl::StrCat("record ", counts.read, ": ", inserted.message()));
      }
      ++counts.inserted;
    }
  });
  if (!status.ok()) return status;
  return counts;
}

absl::StatusOr<int64_t> SqliteDatabase::Prune(int keep) {
  if (keep < 1)
    return absl::InvalidArgumentError(absl::StrCat("prune: keep must be >= 1, got ", keep));
  static constexpr char kSql[] =
      "DELETE FROM records WHERE id NOT IN (SELECT id FROM (SELECT id, row_number() OVER ("
      "PARTITION BY workload_key, target_key, device_key ORDER BY mean_cost ASC, id ASC) AS rank "
      "FROM records WHERE status = 'OK') WHERE rank <= ?1)";
  absl::MutexLock lock(&mutex_);
  int64_t deleted = 0;
  absl::Status status = InTransaction([&]() -> absl::Status {
    absl::StatusOr<sqlite3_stmt*> stmt = CachedStatement(kSql);
    if (!stmt.ok()) return stmt.status();
    StatementResetter resetter(*stmt);
    if (int rc = sqlite3_bind_int64(*stmt, 1, keep); rc != SQLITE_OK) {
      return SqliteError(db_, rc, path_, "binding prune");
    }
    if (int rc = sqlite3_step(*stmt); rc != SQLITE_DONE) {
      return SqliteError(db_, rc, path_, "pruning");
    }
    deleted = sqlite3_changes64(db_);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return deleted;
}

absl::StatusOr<Stats> SqliteDatabase::GetStats() {
  static constexpr char kSql[] =
      "SELECT workload_key, target_key, device_key, count(*), "
      "sum(status = 'OK'), max(CASE WHEN status = 'OK' THEN gflops ELSE 0 END), "
      "sum(schema_version < ?1) "
      "FROM records GROUP BY workload_key, target_key, device_key "
      "ORDER BY workload_key, target_key, device_key";
  Stats stats;
  stats.backend = "sqlite";
  stats.location = path_;
  absl::MutexLock lock(&mutex_);
  absl::StatusOr<int64_t> version = QueryInt(db_, "PRAGMA user_version", path_);
  if (!version.ok()) return version.status();
  stats.schema_version = *version;
  absl::StatusOr<sqlite3_stmt*> stmt = CachedStatement(kSql);
  if (!stmt.ok()) return stmt.status();
  StatementResetter resetter(*stmt);
  if (int rc = sqlite3_bind_int64(*stmt, 1, kSchemaVersion); rc != SQLITE_OK) {
    return SqliteError(db_, rc, path_, "binding stats");
  }
  int rc;
  while ((rc = sqlite3_step(*stmt)) == SQLITE_ROW) {
    KeyStats key;
    key.workload_key = ColumnText(*stmt, 0);
    key.target_key = ColumnText(*stmt, 1);
    key.device_key = ColumnText(*stmt, 2);
    key.records = sqlite3_column_int64(*stmt, 3);
    key.ok = sqlite3_column_int64(*stmt, 4);
    key.best_gflops = sqlite3_column_double(*stmt, 5);
    stats.records += key.records;
    stats.ok += key.ok;
    stats.from_older_schema += sqlite3_column_int64(*stmt, 6);
    stats.keys.push_back(std::move(key));
  }
  if (rc != SQLITE_DONE) return SqliteError(db_, rc, path_, "reading stats");
  return stats;
}

}  // namespace fleettune::db::internal
