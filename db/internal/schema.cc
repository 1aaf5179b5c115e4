#include "db/internal/schema.h"

#include <array>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "db/internal/sqlite_check.h"
#include "db/internal/sqlite_util.h"

namespace fleettune::db::internal {
namespace {

// kMigrations[i] brings a version-i database to version i+1.
constexpr std::array<const char*, kSchemaVersion> kMigrations = {
    // Version 1: one row per measurement.
    R"sql(
CREATE TABLE records (
  id            INTEGER PRIMARY KEY,
  workload_key  TEXT    NOT NULL,
  target_key    TEXT    NOT NULL,
  device_key    TEXT    NOT NULL,
  job           TEXT    NOT NULL,
  trial         INTEGER NOT NULL,
  template_name TEXT    NOT NULL,
  config_json   TEXT    NOT NULL,  -- fleettune.v1.Config as protobuf JSON
  config_hash   INTEGER NOT NULL,  -- the uint64 hash bit-cast to int64
  status        TEXT    NOT NULL,  -- fleettune.v1.MeasureStatus name, e.g. 'OK'
  costs_json    TEXT    NOT NULL,  -- JSON array of seconds per run, one per repeat
  mean_cost     REAL    NOT NULL,
  gflops        REAL    NOT NULL,
  error         TEXT    NOT NULL,
  board_id      TEXT    NOT NULL,
  timestamp_ms  INTEGER NOT NULL,
  version       TEXT    NOT NULL
);
CREATE INDEX records_best
  ON records (workload_key, target_key, device_key, status, mean_cost);
CREATE INDEX records_job ON records (job, trial);
CREATE INDEX records_config ON records (workload_key, config_hash);
)sql",
    // Version 2: who measured a record and with which compiler. Rows from version 1 keep
    // schema_version 1 (and an empty llvm_version), which marks them as from an older
    // compiler. records_any_device serves best lookups across a target's devices.
    R"sql(
ALTER TABLE records ADD COLUMN llvm_version    TEXT    NOT NULL DEFAULT '';
ALTER TABLE records ADD COLUMN device_model    TEXT    NOT NULL DEFAULT '';
ALTER TABLE records ADD COLUMN device_cpu      TEXT    NOT NULL DEFAULT '';
ALTER TABLE records ADD COLUMN device_cores    INTEGER NOT NULL DEFAULT 0;
ALTER TABLE records ADD COLUMN runtime_version TEXT    NOT NULL DEFAULT '';
ALTER TABLE records ADD COLUMN schema_version  INTEGER NOT NULL DEFAULT 1;
CREATE INDEX records_any_device ON records (workload_key, target_key, status, mean_cost);
)sql",
    // Version 3: the long, repeated texts (keys, job, versions, board fingerprint) move to
    // table `strings` and records hold their integer ids, so rows and indexes are small and
    // index comparisons are integer ones. records_job also serves the import's duplicate
    // check; records_config served no query and is gone.
    R"sql(
CREATE TABLE strings (
  id   INTEGER PRIMARY KEY,
  kind INTEGER NOT NULL,  -- 1 workload, 2 target, 3 device key, 4 job, 5 any other value
  text TEXT    NOT NULL,
  UNIQUE (kind, text)
);
INSERT OR IGNORE INTO strings (kind, text) SELECT DISTINCT 1, workload_key FROM records;
INSERT OR IGNORE INTO strings (kind, text) SELECT DISTINCT 2, target_key FROM records;
INSERT OR IGNORE INTO strings (kind, text) SELECT DISTINCT 3, device_key FROM records;
INSERT OR IGNORE INTO strings (kind, text) SELECT DISTINCT 4, job FROM records;
INSERT OR IGNORE INTO strings (kind, text)
  SELECT 5, version FROM records UNION SELECT 5, llvm_version FROM records
  UNION SELECT 5, device_model FROM records UNION SELECT 5, device_cpu FROM records
  UNION SELECT 5, runtime_version FROM records;
CREATE TABLE records_v3 (
  id                 INTEGER PRIMARY KEY,
  workload_id        INTEGER NOT NULL,  -- strings.id of kind 1
  target_id          INTEGER NOT NULL,  -- kind 2
  device_id          INTEGER NOT NULL,  -- kind 3
  job_id             INTEGER NOT NULL,  -- kind 4
  trial              INTEGER NOT NULL,
  template_name      TEXT    NOT NULL,
  config_json        TEXT    NOT NULL,  -- fleettune.v1.Config as protobuf JSON
  config_hash        INTEGER NOT NULL,  -- the uint64 hash bit-cast to int64
  status             TEXT    NOT NULL,  -- fleettune.v1.MeasureStatus name, e.g. 'OK'
  costs_json         TEXT    NOT NULL,  -- JSON array of seconds per run, one per repeat
  mean_cost          REAL    NOT NULL,
  gflops             REAL    NOT NULL,
  error              TEXT    NOT NULL,
  board_id           TEXT    NOT NULL,
  timestamp_ms       INTEGER NOT NULL,
  version_id         INTEGER NOT NULL,  -- kind 5 from here on
  llvm_version_id    INTEGER NOT NULL,
  device_model_id    INTEGER NOT NULL,
  device_cpu_id      INTEGER NOT NULL,
  device_cores       INTEGER NOT NULL,
  runtime_version_id INTEGER NOT NULL,
  schema_version     INTEGER NOT NULL
);
INSERT INTO records_v3
  SELECT r.id,
    (SELECT id FROM strings WHERE kind = 1 AND text = r.workload_key),
    (SELECT id FROM strings WHERE kind = 2 AND text = r.target_key),
    (SELECT id FROM strings WHERE kind = 3 AND text = r.device_key),
    (SELECT id FROM strings WHERE kind = 4 AND text = r.job),
    r.trial, r.template_name, r.config_json, r.config_hash, r.status, r.costs_json,
    r.mean_cost, r.gflops, r.error, r.board_id, r.timestamp_ms,
    (SELECT id FROM strings WHERE kind = 5 AND text = r.version),
    (SELECT id FROM strings WHERE kind = 5 AND text = r.llvm_version),
    (SELECT id FROM strings WHERE kind = 5 AND text = r.device_model),
    (SELECT id FROM strings WHERE kind = 5 AND text = r.device_cpu),
    r.device_cores,
    (SELECT id FROM strings WHERE kind = 5 AND text = r.runtime_version),
    r.schema_version
  FROM records r ORDER BY r.id;
DROP TABLE records;
ALTER TABLE records_v3 RENAME TO records;
CREATE INDEX records_best
  ON records (workload_id, target_id, device_id, status, mean_cost);
CREATE INDEX records_any_device ON records (workload_id, target_id, status, mean_cost);
CREATE INDEX records_job
  ON records (job_id, trial, workload_id, target_id, device_id, config_hash);
)sql",
    // Version 4: the confirmation round's costs (Database::Confirm) and rank_cost, what Best
    // and Prune rank by: confirmed records first (confirmed_json is not '[]'), then RankCost
    // (their median once confirmed, else mean_cost); the lookup indexes end in both. A table rebuild rather than ADD COLUMN: SQLite can add a
    // NOT NULL column only with a constant default, and a default rank_cost (say 0) would
    // rank first any row an insert forgot to give one. Every id is kept.
    R"sql(
