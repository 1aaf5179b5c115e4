#include "db/internal/postgres_database.h"

#include <libpq-fe.h>

#include <chrono>
#include <cmath>
#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "db/internal/record_codec.h"

namespace fleettune::db::internal {
namespace {

// An import adding at least this many records refreshes the planner's statistics.
constexpr int64_t kAnalyzeAfter = 10'000;

// "FTDB": the advisory lock that serializes schema creation and migration.
constexpr int64_t kSchemaLock = 0x46544442;

constexpr char kColumns[] =
    "id, workload_key, target_key, device_key, job, trial, config_json, config_hash, status, "
    "costs_json, mean_cost, gflops, error, board_id, timestamp_ms, version, llvm_version, "
    "device_model, device_cpu, device_cores, runtime_version, schema_version";

// kMigrations[i] brings a version-(i+1) database to version i+2: PostgreSQL support began
// with schema 2, so the first entry creates it.
constexpr const char* kMigrations[] = {
    R"sql(
CREATE TABLE records (
  id              BIGSERIAL PRIMARY KEY,
  workload_key    TEXT COLLATE "C" NOT NULL,
  target_key      TEXT COLLATE "C" NOT NULL,
  device_key      TEXT COLLATE "C" NOT NULL,
  job             TEXT COLLATE "C" NOT NULL,
  trial           BIGINT NOT NULL,
  template_name   TEXT NOT NULL,
  config_json     TEXT NOT NULL,
  config_hash     BIGINT NOT NULL,
  status          TEXT NOT NULL,
  costs_json      TEXT NOT NULL,
  mean_cost       DOUBLE PRECISION NOT NULL,
  gflops          DOUBLE PRECISION NOT NULL,
  error           TEXT NOT NULL,
  board_id        TEXT NOT NULL,
  timestamp_ms    BIGINT NOT NULL,
  version         TEXT NOT NULL,
  llvm_version    TEXT NOT NULL DEFAULT '',
  device_model    TEXT NOT NULL DEFAULT '',
  device_cpu      TEXT NOT NULL DEFAULT '',
  device_cores    INTEGER NOT NULL DEFAULT 0,
  runtime_version TEXT NOT NULL DEFAULT '',
  schema_version  BIGINT NOT NULL DEFAULT 2
);
CREATE INDEX records_best ON records (workload_key, target_key, device_key, status, mean_cost);
CREATE INDEX records_job ON records (job, trial);
CREATE INDEX records_config ON records (workload_key, config_hash);
CREATE INDEX records_any_device ON records (workload_key, target_key, status, mean_cost);
)sql",
    // Version 3: records_job also serves the import's duplicate check; records_config served
    // no query. (SQLite's version 3 also moves texts to a strings table; PostgreSQL keeps
    // them in place, its indexes deduplicate repeated keys.)
    R"sql(
DROP INDEX IF EXISTS records_config;
DROP INDEX IF EXISTS records_job;
CREATE INDEX records_job
  ON records (job, trial, workload_key, target_key, device_key, config_hash);
ALTER TABLE records ALTER COLUMN schema_version SET DEFAULT 3;
)sql",
};

using Result = std::unique_ptr<PGresult, decltype(&PQclear)>;

class Connection {
 public:
  Connection(PGconn* conn, const std::string& location) : conn_(conn), location_(location) {}

