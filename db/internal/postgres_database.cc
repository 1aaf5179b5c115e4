#include "db/internal/postgres_database.h"

#include <libpq-fe.h>

#include <chrono>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "db/internal/postgres_connection.h"
#include "db/internal/postgres_import.h"
#include "db/internal/postgres_schema.h"
#include "db/internal/record_codec.h"

namespace fleettune::db::internal {
namespace {

// The columns of a record, in the order Decode reads them.
constexpr char kColumns[] =
    "id, workload_key, target_key, device_key, job, trial, config_json, config_hash, status, "
    "costs_json, mean_cost, gflops, error, board_id, timestamp_ms, version, llvm_version, "
    "device_model, device_cpu, device_cores, runtime_version, schema_version, confirmed_json, "
    "confirmed_default_json";

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

// Row `row` of a SELECT of kColumns; DataLoss when a stored field does not decode.
absl::StatusOr<Record> Decode(PGresult* result, int row) {
  Record record;
  record.id = ResultInt(result, row, 0);
  record.workload_key = ResultText(result, row, 1);
  record.target_key = ResultText(result, row, 2);
  record.device_key = ResultText(result, row, 3);
  record.job = ResultText(result, row, 4);
  record.trial = ResultInt(result, row, 5);
  absl::StatusOr<v1::Config> config = ConfigFromJson(ResultText(result, row, 6));
  if (!config.ok()) return config.status();
  record.config = *std::move(config);
  record.config_hash = HashFromColumn(ResultInt(result, row, 7));
  absl::StatusOr<v1::MeasureStatus> status = StatusFromName(ResultText(result, row, 8));
  if (!status.ok()) return status.status();
  record.status = *status;
  absl::StatusOr<std::vector<double>> costs = CostsFromJson(ResultText(result, row, 9));
  if (!costs.ok()) return costs.status();
  record.costs = *std::move(costs);
  record.mean_cost = ResultDouble(result, row, 10);
  record.gflops = ResultDouble(result, row, 11);
  record.error = ResultText(result, row, 12);
  record.board_id = ResultText(result, row, 13);
  record.timestamp_ms = ResultInt(result, row, 14);
  record.version = ResultText(result, row, 15);
  record.llvm_version = ResultText(result, row, 16);
  record.device.model = ResultText(result, row, 17);
  record.device.cpu = ResultText(result, row, 18);
  record.device.cores = static_cast<int32_t>(ResultInt(result, row, 19));
  record.device.runtime_version = ResultText(result, row, 20);
  record.schema_version = ResultInt(result, row, 21);
  for (auto [column, out] :
       {std::pair{22, &record.confirmed_costs}, std::pair{23, &record.confirmed_default_costs}}) {
    absl::StatusOr<std::vector<double>> confirmed = CostsFromJson(ResultText(result, row, column));
    if (!confirmed.ok()) return confirmed.status();
    *out = *std::move(confirmed);
  }
  return record;
}

}  // namespace

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
  PostgresConnection c(conn, location);
  absl::Status status = c.Exec("SET client_min_messages = warning", "configuring the session");
  if (status.ok()) status = EnsurePostgresSchema(c);
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
  absl::StatusOr<std::vector<std::string>> params =
      PostgresInsertParams(*record, /*with_confirmation=*/false);
  if (!params.ok()) return params.status();
  absl::MutexLock lock(&mutex_);
  PostgresConnection conn(conn_, location_);
  // One statement: its own transaction.
  absl::StatusOr<PgResult> result = conn.Run(kPostgresInsertSql, *params, "inserting a record");
  if (!result.ok()) {
    record->id = 0;
    return result.status();
  }
  record->id = ResultInt(result->get(), 0, 0);
  return absl::OkStatus();
}

absl::Status PostgresDatabase::Confirm(int64_t record_id, const std::vector<double>& costs,
                                       const std::vector<double>& default_costs) {
  absl::StatusOr<ConfirmationColumns> columns = PrepareConfirmation(costs, default_costs);
  if (!columns.ok()) return columns.status();
  const std::string id = absl::StrCat(record_id);

  absl::MutexLock lock(&mutex_);
  PostgresConnection conn(conn_, location_);
  const auto confirm = [&]() -> absl::Status {
    // FOR UPDATE: a concurrent prune cannot delete the record between the check and the
    // update.
    absl::StatusOr<PgResult> row = conn.Run("SELECT status FROM records WHERE id = $1 FOR UPDATE",
                                            {id}, "reading the record to confirm");
    if (!row.ok()) return row.status();
    if (PQntuples(row->get()) == 0) {
      return absl::NotFoundError(absl::StrCat("tuning database '", location_, "' has no record ",
                                              record_id, " to confirm"));
    }
    if (const std::string status = ResultText(row->get(), 0, 0); status != "OK") {
      return absl::FailedPreconditionError(
          absl::StrCat("tuning database '", location_, "': record ", record_id, " has status ",
                       status, "; only an OK record can be confirmed"));
    }
    return conn
        .Run(
            "UPDATE records SET confirmed_json = $2, confirmed_default_json = $3, "
            "rank_cost = $4 WHERE id = $1",
            {id, columns->confirmed_json, columns->confirmed_default_json,
             absl::StrFormat("%.17g", columns->rank_cost)},
            "confirming a record")
        .status();
  };
  absl::Status status = conn.Exec("BEGIN", "confirming a record");
  if (status.ok()) status = confirm();
  if (status.ok()) status = conn.Exec("COMMIT", "confirming a record");
  if (!status.ok()) conn.Rollback();
  return status;
}