CREATE TABLE records_v4 (
  id                     INTEGER PRIMARY KEY,
  workload_id            INTEGER NOT NULL,  -- strings.id of kind 1
  target_id              INTEGER NOT NULL,  -- kind 2
  device_id              INTEGER NOT NULL,  -- kind 3
  job_id                 INTEGER NOT NULL,  -- kind 4
  trial                  INTEGER NOT NULL,
  template_name          TEXT    NOT NULL,
  config_json            TEXT    NOT NULL,  -- fleettune.v1.Config as protobuf JSON
  config_hash            INTEGER NOT NULL,  -- the uint64 hash bit-cast to int64
  status                 TEXT    NOT NULL,  -- fleettune.v1.MeasureStatus name, e.g. 'OK'
  costs_json             TEXT    NOT NULL,  -- JSON array of seconds per run, one per repeat
  mean_cost              REAL    NOT NULL,
  gflops                 REAL    NOT NULL,
  error                  TEXT    NOT NULL,
  board_id               TEXT    NOT NULL,
  timestamp_ms           INTEGER NOT NULL,
  version_id             INTEGER NOT NULL,  -- kind 5 from here on
  llvm_version_id        INTEGER NOT NULL,
  device_model_id        INTEGER NOT NULL,
  device_cpu_id          INTEGER NOT NULL,
  device_cores           INTEGER NOT NULL,
  runtime_version_id     INTEGER NOT NULL,
  schema_version         INTEGER NOT NULL,
  confirmed_json         TEXT    NOT NULL DEFAULT '[]',  -- JSON array of seconds per round
  confirmed_default_json TEXT    NOT NULL DEFAULT '[]',  -- the template default's, same rounds
  rank_cost              REAL    NOT NULL   -- median of confirmed_json, else mean_cost
);
INSERT INTO records_v4
  SELECT id, workload_id, target_id, device_id, job_id, trial, template_name, config_json,
    config_hash, status, costs_json, mean_cost, gflops, error, board_id, timestamp_ms,
    version_id, llvm_version_id, device_model_id, device_cpu_id, device_cores,
    runtime_version_id, schema_version, '[]', '[]', mean_cost
  FROM records ORDER BY id;