  // Runs `sql` with text parameters; OK when the result is COMMAND_OK or TUPLES_OK.
  absl::StatusOr<Result> Run(const std::string& sql, const std::vector<std::string>& params,
                             absl::string_view what) {
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const std::string& p : params) values.push_back(p.c_str());
    Result result(PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr,
                               values.data(), nullptr, nullptr, 0),
                  &PQclear);
    if (absl::Status status = Check(result.get(), what); !status.ok()) return status;
    return result;
  }

  absl::Status Check(PGresult* result, absl::string_view what) {
    const ExecStatusType type = result ? PQresultStatus(result) : PGRES_FATAL_ERROR;
    if (type == PGRES_COMMAND_OK || type == PGRES_TUPLES_OK || type == PGRES_SINGLE_TUPLE) {
      return absl::OkStatus();
    }
    return Error(result, what);
  }

  absl::Status Error(PGresult* result, absl::string_view what) {
    std::string message = result ? PQresultErrorMessage(result) : PQerrorMessage(conn_);
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
      message.pop_back();
    }
    std::string text = absl::StrCat("tuning database '", location_, "': ", what, ": ", message);
    if (PQstatus(conn_) != CONNECTION_OK) return absl::UnavailableError(text);
    const char* state = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
    if (state != nullptr && std::string(state).rfind("40", 0) == 0) {
      return absl::AbortedError(text);  // serialization failure, deadlock
    }
    return absl::InternalError(text);
  }

  // Runs one or more statements without parameters.
  absl::Status Exec(const std::string& sql, absl::string_view what) {
    Result result(PQexec(conn_, sql.c_str()), &PQclear);
    return Check(result.get(), what);
  }

  PGconn* get() const { return conn_; }

 private:
  PGconn* conn_;
  const std::string& location_;
};

std::string Real(double value) { return absl::StrFormat("%.17g", value); }

// " WHERE workload_key = $1 AND ..." for the filters `query` sets, appending their values.
std::string Where(const Query& query, bool ok_only, std::vector<std::string>* params) {
  std::vector<std::string> terms;
  const auto add = [&](const char* column, const std::string& value) {
    params->push_back(value);
    terms.push_back(absl::StrCat(column, " = $", params->size()));
  };
  if (!query.workload_key.empty()) add("workload_key", query.workload_key);
  if (query.target_key) add("target_key", *query.target_key);
  if (query.device_key) add("device_key", *query.device_key);
  if (query.job) add("job", *query.job);
  if (ok_only) terms.push_back("status = 'OK'");
  if (terms.empty()) return "";
  return absl::StrCat(" WHERE ", absl::StrJoin(terms, " AND "));
}

int64_t Int(PGresult* result, int row, int column) {
  int64_t value = 0;
  (void)absl::SimpleAtoi(PQgetvalue(result, row, column), &value);
  return value;
}

double Double(PGresult* result, int row, int column) {
  return std::strtod(PQgetvalue(result, row, column), nullptr);
}

std::string Text(PGresult* result, int row, int column) {
  return std::string(PQgetvalue(result, row, column), PQgetlength(result, row, column));
}

absl::StatusOr<Record> Decode(PGresult* result, int row) {
  Record record;
  record.id = Int(result, row, 0);
  record.workload_key = Text(result, row, 1);
  record.target_key = Text(result, row, 2);
  record.device_key = Text(result, row, 3);
  record.job = Text(result, row, 4);
  record.trial = Int(result, row, 5);
  absl::StatusOr<v1::Config> config = ConfigFromJson(Text(result, row, 6));
  if (!config.ok()) return config.status();
  record.config = *std::move(config);
  record.config_hash = HashFromColumn(Int(result, row, 7));
  absl::StatusOr<v1::MeasureStatus> status = StatusFromName(Text(result, row, 8));
  if (!status.ok()) return status.status();
  record.status = *status;
  absl::StatusOr<std::vector<double>> costs = CostsFromJson(Text(result, row, 9));
  if (!costs.ok()) return costs.status();
  record.costs = *std::move(costs);
  record.mean_cost = Double(result, row, 10);
  record.gflops = Double(result, row, 11);
  record.error = Text(result, row, 12);
  record.board_id = Text(result, row, 13);
  record.timestamp_ms = Int(result, row, 14);
  record.version = Text(result, row, 15);
  record.llvm_version = Text(result, row, 16);
  record.device.model = Text(result, row, 17);
  record.device.cpu = Text(result, row, 18);
  record.device.cores = static_cast<int32_t>(Int(result, row, 19));
  record.device.runtime_version = Text(result, row, 20);
  record.schema_version = Int(result, row, 21);
  return record;
}

