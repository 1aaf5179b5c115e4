#include "db/internal/postgres_import.h"

#include <cstdint>
#include <optional>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "db/internal/record_codec.h"

namespace fleettune::db::internal {
namespace {

// An import adding at least this many records refreshes the planner's statistics.
constexpr int64_t kAnalyzeAfter = 10'000;

std::string Real(double value) { return absl::StrFormat("%.17g", value); }

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

}  // namespace

const char kPostgresInsertSql[] =
    "INSERT INTO records (workload_key, target_key, device_key, job, trial, template_name, "
    "config_json, config_hash, status, costs_json, mean_cost, gflops, error, board_id, "
    "timestamp_ms, version, llvm_version, device_model, device_cpu, device_cores, "
    "runtime_version, schema_version, confirmed_json, confirmed_default_json, rank_cost) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, "
    "$19, $20, $21, $22, $23, $24, $25) RETURNING id";

absl::StatusOr<std::vector<std::string>> PostgresInsertParams(const Record& record,
                                                              bool with_confirmation) {
  if (absl::Status valid = ValidateForInsert(record); !valid.ok()) return valid;
  std::string confirmed_json = "[]", confirmed_default_json = "[]";
  double rank_cost = record.mean_cost;
  if (with_confirmation) {
    if (absl::Status valid = ValidateRecordConfirmation(record); !valid.ok()) return valid;
    absl::StatusOr<std::string> confirmed = CostsToJson(record.confirmed_costs);
    if (!confirmed.ok()) return confirmed.status();
    absl::StatusOr<std::string> confirmed_default = CostsToJson(record.confirmed_default_costs);
    if (!confirmed_default.ok()) return confirmed_default.status();
    confirmed_json = *std::move(confirmed);
    confirmed_default_json = *std::move(confirmed_default);
    rank_cost = RankCost(record);
  }
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
                                  absl::StrCat(record.schema_version),
                                  std::move(confirmed_json),
                                  std::move(confirmed_default_json),
                                  Real(rank_cost)};
}

absl::StatusOr<ImportCounts> PostgresImport(PostgresConnection& conn, const RecordSource& next) {
  // The records stream into a temporary table with COPY (no round trip per record); one
  // INSERT ... SELECT then adds those that are not duplicates of a stored record or of an
  // earlier one of the import, in input order (the temporary table's id is that order).
  // "id" (the input order), then the INSERT's columns in PostgresInsertParams' order.
  static constexpr char kCopyColumns[] =
      "id, workload_key, target_key, device_key, job, trial, template_name, config_json, "
      "config_hash, status, costs_json, mean_cost, gflops, error, board_id, timestamp_ms, "
      "version, llvm_version, device_model, device_cpu, device_cores, runtime_version, "
      "schema_version, confirmed_json, confirmed_default_json, rank_cost";
  // The duplicate key (Database::InsertAll): where the record belongs and what was measured.
  static constexpr char kDedupKey[] =
      "job, trial, workload_key, target_key, device_key, config_hash, timestamp_ms, board_id, "
      "status, costs_json";
  ImportCounts counts;
  PGconn* const pg = conn.get();
  absl::Status status = conn.Exec(
      // work_mem: the duplicate check sorts the whole import; in memory when it fits.
      "BEGIN; SET LOCAL work_mem = '256MB'; CREATE TEMP TABLE import_rows ON COMMIT DROP AS "
      "SELECT * FROM records WITH NO DATA",
      "starting an import");
  if (status.ok()) {
    PgResult copy(
        PQexec(pg, absl::StrCat("COPY import_rows (", kCopyColumns, ") FROM STDIN").c_str()),
        &PQclear);
    if (PQresultStatus(copy.get()) != PGRES_COPY_IN) {
      status = conn.Error(copy.get(), "starting an import's COPY");
    }
  }
  if (!status.ok()) {
    conn.Rollback();
    return status;
  }
  std::string buffer;
  const auto flush = [&]() -> absl::Status {
    if (buffer.empty()) return absl::OkStatus();
    if (PQputCopyData(pg, buffer.data(), static_cast<int>(buffer.size())) != 1) {
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
    absl::StatusOr<std::vector<std::string>> params =
        PostgresInsertParams(r, /*with_confirmation=*/true);
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
  if (PQputCopyEnd(pg, status.ok() ? nullptr : "import aborted") != 1 && status.ok()) {
    status = conn.Error(nullptr, "ending the import's COPY");
  }
  while (true) {  // the COPY's result(s)
    PgResult result(PQgetResult(pg), &PQclear);
    if (result == nullptr) break;
    if (absl::Status copied = conn.Check(result.get(), "copying records");
        status.ok() && !copied.ok()) {
      status = copied;
    }
  }
  int64_t inserted = 0;
  if (status.ok()) {
    const absl::string_view data_columns = absl::string_view(kCopyColumns).substr(4);
    absl::StatusOr<PgResult> result = conn.Run(
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
    conn.Rollback();
    return status;
  }
  counts.inserted = inserted;
  counts.duplicates = counts.read - inserted;
  return counts;
}

}  // namespace fleettune::db::internal