DROP TABLE records;
ALTER TABLE records_v4 RENAME TO records;
CREATE INDEX records_best
  ON records (workload_id, target_id, device_id, status, (confirmed_json = '[]'), rank_cost);
CREATE INDEX records_any_device
  ON records (workload_id, target_id, status, (confirmed_json = '[]'), rank_cost);
CREATE INDEX records_job
  ON records (job_id, trial, workload_id, target_id, device_id, config_hash);
)sql",
};

}  // namespace

const char kDropLookupIndexesSql[] = "DROP INDEX records_best; DROP INDEX records_any_device;";
// Must stay equal to the definitions in the latest migration above (tested).
const char kCreateLookupIndexesSql[] = R"sql(
CREATE INDEX records_best
  ON records (workload_id, target_id, device_id, status, (confirmed_json = '[]'), rank_cost);
CREATE INDEX records_any_device
  ON records (workload_id, target_id, status, (confirmed_json = '[]'), rank_cost);
)sql";

namespace {

struct FileState {
  int64_t application_id = 0;
  int64_t user_version = 0;
  int64_t object_count = 0;  // tables, indexes, views and triggers
};

// Reads the three values from one snapshot: a separate read each could see another
// process's schema creation halfway (no application id yet, but tables).
absl::StatusOr<FileState> ReadFileState(sqlite3* db, const std::string& path) {
  static constexpr char kSql[] =
      "SELECT (SELECT application_id FROM pragma_application_id), "
      "(SELECT user_version FROM pragma_user_version), "
      "(SELECT count(*) FROM sqlite_master)";
  absl::StatusOr<Statement> statement = Statement::Prepare(db, kSql, path);
  if (!statement.ok()) return statement.status();
  const int rc = sqlite3_step(statement->get());
  if (rc != SQLITE_ROW) return SqliteError(db, rc, path, "reading the file's identity");
  FileState state;
  state.application_id = sqlite3_column_int64(statement->get(), 0);
  state.user_version = sqlite3_column_int64(statement->get(), 1);
  state.object_count = sqlite3_column_int64(statement->get(), 2);
  return state;
}

// OK with `*needs_migration` set when the file is ours or new; FailedPrecondition otherwise.
absl::Status Classify(const FileState& state, const std::string& path, bool* needs_migration) {
  if (state.application_id == kApplicationId) {
    if (state.user_version > kSchemaVersion) {
      return absl::FailedPreconditionError(absl::StrCat(
          "tuning database '", path, "' has schema version ", state.user_version,
          ", newer than this fleettune supports (", kSchemaVersion, "); upgrade fleettune"));
    }
    *needs_migration = state.user_version < kSchemaVersion;
    return absl::OkStatus();
  }
  if (state.application_id != 0) {
    return absl::FailedPreconditionError(
        absl::StrFormat("'%s' is a SQLite database of another application (application_id "
                        "0x%08x), not a fleettune tuning database; refusing to modify it",
                        path, static_cast<uint32_t>(state.application_id)));
  }
  if (state.object_count != 0 || state.user_version != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("'", path,
                     "' is a SQLite database with foreign tables, not a fleettune tuning database; "
                     "refusing to modify it"));
  }
  *needs_migration = true;
  return absl::OkStatus();
}