// The INSERT's parameters for `record` (21 of them; $22 is the schema version).
absl::StatusOr<std::vector<std::string>> InsertParams(const Record& record) {
  if (absl::Status valid = ValidateForInsert(record); !valid.ok()) return valid;
  absl::StatusOr<std::string> config_json = ConfigToJson(record.config);
  if (!config_json.ok()) return config_json.status();
  absl::StatusOr<std::string> costs_json = CostsToJson(record.costs);
  if (!costs_json.ok()) return costs_json.status();
  absl::StatusOr<std::string> status_name = StatusToName(record.status);
  if (!status_name.ok()) return status_name.status();
  return std::vector<std::string>{record.workload_key,
                                  record.target_key,
                                  record.device_key,
                                  record.job,
                                  absl::StrCat(record.trial),
                                  record.config.template_name(),
                                  *config_json,
                                  absl::StrCat(HashToColumn(record.config_hash)),
                                  *status_name,
                                  *costs_json,
                                  Real(record.mean_cost),
                                  Real(record.gflops),
                                  record.error,
                                  record.board_id,
                                  absl::StrCat(record.timestamp_ms),
                                  record.version,
                                  record.llvm_version,
                                  record.device.model,
                                  record.device.cpu,
                                  absl::StrCat(record.device.cores),
                                  record.device.runtime_version,
                                  absl::StrCat(record.schema_version)};
}

constexpr char kInsertSql[] =
    "INSERT INTO records (workload_key, target_key, device_key, job, trial, template_name, "
    "config_json, config_hash, status, costs_json, mean_cost, gflops, error, board_id, "
    "timestamp_ms, version, llvm_version, device_model, device_cpu, device_cores, "
    "runtime_version, schema_version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, "
    "$12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22) RETURNING id";

// Appends `value` escaped for COPY's text format.
void AppendCopyText(const std::string& value, std::string* out) {
  for (char c : value) {
    switch (c) {
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        out->push_back(c);
    }
  }
}

// Creates or migrates the schema; runs inside the caller's transaction holding kSchemaLock.
absl::Status EnsureSchemaLocked(Connection& conn, const std::string& location) {
  absl::StatusOr<Result> tables = conn.Run(
      "SELECT to_regclass('fleettune_meta') IS NOT NULL, to_regclass('records') IS NOT NULL", {},
      "inspecting the schema");
  if (!tables.ok()) return tables.status();
  const bool has_meta = Text(tables->get(), 0, 0) == "t";
  const bool has_records = Text(tables->get(), 0, 1) == "t";
  int64_t version = 1;  // "no fleettune schema yet": the first migration creates version 2
  if (has_meta) {
    absl::StatusOr<Result> row = conn.Run(
        "SELECT value FROM fleettune_meta WHERE key = 'schema_version'", {}, "reading the schema");
    if (!row.ok()) return row.status();
    if (PQntuples(row->get()) != 1 || !absl::SimpleAtoi(Text(row->get(), 0, 0), &version)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "tuning database '", location,
          "' has a fleettune_meta table without a schema version; refusing to modify it"));
    }
    if (version > kCurrentSchemaVersion) {
      return absl::FailedPreconditionError(absl::StrCat(
          "tuning database '", location, "' has schema version ", version,
          ", newer than this fleettune supports (", kCurrentSchemaVersion, "); upgrade fleettune"));
    }
  } else if (has_records) {
    return absl::FailedPreconditionError(
        absl::StrCat("'", location,
                     "' has a 'records' table that is not fleettune's (no fleettune_meta); "
                     "refusing to modify it"));
  } else if (absl::Status s = conn.Exec(
                 "CREATE TABLE fleettune_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
                 "creating the schema");
             !s.ok()) {
    return s;
  }
  for (int64_t v = version; v < kCurrentSchemaVersion; ++v) {
    if (absl::Status s = conn.Exec(kMigrations[v - 1], absl::StrCat("migrating to ", v + 1));
        !s.ok()) {
      return s;
    }
  }
  if (version == kCurrentSchemaVersion) return absl::OkStatus();
  return conn
      .Run(
          "INSERT INTO fleettune_meta (key, value) VALUES ('application', 'fleettune'), "
          "('schema_version', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
          {absl::StrCat(kCurrentSchemaVersion)}, "writing the schema version")
      .status();
}

}  // namespace

