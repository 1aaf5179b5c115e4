#include "db/internal/postgres_schema.h"

#include <cstdint>
#include <iterator>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "db/database.h"

namespace fleettune::db::internal {
namespace {

// "FTDB": the advisory lock that serializes schema creation and migration.
constexpr int64_t kSchemaLock = 0x46544442;

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
    // Version 4: the confirmation round's costs (Database::Confirm) and rank_cost, what Best
    // and Prune rank by: confirmed records first (confirmed_json is not '[]'), then RankCost
    // (their median once confirmed, else mean_cost); the lookup indexes end in both. rank_cost gets no default: every insert sets it.
    R"sql(
ALTER TABLE records ADD COLUMN confirmed_json TEXT NOT NULL DEFAULT '[]';
ALTER TABLE records ADD COLUMN confirmed_default_json TEXT NOT NULL DEFAULT '[]';
ALTER TABLE records ADD COLUMN rank_cost DOUBLE PRECISION;
UPDATE records SET rank_cost = mean_cost;
ALTER TABLE records ALTER COLUMN rank_cost SET NOT NULL;
DROP INDEX records_best;
DROP INDEX records_any_device;
CREATE INDEX records_best
  ON records (workload_key, target_key, device_key, status, (confirmed_json = '[]'), rank_cost);
CREATE INDEX records_any_device
  ON records (workload_key, target_key, status, (confirmed_json = '[]'), rank_cost);
ALTER TABLE records ALTER COLUMN schema_version SET DEFAULT 4;
)sql",
};

static_assert(std::size(kMigrations) == kCurrentSchemaVersion - 1,
              "one PostgreSQL migration per schema version after 1");

// Creates or migrates the schema; runs inside the caller's transaction holding kSchemaLock.
absl::Status EnsureSchemaLocked(PostgresConnection& conn) {
  const std::string& location = conn.location();
  absl::StatusOr<PgResult> tables = conn.Run(
      "SELECT to_regclass('fleettune_meta') IS NOT NULL, to_regclass('records') IS NOT NULL", {},
      "inspecting the schema");
  if (!tables.ok()) return tables.status();
  const bool has_meta = ResultText(tables->get(), 0, 0) == "t";
  const bool has_records = ResultText(tables->get(), 0, 1) == "t";
  int64_t version = 1;  // "no fleettune schema yet": the first migration creates version 2
  if (has_meta) {
    absl::StatusOr<PgResult> row = conn.Run(
        "SELECT value FROM fleettune_meta WHERE key = 'schema_version'", {}, "reading the schema");
    if (!row.ok()) return row.status();
    if (PQntuples(row->get()) != 1 || !absl::SimpleAtoi(ResultText(row->get(), 0, 0), &version)) {
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

absl::Status EnsurePostgresSchema(PostgresConnection& conn) {
  absl::Status status = conn.Exec("BEGIN", "starting schema check");
  if (!status.ok()) return status;
  status = conn.Run("SELECT pg_advisory_xact_lock($1)", {absl::StrCat(kSchemaLock)},
                    "locking the schema")
               .status();
  if (status.ok()) status = EnsureSchemaLocked(conn);
  if (status.ok()) status = conn.Exec("COMMIT", "committing the schema");
  if (!status.ok()) conn.Rollback();
  return status;
}

}  // namespace fleettune::db::internal