absl::StatusOr<std::vector<Record>> PostgresDatabase::Best(const Query& query, int top_k) {
  if (top_k <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("Best: top_k must be >= 1, got ", top_k));
  }
  std::vector<std::string> params;
  std::string sql =
      absl::StrCat("SELECT ", kColumns, " FROM records", Where(query, /*ok_only=*/true, &params));
  params.push_back(absl::StrCat(top_k));
  absl::StrAppend(&sql, " ORDER BY (confirmed_json = '[]') ASC, rank_cost ASC, id ASC LIMIT $", params.size());
  std::vector<Record> records;
  absl::MutexLock lock(&mutex_);
  PostgresConnection conn(conn_, location_);
  absl::StatusOr<PgResult> result = conn.Run(sql, params, "reading best records");
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
  PostgresConnection conn(conn_, location_);
  absl::StatusOr<PgResult> result = conn.Run(sql, params, "counting records");
  if (!result.ok()) return result.status();
  return ResultInt(result->get(), 0, 0);
}

absl::Status PostgresDatabase::ForEach(const Query& query,
                                       const std::function<absl::Status(const Record&)>& visit) {
  std::vector<std::string> params;
  const std::string sql = absl::StrCat("SELECT ", kColumns, " FROM records",
                                       Where(query, /*ok_only=*/false, &params), " ORDER BY id");
  std::vector<const char*> values;
  for (const std::string& p : params) values.push_back(p.c_str());
  absl::MutexLock lock(&mutex_);
  PostgresConnection conn(conn_, location_);
  if (!PQsendQueryParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr,
                         values.data(), nullptr, nullptr, 0)) {
    return conn.Error(nullptr, "reading records");
  }
  PQsetSingleRowMode(conn_);  // stream: rows arrive one at a time
  absl::Status status;
  while (true) {
    PgResult result(PQgetResult(conn_), &PQclear);
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
  PostgresConnection conn(conn_, location_);
  absl::StatusOr<PgResult> result =
      conn.Run(kSql, {op + ":", op + ";", target_key}, "listing workloads");
  if (!result.ok()) return result.status();
  std::vector<std::string> keys;
  for (int row = 0; row < PQntuples(result->get()); ++row) {
    keys.push_back(ResultText(result->get(), row, 0));
  }
  return keys;
}

absl::StatusOr<ImportCounts> PostgresDatabase::InsertAll(const RecordSource& next) {
  absl::MutexLock lock(&mutex_);
  PostgresConnection conn(conn_, location_);
  return PostgresImport(conn, next);
}

absl::StatusOr<int64_t> PostgresDatabase::PruneChecked(int keep) {
  static constexpr char kSql[] =
      "DELETE FROM records WHERE id NOT IN (SELECT id FROM (SELECT id, row_number() OVER ("
      "PARTITION BY workload_key, target_key, device_key ORDER BY (confirmed_json = '[]') ASC, rank_cost ASC, id ASC) AS rank "
      "FROM records WHERE status = 'OK') AS ranked WHERE rank <= $1)";
  absl::MutexLock lock(&mutex_);
  PostgresConnection conn(conn_, location_);
  absl::StatusOr<PgResult> result = conn.Run(kSql, {absl::StrCat(keep)}, "pruning");
  if (!result.ok()) return result.status();
  int64_t deleted = 0;
  (void)absl::SimpleAtoi(PQcmdTuples(result->get()), &deleted);
  return deleted;
}

absl::StatusOr<Stats> PostgresDatabase::ReadStats() {
  // best_gflops (KeyStats): a record's GFLOPS at its rank cost. gflops * mean_cost is the
  // workload's work, the same for every record of a key, so the largest is the GFLOPS of
  // the record Best ranks first; unconfirmed records give their gflops unchanged.
  static constexpr char kSql[] =
      "SELECT workload_key, target_key, device_key, count(*), "
      "count(*) FILTER (WHERE status = 'OK'), "
      "coalesce(max(CASE WHEN rank_cost = mean_cost OR rank_cost <= 0 THEN gflops "
      "ELSE gflops * mean_cost / rank_cost END) FILTER (WHERE status = 'OK'), 0), "
      "count(*) FILTER (WHERE schema_version < $1) "
      "FROM records GROUP BY workload_key, target_key, device_key";
  Stats stats;
  stats.backend = "postgresql";
  stats.location = location_;
  absl::MutexLock lock(&mutex_);
  PostgresConnection conn(conn_, location_);
  absl::StatusOr<PgResult> version = conn.Run(
      "SELECT value FROM fleettune_meta WHERE key = 'schema_version'", {}, "reading stats");
  if (!version.ok()) return version.status();
  if (PQntuples(version->get()) == 1) stats.schema_version = ResultInt(version->get(), 0, 0);
  absl::StatusOr<PgResult> result =
      conn.Run(kSql, {absl::StrCat(kCurrentSchemaVersion)}, "reading stats");
  if (!result.ok()) return result.status();
  for (int row = 0; row < PQntuples(result->get()); ++row) {
    KeyStats key;
    key.workload_key = ResultText(result->get(), row, 0);
    key.target_key = ResultText(result->get(), row, 1);
    key.device_key = ResultText(result->get(), row, 2);
    key.records = ResultInt(result->get(), row, 3);
    key.ok = ResultInt(result->get(), row, 4);
    key.best_gflops = ResultDouble(result->get(), row, 5);
    stats.from_older_schema += ResultInt(result->get(), row, 6);
    stats.keys.push_back(std::move(key));
  }
  return stats;
}

}  // namespace fleettune::db::internal