std::string RedactUrl(const std::string& url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  const size_t start = scheme + 3;
  const size_t at = url.find('@', start);
  const size_t slash = url.find('/', start);
  if (at == std::string::npos || (slash != std::string::npos && slash < at)) return url;
  const size_t colon = url.find(':', start);
  if (colon == std::string::npos || colon > at) return url;
  return absl::StrCat(url.substr(0, colon + 1), "***", url.substr(at));
}

absl::StatusOr<std::unique_ptr<PostgresDatabase>> PostgresDatabase::Open(const std::string& url) {
  const std::string location = RedactUrl(url);
  PGconn* conn = PQconnectdb(url.c_str());
  if (conn == nullptr || PQstatus(conn) != CONNECTION_OK) {
    std::string message = conn ? PQerrorMessage(conn) : "out of memory";
    while (!message.empty() && message.back() == '\n') message.pop_back();
    PQfinish(conn);
    return absl::UnavailableError(
        absl::StrCat("cannot connect to tuning database '", location, "': ", message));
  }
  Connection c(conn, location);
  absl::Status status = c.Exec("SET client_min_messages = warning", "configuring the session");
  if (status.ok()) status = c.Exec("BEGIN", "starting schema check");
  if (status.ok()) {
    status =
        c.Run("SELECT pg_advisory_xact_lock($1)", {absl::StrCat(kSchemaLock)}, "locking the schema")
            .status();
    if (status.ok()) status = EnsureSchemaLocked(c, location);
    if (status.ok()) status = c.Exec("COMMIT", "committing the schema");
    if (!status.ok()) PQclear(PQexec(conn, "ROLLBACK"));
  }
  if (!status.ok()) {
    PQfinish(conn);
    return status;
  }
  return std::unique_ptr<PostgresDatabase>(new PostgresDatabase(location, conn));
}

PostgresDatabase::~PostgresDatabase() {
  absl::MutexLock lock(&mutex_);
  PQfinish(conn_);
}

absl::Status PostgresDatabase::Insert(Record* record) {
  if (record == nullptr) return absl::InvalidArgumentError("Insert: record is null");
  if (record->timestamp_ms == 0) {
    record->timestamp_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  }
  record->schema_version = kCurrentSchemaVersion;
  absl::StatusOr<std::vector<std::string>> params = InsertParams(*record);
  if (!params.ok()) return params.status();
  absl::MutexLock lock(&mutex_);
  Connection conn(conn_, location_);
  // One statement: its own transaction.
  absl::StatusOr<Result> result = conn.Run(kInsertSql, *params, "inserting a record");
  if (!result.ok()) {
    record->id = 0;
    return result.status();
  }
  record->id = Int(result->get(), 0, 0);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Record>> PostgresDatabase::Best(const Query& query, int top_k) {
  if (top_k <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("Best: top_k must be >= 1, got ", top_k));
  }
  std::vector<std::string> params;
  std::string sql =
      absl::StrCat("SELECT ", kColumns, " FROM records", Where(query, /*ok_only=*/true, &params));
  params.push_back(absl::StrCat(top_k));
  absl::StrAppend(&sql, " ORDER BY mean_cost ASC, id ASC LIMIT $", params.size());
  std::vector<Record> records;
  absl::MutexLock lock(&mutex_);
  Connection conn(conn_, location_);
  absl::StatusOr<Result> result = conn.Run(sql, params, "reading best records");
  if (!result.ok()) return result.status();
  for (int row = 0; row < PQntuples(result->get()); ++row) {
    absl::StatusOr<Record> record = Decode(result->get(), row);
    if (!record.ok()) return record.status();
    records.push_back(*std::move(record));
  }
  return records;
}