absl::Status MigrateLocked(sqlite3* db, const std::string& path) {
  // Re-read under the write lock: another process may have created the schema meanwhile.
  absl::StatusOr<FileState> state = ReadFileState(db, path);
  if (!state.ok()) return state.status();
  bool needs_migration = false;
  if (absl::Status status = Classify(*state, path, &needs_migration); !status.ok()) {
    return status;
  }
  if (!needs_migration) return absl::OkStatus();
  for (int64_t version = state->user_version; version < kSchemaVersion; ++version) {
    if (absl::Status status = Exec(db, kMigrations[version], path); !status.ok()) return status;
  }
  const std::string pragmas = absl::StrCat("PRAGMA application_id = ", kApplicationId,
                                           "; PRAGMA user_version = ", kSchemaVersion, ";");
  return Exec(db, pragmas.c_str(), path);
}

}  // namespace

absl::Status CheckFileBeforeOpen(const std::string& path) {
  namespace fs = std::filesystem;
  if (path.empty()) return absl::InvalidArgumentError("tuning database path is empty");
  std::error_code error;
  const fs::path file(path);
  const fs::file_status status = fs::status(file, error);
  if (status.type() == fs::file_type::not_found) {
    fs::path parent = file.parent_path();
    if (parent.empty()) parent = ".";
    if (!fs::is_directory(parent, error)) {
      return absl::NotFoundError(absl::StrCat("cannot create tuning database '", path,
                                              "': directory '", parent.string(),
                                              "' does not exist"));
    }
    return absl::OkStatus();
  }
  if (error) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot inspect tuning database '", path, "': ", error.message()));
  }
  if (status.type() == fs::file_type::directory) {
    return absl::FailedPreconditionError(
        absl::StrCat("tuning database '", path, "' is a directory, not a file"));
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return absl::PermissionDeniedError(absl::StrCat("cannot read tuning database '", path, "'"));
  }
  static constexpr char kMagic[16] = "SQLite format 3";  // 15 characters and a NUL
  unsigned char header[100] = {};
  in.read(reinterpret_cast<char*>(header), sizeof(header));
  const std::streamsize read = in.gcount();
  if (read == 0) return absl::OkStatus();  // an empty file is an empty database
  if (read < static_cast<std::streamsize>(sizeof(kMagic)) ||
      std::memcmp(header, kMagic, sizeof(kMagic)) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("'", path, "' is not a SQLite database (bad header); refusing to modify it"));
  }
  if (read < static_cast<std::streamsize>(sizeof(header))) {
    return DamagedError(
        path, absl::StrCat("it ends after ", read, " bytes, inside the 100-byte SQLite header"));
  }
  const uintmax_t size = fs::file_size(file, error);
  if (error) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot inspect tuning database '", path, "': ", error.message()));
  }
  return CheckWholePages(path, header, size);
}

absl::Status EnsureSchema(sqlite3* db, const std::string& path, bool read_only) {
  absl::StatusOr<FileState> state = ReadFileState(db, path);
  if (!state.ok()) return state.status();
  bool needs_migration = false;
  if (absl::Status status = Classify(*state, path, &needs_migration); !status.ok()) {
    return status;
  }
  if (!needs_migration) return absl::OkStatus();
  if (read_only) {
    const std::string what = state->application_id == 0
                                 ? std::string("is empty and needs its schema created")
                                 : absl::StrCat("has schema version ", state->user_version,
                                                " and needs migrating to version ", kSchemaVersion);
    return absl::FailedPreconditionError(
        absl::StrCat("tuning database '", path, "' ", what,
                     ", which needs write access; run `fleettune db stats --db ", path,
                     "` once where the file and its directory are writable"));
  }

  if (absl::Status status = Exec(db, "BEGIN IMMEDIATE", path); !status.ok()) return status;
  absl::Status status = MigrateLocked(db, path);
  if (status.ok()) status = Exec(db, "COMMIT", path);
  if (!status.ok()) sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  return status;
}

}  // namespace fleettune::db::internal
