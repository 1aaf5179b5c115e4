#include "db/internal/sqlite_database.h"

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "db/internal/import_reader.h"
#include "db/internal/record_codec.h"
#include "db/internal/record_json.h"
#include "db/internal/schema.h"
#include "db/internal/sqlite_import.h"

namespace fleettune::db::internal {
namespace {

// Columns in the order DecodeRow reads them. Texts kept in table `strings` come as ids.
constexpr char kSelectColumns[] =
    "SELECT id, workload_id, target_id, device_id, job_id, trial, config_json, config_hash, "
    "status, costs_json, mean_cost, gflops, error, board_id, timestamp_ms, version_id, "
    "llvm_version_id, device_model_id, device_cpu_id, device_cores, runtime_version_id, "
    "schema_version, confirmed_json, confirmed_default_json FROM records";

// Page cache during a bulk import (KiB): big enough for the index pages it touches, small
// enough that the transaction spills full pages to the WAL as it goes (on the inserting
// thread while it waits for the parser) instead of writing them all in the COMMIT. Spilled
// pages are uncommitted frames: durability is unchanged.
constexpr int kImportCacheKib = 128 * 1024;

// " WHERE workload_id = :workload AND ..." for the filters `query` sets; empty when none.
std::string QueryWhere(const Query& query, bool ok_only) {
  std::vector<std::string> terms;
  if (!query.workload_key.empty()) terms.push_back("workload_id = :workload");
  if (query.target_key) terms.push_back("target_id = :target");
  if (query.device_key) terms.push_back("device_id = :device");
  if (query.job) terms.push_back("job_id = :job");
  if (ok_only) terms.push_back("status = 'OK'");
  if (terms.empty()) return "";
  return absl::StrCat(" WHERE ", absl::StrJoin(terms, " AND "));
}

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteDatabase>> SqliteDatabase::Open(const std::string& path,
                                                                     OpenMode open_mode) {
  absl::StatusOr<SqliteFile> file = OpenSqliteFile(path, open_mode);
  if (!file.ok()) return file.status();
  return std::unique_ptr<SqliteDatabase>(
      new SqliteDatabase(path, file->db, std::move(file->read_only)));
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

absl::StatusOr<std::optional<SqliteDatabase::QueryIds>> SqliteDatabase::ResolveQuery(
    const Query& query) {
  QueryIds ids;
  const auto find = [&](StringKind kind, const std::string& text, std::optional<int64_t>* id)
                        ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) -> absl::StatusOr<bool> {
    absl::StatusOr<std::optional<int64_t>> found = strings_.Find(kind, text);
    if (!found.ok()) return found.status();
    *id = *found;
    return found->has_value();
  };
  const std::pair<StringKind, const std::string*> filters[] = {
      {StringKind::kWorkload, query.workload_key.empty() ? nullptr : &query.workload_key},
      {StringKind::kTarget, query.target_key ? &*query.target_key : nullptr},
      {StringKind::kDevice, query.device_key ? &*query.device_key : nullptr},
      {StringKind::kJob, query.job ? &*query.job : nullptr}};
  std::optional<int64_t>* slots[] = {&ids.workload, &ids.target, &ids.device, &ids.job};
  for (int i = 0; i < 4; ++i) {
    if (filters[i].second == nullptr) continue;
    absl::StatusOr<bool> found = find(filters[i].first, *filters[i].second, slots[i]);
    if (!found.ok()) return found.status();
    if (!*found) return std::optional<QueryIds>();  // a text never stored matches nothing
  }
  return std::optional<QueryIds>(ids);
}

absl::Status SqliteDatabase::BindQuery(sqlite3_stmt* stmt, const QueryIds& ids, int64_t limit) {
  const std::pair<const char*, std::optional<int64_t>> values[] = {{":workload", ids.workload},
                                                                   {":target", ids.target},
                                                                   {":device", ids.device},
                                                                   {":job", ids.job}};
  for (const auto& [name, value] : values) {
    const int index = sqlite3_bind_parameter_index(stmt, name);
    if (index == 0 || !value) continue;
    if (int rc = sqlite3_bind_int64(stmt, index, *value); rc != SQLITE_OK) {
      return SqliteError(db_, rc, path_, absl::StrCat("binding ", name));
    }
  }
  if (limit >= 0) {
    const int index = sqlite3_bind_parameter_index(stmt, ":limit");
    if (int rc = sqlite3_bind_int64(stmt, index, limit); rc != SQLITE_OK) {
      return SqliteError(db_, rc, path_, "binding :limit");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Record> SqliteDatabase::DecodeRow(sqlite3_stmt* stmt) {
  Record record;
  absl::Status status;
  const auto text = [&](int column, std::string* out) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    if (!status.ok()) return;
    absl::StatusOr<const std::string*> value = strings_.Text(sqlite3_column_int64(stmt, column));
    if (value.ok()) {
      *out = **value;
    } else {
      status = value.status();
    }
  };
  record.id = sqlite3_column_int64(stmt, 0);
  text(1, &record.workload_key);
  text(2, &record.target_key);
  text(3, &record.device_key);
  text(4, &record.job);
  record.trial = sqlite3_column_int64(stmt, 5);
  absl::StatusOr<v1::Config> config = ConfigFromJson(ColumnText(stmt, 6));
  if (!config.ok()) return config.status();
  record.config = *std::move(config);
  record.config_hash = HashFromColumn(sqlite3_column_int64(stmt, 7));
  absl::StatusOr<v1::MeasureStatus> measure_status = StatusFromName(ColumnText(stmt, 8));
  if (!measure_status.ok()) return measure_status.status();
  record.status = *measure_status;
  absl::StatusOr<std::vector<double>> costs = CostsFromJson(ColumnText(stmt, 9));
  if (!costs.ok()) return costs.status();
  record.costs = *std::move(costs);
  record.mean_cost = sqlite3_column_double(stmt, 10);
  record.gflops = sqlite3_column_double(stmt, 11);
  record.error = ColumnText(stmt, 12);
  record.board_id = ColumnText(stmt, 13);
  record.timestamp_ms = sqlite3_column_int64(stmt, 14);
  text(15, &record.version);
  text(16, &record.llvm_version);
  text(17, &record.device.model);
  text(18, &record.device.cpu);
  record.device.cores = static_cast<int32_t>(sqlite3_column_int64(stmt, 19));
  text(20, &record.device.runtime_version);
  record.schema_version = sqlite3_column_int64(stmt, 21);
  for (auto [column, out] :
       {std::pair{22, &record.confirmed_costs}, std::pair{23, &record.confirmed_default_costs}}) {
    absl::StatusOr<std::vector<double>> confirmed = CostsFromJson(ColumnText(stmt, column));
    if (!confirmed.ok()) return confirmed.status();
    *out = *std::move(confirmed);
  }
  if (!status.ok()) return status;
  return record;
}

absl::Status SqliteDatabase::InTransaction(const std::function<absl::Status()>& body) {
  if (!read_only_.ok()) return read_only_;
  if (absl::Status status = Exec(db_, "BEGIN IMMEDIATE", path_); !status.ok()) return status;
  absl::Status status = body();
  if (status.ok()) status = Exec(db_, "COMMIT", path_);
  if (!status.ok()) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    strings_.Forget();  // it may hold ids of strings the rollback removed
  }
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
  absl::Status status = InTransaction([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) -> absl::Status {
    absl::StatusOr<RecordIds> ids = InternLocked(*record);
    if (!ids.ok()) return ids.status();
    return InsertLocked(record, *ids, /*keep_schema_version=*/false);
  });
  if (!status.ok()) record->id = 0;
  return status;
}

absl::StatusOr<SqliteDatabase::RecordIds> SqliteDatabase::InternLocked(const Record& record) {
  RecordIds ids;
  absl::Status status;
  const auto intern = [&](StringKind kind, const std::string& text, int64_t* id,
                          bool* added = nullptr) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    if (!status.ok()) return;
    absl::StatusOr<int64_t> interned = strings_.Intern(kind, text, added);
    if (interned.ok()) {
      *id = *interned;
    } else {
      status = interned.status();
    }
  };
  intern(StringKind::kWorkload, record.workload_key, &ids.workload);
  intern(StringKind::kTarget, record.target_key, &ids.target);
  intern(StringKind::kDevice, record.device_key, &ids.device);
  intern(StringKind::kJob, record.job, &ids.job, &ids.new_job);
  intern(StringKind::kValue, record.version, &ids.version);
  intern(StringKind::kValue, record.llvm_version, &ids.llvm_version);
  intern(StringKind::kValue, record.device.model, &ids.device_model);
  intern(StringKind::kValue, record.device.cpu, &ids.device_cpu);
  intern(StringKind::kValue, record.device.runtime_version, &ids.runtime_version);
  if (!status.ok()) return status;
  return ids;
}

absl::Status SqliteDatabase::InsertLocked(Record* record, const RecordIds& ids,
                                          bool keep_schema_version) {
  absl::StatusOr<std::string> config_json = ConfigToJson(record->config);
  if (!config_json.ok()) return config_json.status();
  absl::StatusOr<std::string> costs_json = CostsToJson(record->costs);
  if (!costs_json.ok()) return costs_json.status();
  absl::StatusOr<std::string> status_name = StatusToName(record->status);
  if (!status_name.ok()) return status_name.status();

  if (insert_ == nullptr) {
    absl::StatusOr<sqlite3_stmt*> stmt = CachedStatement(kInsertRecordSql);
    if (!stmt.ok()) return stmt.status();
    insert_ = *stmt;
  }
  sqlite3_stmt* const stmt = insert_;
  StatementResetter resetter(stmt);
  if (!keep_schema_version) record->schema_version = kSchemaVersion;
  const int64_t slots[kSlotCount] = {ids.workload,     ids.target,     ids.device,
                                     ids.job,          ids.version,    ids.llvm_version,
                                     ids.device_model, ids.device_cpu, ids.runtime_version};
  // Insert ignores the record's confirmation (Database::Insert): none, ranked by mean_cost.
  static const std::string kNone = "[]";
  const EncodedColumns columns{*config_json, *costs_json, *status_name,
                               kNone,        kNone,       record->mean_cost};
  int rc = BindRecord(stmt, *record, slots, columns);
  if (rc != SQLITE_OK) return SqliteError(db_, rc, path_, "binding a record");
  if (rc = sqlite3_step(stmt); rc != SQLITE_DONE) {
    return SqliteError(db_, rc, path_, "inserting a record");
  }
  record->id = sqlite3_last_insert_rowid(db_);
  return absl::OkStatus();
}

absl::Status SqliteDatabase::Scan(const std::string& sql, const Query& query, int64_t limit,
                                  const std::function<absl::Status(Record&&)>& visit) {
  absl::MutexLock lock(&mutex_);
  absl::StatusOr<std::optional<QueryIds>> ids = ResolveQuery(query);
  if (!ids.ok()) return ids.status();
  if (!ids->has_value()) return absl::OkStatus();
  absl::StatusOr<sqlite3_stmt*> stmt = CachedStatement(sql);
  if (!stmt.ok()) return stmt.status();
  StatementResetter resetter(*stmt);
  if (absl::Status status = BindQuery(*stmt, **ids, limit); !status.ok()) return status;
  int rc;
  while ((rc = sqlite3_step(*stmt)) == SQLITE_ROW) {
    absl::StatusOr<Record> record = DecodeRow(*stmt);
    if (!record.ok()) {
      return absl::Status(
          record.status().code(),
          absl::StrCat("tuning database '", path_, "', record ", sqlite3_column_int64(*stmt, 0),
                       ": ", record.status().message()));
    }
    if (absl::Status status = visit(*std::move(record)); !status.ok()) return status;
  }
  if (rc != SQLITE_DONE) return SqliteError(db_, rc, path_, "reading records");
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Record>> SqliteDatabase::SelectRecords(const std::string& sql,
                                                                  const Query& query,
                                                                  int64_t limit) {
  std::vector<Record> records;
  absl::Status status = Scan(sql, query, limit, [&](Record&& record) {
    records.push_back(std::move(record));
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return records;
}

absl::StatusOr<std::vector<Record>> SqliteDatabase::Best(const Query& query, int top_k) {
  if (top_k <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("Best: top_k must be >= 1, got ", top_k));
  }
  const std::string sql =
      absl::StrCat(kSelectColumns, QueryWhere(query, /*ok_only=*/true),
                   " ORDER BY (confirmed_json = '[]') ASC, rank_cost ASC, id ASC LIMIT :limit");
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
  absl::StatusOr<std::optional<QueryIds>> ids = ResolveQuery(query);
  if (!ids.ok()) return ids.status();
  if (!ids->has_value()) return 0;
  absl::StatusOr<sqlite3_stmt*> stmt = CachedStatement(sql);
  if (!stmt.ok()) return stmt.status();
  StatementResetter resetter(*stmt);
  if (absl::Status status = BindQuery(*stmt, **ids, /*limit=*/-1); !status.ok()) return status;
  if (int rc = sqlite3_step(*stmt); rc != SQLITE_ROW) {
    return SqliteError(db_, rc, path_, "counting records");
  }
  return sqlite3_column_int64(*stmt, 0);
}

absl::Status SqliteDatabase::ForEach(const Query& query,
                                     const std::function<absl::Status(const Record&)>& visit) {
  const std::string sql =
      absl::StrCat(kSelectColumns, QueryWhere(query, /*ok_only=*/false), " ORDER BY id ASC");
  return Scan(sql, query, /*limit=*/-1, [&](Record&& record) { return visit(record); });
}

absl::StatusOr<std::vector<std::string>> SqliteDatabase::WorkloadsOfOp(
    const std::string& op, const std::string& target_key) {
  // The op's workloads are a range of strings(kind, text); each is checked with one seek in
  // records_any_device. ';' sorts right after ':'.
  static constexpr char kSql[] =
      "SELECT s.text FROM strings s WHERE s.kind = 1 AND s.text > ?1 AND s.text < ?2"
      " AND EXISTS (SELECT 1 FROM records r WHERE r.workload_id = s.id AND r.target_id = ?3"
      " AND r.status = 'OK') ORDER BY s.text";
  absl::MutexLock lock(&mutex_);
  absl::StatusOr<std::optional<int64_t>> target = strings_.Find(StringKind::kTarget, target_key);
  if (!target.ok()) return target.status();
  std::vector<std::string> keys;
  if (!target->has_value()) return keys;
  absl::StatusOr<sqlite3_stmt*> stmt = CachedStatement(kSql);
  if (!stmt.ok()) return stmt.status();
  StatementResetter resetter(*stmt);
  int rc = BindText(*stmt, 1, op + ":");
  if (rc == SQLITE_OK) rc = BindText(*stmt, 2, op + ";");
  if (rc == SQLITE_OK) rc = sqlite3_bind_int64(*stmt, 3, **target);
  if (rc != SQLITE_OK) return SqliteError(db_, rc, path_, "binding a workload scan");
  while ((rc = sqlite3_step(*stmt)) == SQLITE_ROW) keys.push_back(ColumnText(*stmt, 0));
  if (rc != SQLITE_DONE) return SqliteError(db_, rc, path_, "listing workloads");
  return keys;
}

absl::StatusOr<ImportCounts> SqliteDatabase::Import(std::istream& in) {
  if (absl::Status header = ReadExportHeader(in); !header.ok()) return header;
  ImportReader reader(in, /*prepare=*/true);
  return InsertPrepared([&reader] { return reader.NextPrepared(); });
}

absl::StatusOr<ImportCounts> SqliteDatabase::InsertAll(const RecordSource& next) {
  ImportPreparer preparer;
  PreparedRecord row;
  return InsertPrepared([&]() -> absl::StatusOr<PreparedRecord*> {
    absl::StatusOr<std::optional<Record>> record = next();
    if (!record.ok()) return record.status();
    if (!record->has_value()) return nullptr;
    row.record = **std::move(record);
    preparer.Prepare(&row);
    return &row;
  });
}

absl::StatusOr<ImportCounts> SqliteDatabase::InsertPrepared(const PreparedSource& next) {
  absl::MutexLock lock(&mutex_);
  // The import's page cache size (kImportCacheKib) for the transaction; the usual size again
  // afterwards.
  (void)Exec(db_, absl::StrCat("PRAGMA cache_size = -", kImportCacheKib).c_str(), path_);
  absl::StatusOr<ImportCounts> counts;
  absl::Status status = InTransaction([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) -> absl::Status {
    SqliteImporter importer(db_, &strings_, path_);
    counts = importer.Run(next);
    return counts.status();
  });
  (void)Exec(db_, absl::StrCat("PRAGMA cache_size = -", kSqliteCacheKib).c_str(), path_);
  if (!status.ok()) return status;
  return counts;
}

absl::StatusOr<int64_t> SqliteDatabase::PruneChecked(int keep) {
  static constexpr char kSql[] =
      "DELETE FROM records WHERE id NOT IN (SELECT id FROM (SELECT id, row_number() OVER ("
      "PARTITION BY workload_id, target_id, device_id ORDER BY (confirmed_json = '[]') ASC, "
      "rank_cost ASC, id ASC) AS rank "
      "FROM records WHERE status = 'OK') WHERE rank <= ?1)";
  absl::MutexLock lock(&mutex_);
  int64_t deleted = 0;
  absl::Status status = InTransaction([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) -> absl::Status {
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

absl::StatusOr<Stats> SqliteDatabase::ReadStats() {
  // best_gflops (KeyStats): a record's GFLOPS at its rank cost. gflops * mean_cost is the
  // workload's work, the same for every record of a key, so the largest is the GFLOPS of
  // the record Best ranks first; unconfirmed records give their gflops unchanged.
  static constexpr char kSql[] =
      "SELECT workload_id, target_id, device_id, count(*), "
      "sum(status = 'OK'), max(CASE WHEN status <> 'OK' THEN 0 WHEN rank_cost = mean_cost "
      "OR rank_cost <= 0 THEN gflops ELSE gflops * mean_cost / rank_cost END), "
      "sum(schema_version < ?1) "
      "FROM records GROUP BY workload_id, target_id, device_id";
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
    for (auto [column, out] : {std::pair<int, std::string*>{0, &key.workload_key},
                               {1, &key.target_key},
                               {2, &key.device_key}}) {
      absl::StatusOr<const std::string*> text = strings_.Text(sqlite3_column_int64(*stmt, column));
      if (!text.ok()) {
        return absl::Status(text.status().code(), absl::StrCat("tuning database '", path_,
                                                               "': ", text.status().message()));
      }
      *out = **text;
    }
    key.records = sqlite3_column_int64(*stmt, 3);
    key.ok = sqlite3_column_int64(*stmt, 4);
    key.best_gflops = sqlite3_column_double(*stmt, 5);
    stats.from_older_schema += sqlite3_column_int64(*stmt, 6);
    stats.keys.push_back(std::move(key));
  }
  if (rc != SQLITE_DONE) return SqliteError(db_, rc, path_, "reading stats");
  return stats;
}

}  // namespace fleettune::db::internal