absl::StatusOr<std::vector<Record>> PostgresDatabase::History(const Query& query) {
  std::vector<Record> records;
  absl::Status status = ForEach(query, [&](const Record& record) {
    records.push_back(record);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return records;
}

absl::StatusOr<int64_t> PostgresDatabase::Count(const Query& query) {
  std::vector<std::string> params;
  const std::string sql =
      absl::StrCat("SELECT count(*) FROM records", Where(query, /*ok_only=*/false, &params));
  absl::MutexLock lock(&mutex_);
  Connection conn(conn_, location_);
  absl::StatusOr<Result> result = conn.Run(sql, params, "counting records");
  if (!result.ok()) return result.status();
  return Int(result->get(), 0, 0);
}

absl::Status PostgresDatabase::ForEach(const Query& query,
                                       const std::function<absl::Status(const Record&)>& visit) {
  std::vector<std::string> params;
  const std::string sql = absl::StrCat("SELECT ", kColumns, " FROM records",
                                       Where(query, /*ok_only=*/false, &params), " ORDER BY id");
  std::vector<const char*> values;
  for (const std::string& p : params) values.push_back(p.c_str());
  absl::MutexLock lock(&mutex_);
  Connection conn(conn_, location_);
  if (!PQsendQueryParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr,
                         values.data(), nullptr, nullptr, 0)) {
    return conn.Error(nullptr, "reading records");
  }
  PQsetSingleRowMode(conn_);  // stream: rows arrive one at a time
  absl::Status status;
  while (true) {
    Result result(PQgetResult(conn_), &PQclear);
    if (result == nullptr) break;
    if (!status.ok()) continue;  // drain what is left after an error
    if (absl::Status s = conn.Check(result.get(), "reading records"); !s.ok()) {
      status = s;
      continue;
    }
    for (int row = 0; row < PQntuples(result.get()) && status.ok(); ++row) {
      absl::StatusOr<Record> record = Decode(result.get(), row);
      status = record.ok() ? visit(*record) : record.status();
    }
  }
  return status;
}

absl::StatusOr<std::vector<std::string>> PostgresDatabase::WorkloadsOfOp(
    const std::string& op, const std::string& target_key) {
  static constexpr char kSql[] =
      "WITH RECURSIVE w(k) AS ("
      " SELECT min(workload_key) FROM records WHERE workload_key > $1 AND workload_key < $2"
      " UNION ALL SELECT (SELECT min(workload_key) FROM records"
      "   WHERE workload_key > w.k AND workload_key < $2) FROM w WHERE w.k IS NOT NULL)"
      " SELECT k FROM w WHERE k IS NOT NULL AND EXISTS (SELECT 1 FROM records"
      "   WHERE workload_key = w.k AND target_key = $3 AND status = 'OK') ORDER BY k";
  absl::MutexLock lock(&mutex_);
  Connection conn(conn_, location_);
  absl::StatusOr<Result> result =
      conn.Run(kSql, {op + ":", op + ";", target_key}, "listing workloads");
  if (!result.ok()) return result.status();
  std::vector<std::string> keys;
  for (int row = 0; row < PQntuples(result->get()); ++row) {
    keys.push_back(Text(result->get(), row, 0));
  }
  return keys;
}

absl::StatusOr<ImportCounts> PostgresDatabase::InsertAll(const RecordSource& next) {
  // The records stream into a temporary table with COPY (no round trip per record); one
  // INSERT ... SELECT then adds those that are not duplicates of a stored record or of an
  // earlier one of the import, in input order (the temporary table's id is that order).
  // "id" (the input order), then the INSERT's columns in InsertParams' order.
  static constexpr char kCopyColumns[] =
      "id, workload_key, target_key, device_key, job, trial, template_name, config_json, "
      "config_hash, status, costs_json, mean_cost, gflops, error, board_id, timestamp_ms, "
      "version, llvm_version, device_model, device_cpu, device_cores, runtime_version, "
      "schema_version";
  // The duplicate key (Database::InsertAll): where the record belongs and what was measured.
  static constexpr char kDedupKey[] =
      "job, trial, workload_key, target_key, device_key, config_hash, timestamp_ms, board_id, "
      "status, costs_json";
  ImportCounts counts;
  absl::MutexLock lock(&mutex_);
  Connection conn(conn_, location_);
  absl::Status status = conn.Exec(
      // work_mem: the duplicate check sorts the whole import; in memory when it fits.
      "BEGIN; SET LOCAL work_mem = '256MB'; CREATE TEMP TABLE import_rows ON COMMIT DROP AS "
      "SELECT * FROM records WITH NO DATA",
      "starting an import");
  if (status.ok()) {
    Result copy(
        PQexec(conn_, absl::StrCat("COPY import_rows (", kCopyColumns, ") FROM STDIN").c_str()),
        &PQclear);
    if (PQresultStatus(copy.get()) != PGRES_COPY_IN) {
      status = conn.Error(copy.get(), "starting an import's COPY");
    }
  }
  if (!status.ok()) {
    PQclear(PQexec(conn_, "ROLLBACK"));
    return status;
  }
  std::string buffer;
  const auto flush = [&]() -> absl::Status {
    if (buffer.empty()) return absl::OkStatus();
    if (PQputCopyData(conn_, buffer.data(), static_cast<int>(buffer.size())) != 1) {
      return conn.Error(nullptr, "sending records");
    }
    buffer.clear();
    return absl::OkStatus();
  };
  while (status.ok()) {
    absl::StatusOr<std::optional<Record>> record = next();
    if (!record.ok()) {
      status = record.status();
      break;
    }
    if (!record->has_value()) break;
    Record& r = **record;
    ++counts.read;
    if (r.schema_version < 1 || r.schema_version > kCurrentSchemaVersion) {
      r.schema_version = kCurrentSchemaVersion;
    }
    absl::StatusOr<std::vector<std::string>> params = InsertParams(r);
    if (!params.ok()) {
      status = absl::InvalidArgumentError(
          absl::StrCat("record ", counts.read, ": ", params.status().message()));
      break;
    }
    absl::StrAppend(&buffer, counts.read);
    for (const std::string& value : *params) {
      buffer.push_back('\t');
      AppendCopyText(value, &buffer);
    }
    buffer.push_back('\n');
    if (buffer.size() >= (1 << 20)) status = flush();
  }
  if (status.ok()) status = flush();
  if (PQputCopyEnd(conn_, status.ok() ? nullptr : "import aborted") != 1 && status.ok()) {
    status = conn.Error(nullptr, "ending the import's COPY");
  }
  while (true) {  // the COPY's result(s)
    Result result(PQgetResult(conn_), &PQclear);
    if (result == nullptr) break;
    if (absl::Status copied = conn.Check(result.get(), "copying records");
        status.ok() && !copied.ok()) {
      status = copied;
    }
  }
  int64_t inserted = 0;
  if (status.ok()) {
    const absl::string_view data_columns = absl::string_view(kCopyColumns).substr(4);
    absl::StatusOr<Result> result = conn.Run(
        absl::StrCat(
            "INSERT INTO records (", data_columns, ") SELECT ", data_columns,
            " FROM (SELECT DISTINCT ON (", kDedupKey, ") * FROM import_rows ORDER BY ", kDedupKey,
            ", id) AS d WHERE NOT EXISTS (SELECT 1 FROM records r WHERE r.job = d.job AND "
            "r.trial = d.trial AND r.workload_key = d.workload_key AND r.target_key = "
            "d.target_key AND r.device_key = d.device_key AND r.config_hash = d.config_hash AND "
            "r.timestamp_ms = d.timestamp_ms AND r.board_id = d.board_id AND r.status = d.status "
            "AND r.costs_json = d.costs_json) ORDER BY d.id"),
        {}, "importing records");
    if (result.ok()) {
      (void)absl::SimpleAtoi(PQcmdTuples(result->get()), &inserted);
    } else {
      status = result.status();
    }
  }
  // Fresh planner statistics after a large import: without them the planner may pick scans
  // over the lookup indexes (measured: 4 ms instead of 0.1 ms per best lookup at 1M records).
  if (status.ok() && inserted >= kAnalyzeAfter) {
    status = conn.Exec("ANALYZE records", "updating statistics after an import");
  }
  if (status.ok()) status = conn.Exec("COMMIT", "committing an import");
  if (!status.ok()) {
    PQclear(PQexec(conn_, "ROLLBACK"));
    return status;
  }
  counts.inserted = inserted;
  counts.duplicates = counts.read - inserted;
  return counts;
}

absl::StatusOr<int64_t> PostgresDatabase::Prune(int keep) {
  if (keep < 1) {
    return absl::InvalidArgumentError(absl::StrCat("prune: keep must be >= 1, got ", keep));
  }
  static constexpr char kSql[] =
      "DELETE FROM records WHERE id NOT IN (SELECT id FROM (SELECT id, row_number() OVER ("
      "PARTITION BY workload_key, target_key, device_key ORDER BY mean_cost ASC, id ASC) AS rank "
      "FROM records WHERE status = 'OK') AS ranked WHERE rank <= $1)";
  absl::MutexLock lock(&mutex_);
  Connection conn(conn_, location_);
  absl::StatusOr<Result> result = conn.Run(kSql, {absl::StrCat(keep)}, "pruning");
  if (!result.ok()) return result.status();
  int64_t deleted = 0;
  (void)absl::SimpleAtoi(PQcmdTuples(result->get()), &deleted);
  return deleted;
}

absl::StatusOr<Stats> PostgresDatabase::GetStats() {
  static constexpr char kSql[] =
      "SELECT workload_key, target_key, device_key, count(*), "
      "count(*) FILTER (WHERE status = 'OK'), "
      "coalesce(max(gflops) FILTER (WHERE status = 'OK'), 0), "
      "count(*) FILTER (WHERE schema_version < $1) "
      "FROM records GROUP BY workload_key, target_key, device_key "
      "ORDER BY workload_key, target_key, device_key";
  Stats stats;
  stats.backend = "postgresql";
  stats.location = location_;
  absl::MutexLock lock(&mutex_);
  Connection conn(conn_, location_);
  absl::StatusOr<Result> version = conn.Run(
      "SELECT value FROM fleettune_meta WHERE key = 'schema_version'", {}, "reading stats");
  if (!version.ok()) return version.status();
  if (PQntuples(version->get()) == 1) stats.schema_version = Int(version->get(), 0, 0);
  absl::StatusOr<Result> result =
      conn.Run(kSql, {absl::StrCat(kCurrentSchemaVersion)}, "reading stats");
  if (!result.ok()) return result.status();
  for (int row = 0; row < PQntuples(result->get()); ++row) {
    KeyStats key;
    key.workload_key = Text(result->get(), row, 0);
    key.target_key = Text(result->get(), row, 1);
    key.device_key = Text(result->get(), row, 2);
    key.records = Int(result->get(), row, 3);
    key.ok = Int(result->get(), row, 4);
    key.best_gflops = Double(result->get(), row, 5);
    stats.records += key.records;
    stats.ok += key.ok;
    stats.from_older_schema += Int(result->get(), row, 6);
    stats.keys.push_back(std::move(key));
  }
  return stats;
}

}  // namespace fleettune::db::internal
