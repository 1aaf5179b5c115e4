// Upgrades: a schema-1 file written by the previous fleettune (tests/db/fixtures/v1.db, see
// fixtures/README.md) migrates through schemas 2 and 3 (texts moved to table `strings`) to
// schema 4 (confirmations, rank_cost) with every record intact and marked as older; a
// schema-3 file, and PostgreSQL databases of schemas 2 and 3, migrate keeping their records
// and their ranking.
#include <libpq-fe.h>
#include <sqlite3.h>

#include <algorithm>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "db/database.h"
#include "gtest/gtest.h"
#include "tests/db/postgres_server.h"
#include "tests/db/test_util.h"

namespace fleettune::db {
namespace {

using ::fleettune::db::testing::MakeRecord;
using ::fleettune::db::testing::ReadBytes;
using ::fleettune::db::testing::ScratchDir;

constexpr char kTarget[] =
    "llvm -mtriple=x86_64-pc-linux-gnu -mcpu=znver3 -mattr=+avx2,+fma -threads=1";

std::string FixturePath() { return std::string(FLEETTUNE_DB_FIXTURES) + "/v1.db"; }

int64_t UserVersion(const std::string& path) {
  sqlite3* raw = nullptr;
  EXPECT_EQ(sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  int64_t version = -1;
  if (sqlite3_prepare_v2(raw, "PRAGMA user_version", -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW) {
    version = sqlite3_column_int64(stmt, 0);
  }
  sqlite3_finalize(stmt);
  sqlite3_close(raw);
  return version;
}

TEST(DatabaseMigrationTest, SchemaOneFileMigratesKeepingEveryRecordMarkedAsOlder) {
  ASSERT_EQ(UserVersion(FixturePath()), 1) << "the checked-in fixture must stay a schema-1 file";
  ScratchDir dir;
  const std::string path = dir.File("v1.db");
  std::filesystem::copy_file(FixturePath(), path);
  const std::string fixture_bytes = ReadBytes(FixturePath());

  absl::StatusOr<std::unique_ptr<Database>> db = Database::Open(path);
  ASSERT_TRUE(db.ok()) << db.status();
  EXPECT_EQ(UserVersion(path), 4);
  EXPECT_EQ(ReadBytes(FixturePath()), fixture_bytes);

  absl::StatusOr<std::vector<Record>> all = (*db)->History(Query{});
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 5u);
  struct Expected {
    int64_t id;
    const char* workload;
    int64_t trial;
    v1::MeasureStatus status;
    double mean_cost;
    int64_t tile_y, tile_x, tile_k;
    const char* error;
  };
  const Expected expected[] = {
      {1, "matmul:m=64,n=64,k=64", 0, v1::OK, 2.0e-5, 6, 16, 64, ""},
      {2, "matmul:m=64,n=64,k=64", 1, v1::OK, 1.5e-5, 4, 8, 32, ""},
      {3, "matmul:m=64,n=64,k=64", 2, v1::WRONG_ANSWER, 0, 8, 16, 16,
       "max abs error 3.5 > tolerance"},
      {4, "matmul:m=128,n=128,k=128", 0, v1::OK, 1.2e-4, 6, 16, 128, ""},
      {5, "matmul:m=128,n=128,k=128", 1, v1::BUILD_ERROR, 0, 5, 24, 64, "lld: undefined symbol"},
  };
  for (size_t i = 0; i < 5; ++i) {
    const Record& got = (*all)[i];
    const Expected& want = expected[i];
    SCOPED_TRACE(want.id);
    EXPECT_EQ(got.id, want.id);
    EXPECT_EQ(got.workload_key, want.workload);
    EXPECT_EQ(got.target_key, kTarget);
    EXPECT_EQ(got.device_key, "x86-server");
    EXPECT_EQ(got.job, std::string(want.workload) + "@20240101T000000");
    EXPECT_EQ(got.trial, want.trial);
    EXPECT_EQ(got.status, want.status);
    EXPECT_EQ(got.mean_cost, want.mean_cost);
    if (want.status == v1::OK) {
      EXPECT_EQ(got.costs, (std::vector<double>{want.mean_cost * 1.01, want.mean_cost,
                                                want.mean_cost * 0.99}));
    } else {
      EXPECT_TRUE(got.costs.empty());
    }
    EXPECT_EQ(got.error, want.error);
    EXPECT_EQ(got.config.template_name(), "matmul_blocked");
    ASSERT_EQ(got.config.knobs_size(), 7);
    EXPECT_EQ(got.config.knobs(0).value(), want.tile_y);
    EXPECT_EQ(got.config.knobs(1).value(), want.tile_x);
    EXPECT_EQ(got.config.knobs(2).value(), want.tile_k);
    EXPECT_EQ(got.config_hash,
              0x1234567800000000ULL +
                  static_cast<uint64_t>(want.tile_y * 1000 + want.tile_x * 10 + want.tile_k));
    EXPECT_EQ(got.timestamp_ms, 1704067200000 + want.trial * 1000);
    EXPECT_EQ(got.version, "0.1.0");
    // Marked as from an older schema and compiler.
    EXPECT_EQ(got.schema_version, 1);
    EXPECT_EQ(got.llvm_version, "");
    EXPECT_EQ(got.device.cores, 0);
    EXPECT_TRUE(FromOlderCompiler(got, "0.1.0", "14.0.6"));
    EXPECT_TRUE(got.confirmed_costs.empty());
    EXPECT_TRUE(got.confirmed_default_costs.empty());
  }

  // Still usable: best lookups find them; new records land next to them as schema 4.
  absl::StatusOr<std::vector<Record>> best =
      (*db)->Best(Query{"matmul:m=64,n=64,k=64", std::string(kTarget)}, 5);
  ASSERT_TRUE(best.ok());
  ASSERT_EQ(best->size(), 2u);
  EXPECT_EQ(best->front().id, 2);
  absl::StatusOr<std::vector<std::string>> workloads = (*db)->WorkloadsOfOp("matmul", kTarget);
  ASSERT_TRUE(workloads.ok()) << workloads.status();
  EXPECT_EQ(*workloads,
            (std::vector<std::string>{"matmul:m=128,n=128,k=128", "matmul:m=64,n=64,k=64"}));
  EXPECT_EQ(
      *(*db)->Count(Query{"matmul:m=64,n=64,k=64", std::string(kTarget), std::string("x86-server"),
                          std::string("matmul:m=64,n=64,k=64@20240101T000000")}),
      3);
  Record fresh = (*all)[0];
  fresh.trial = 3;
  fresh.llvm_version = "14.0.6";
  ASSERT_TRUE((*db)->Insert(&fresh).ok());
  EXPECT_EQ(fresh.id, 6);
  absl::StatusOr<Stats> stats = (*db)->GetStats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->schema_version, 4);
  EXPECT_EQ(stats->records, 6);
  EXPECT_EQ(stats->from_older_schema, 5);
  db->reset();

  // Reopening a migrated file migrates nothing again.
  db = Database::Open(path);
  ASSERT_TRUE(db.ok()) << db.status();
  absl::StatusOr<std::vector<Record>> reread = (*db)->History(Query{});
  ASSERT_TRUE(reread.ok());
  ASSERT_EQ(reread->size(), 6u);
  EXPECT_EQ(reread->back().schema_version, 4);
  EXPECT_EQ(reread->front().schema_version, 1);
}

// Runs `sql` on the SQLite file `path`; the first column of every row, joined by ','.
std::string SqliteExec(const std::string& path, const std::string& sql) {
  sqlite3* raw = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
  std::string rows;
  char* error = nullptr;
  const int rc = sqlite3_exec(
      raw, sql.c_str(),
      [](void* out, int, char** values, char**) {
        std::string& text = *static_cast<std::string*>(out);
        absl::StrAppend(&text, text.empty() ? "" : ",", values[0] ? values[0] : "NULL");
        return 0;
      },
      &rows, &error);
  EXPECT_EQ(rc, SQLITE_OK) << (error ? error : "") << "\n" << sql;
  sqlite3_free(error);
  sqlite3_close(raw);
  return rows;
}

// A file as the schema-3 code wrote it (its DDL and rows; ids 3, 6 and 8 were pruned) migrates
// to schema 4: every record kept and unconfirmed, rank_cost = mean_cost, the lookup indexes
// on rank_cost, and Best's answers those of the old ORDER BY mean_cost.
TEST(DatabaseMigrationTest, SchemaThreeFileMigratesKeepingRecordsAndRanking) {
  ScratchDir dir;
  const std::string path = dir.File("v3.db");
  SqliteExec(path, absl::StrCat(R"sql(
CREATE TABLE strings (
  id   INTEGER PRIMARY KEY,
  kind INTEGER NOT NULL,
  text TEXT    NOT NULL,
  UNIQUE (kind, text)
);
CREATE TABLE records (
  id INTEGER PRIMARY KEY, workload_id INTEGER NOT NULL, target_id INTEGER NOT NULL,
  device_id INTEGER NOT NULL, job_id INTEGER NOT NULL, trial INTEGER NOT NULL,
  template_name TEXT NOT NULL, config_json TEXT NOT NULL, config_hash INTEGER NOT NULL,
  status TEXT NOT NULL, costs_json TEXT NOT NULL, mean_cost REAL NOT NULL,
  gflops REAL NOT NULL, error TEXT NOT NULL, board_id TEXT NOT NULL,
  timestamp_ms INTEGER NOT NULL, version_id INTEGER NOT NULL, llvm_version_id INTEGER NOT NULL,
  device_model_id INTEGER NOT NULL, device_cpu_id INTEGER NOT NULL,
  device_cores INTEGER NOT NULL, runtime_version_id INTEGER NOT NULL,
  schema_version INTEGER NOT NULL
);
CREATE INDEX records_best
  ON records (workload_id, target_id, device_id, status, mean_cost);
CREATE INDEX records_any_device ON records (workload_id, target_id, status, mean_cost);
CREATE INDEX records_job
  ON records (job_id, trial, workload_id, target_id, device_id, config_hash);
INSERT INTO strings VALUES (1, 1, 'matmul:m=64,n=64,k=64'), (2, 1, 'matmul:m=128,n=128,k=128'),
  (3, 2, ')sql",
                                kTarget, R"sql('), (4, 3, 'x86-server'), (5, 3, 'rk3399'),
  (6, 4, 'job-a'), (7, 5, '0.1.0'), (8, 5, '14.0.6'), (9, 5, ''), (10, 5, 'EPYC'),
  (11, 5, '0.2.0');
WITH v(id, workload_id, device_id, trial, status, costs_json, mean_cost, gflops, error,
       board_id, llvm_version_id, device_cpu_id, device_cores, runtime_version_id,
       schema_version) AS (VALUES
  (1, 1, 4, 0, 'OK', '[0.003,0.003]', 0.003, 10.0, '', 'board-1', 9, 9, 0, 9, 2),
  (2, 1, 4, 1, 'OK', '[0.001]', 0.001, 30.0, '', 'board-1', 8, 10, 8, 11, 3),
  (4, 1, 5, 2, 'OK', '[0.0005]', 0.0005, 60.0, '', 'board-2', 8, 10, 4, 11, 3),
  (5, 1, 4, 3, 'TIMEOUT', '[]', 0, 0, 'timed out', 'board-1', 8, 10, 8, 11, 3),
  (7, 1, 4, 4, 'OK', '[0.002]', 0.002, 15.0, '', 'board-1', 8, 10, 8, 11, 3),
  (9, 2, 4, 5, 'OK', '[0.005]', 0.005, 80.0, '', 'board-1', 8, 10, 8, 11, 3))
INSERT INTO records
  SELECT id, workload_id, 3, device_id, 6, trial, 'matmul_tiled',
    '{"template_name":"matmul_tiled","knobs":[{"name":"tile_m","value":"' || (trial + 1) ||
    '"}]}', 101 + trial, status, costs_json, mean_cost, gflops, error, board_id,
    1700000000000 + trial, 7, llvm_version_id, 9, device_cpu_id, device_cores,
    runtime_version_id, schema_version
  FROM v ORDER BY id;
PRAGMA application_id = 1179927618;
PRAGMA user_version = 3;
)sql"));
  // Every stored column of schema 3, row by row.
  constexpr char kRows[] =
      "SELECT id || '|' || workload_id || '|' || target_id || '|' || device_id || '|' || "
      "job_id || '|' || trial || '|' || template_name || '|' || config_json || '|' || "
      "config_hash || '|' || status || '|' || costs_json || '|' || mean_cost || '|' || gflops "
      "|| '|' || error || '|' || board_id || '|' || timestamp_ms || '|' || version_id || '|' "
      "|| llvm_version_id || '|' || device_model_id || '|' || device_cpu_id || '|' || "
      "device_cores || '|' || runtime_version_id || '|' || schema_version FROM records "
      "ORDER BY id";
  const std::string before = SqliteExec(path, kRows);
  ASSERT_EQ(std::count(before.begin(), before.end(), '|'), 6 * 22);
  const auto best_ids_by_mean_cost = [&](const char* where) {
    return SqliteExec(path, absl::StrCat("SELECT id FROM records WHERE status = 'OK' AND ", where,
                                         " ORDER BY mean_cost, id"));
  };
  const std::string workload_order = best_ids_by_mean_cost("workload_id = 1");
  const std::string device_order = best_ids_by_mean_cost("workload_id = 1 AND device_id = 4");
  ASSERT_EQ(workload_order, "4,2,7,1");
  ASSERT_EQ(device_order, "2,7,1");

  absl::StatusOr<std::unique_ptr<Database>> db = Database::Open(path);
  ASSERT_TRUE(db.ok()) << db.status();
  EXPECT_EQ(UserVersion(path), 4);
  EXPECT_EQ(SqliteExec(path, kRows), before);
  EXPECT_EQ(SqliteExec(path,
                       "SELECT count(*) FROM records WHERE rank_cost = mean_cost AND "
                       "confirmed_json = '[]' AND confirmed_default_json = '[]'"),
            "6");
  EXPECT_EQ(SqliteExec(path, "SELECT group_concat(name) FROM pragma_index_info('records_best')"),
            "workload_id,target_id,device_id,status,rank_cost");
  EXPECT_EQ(
      SqliteExec(path, "SELECT group_concat(name) FROM pragma_index_info('records_any_device')"),
      "workload_id,target_id,status,rank_cost");
  EXPECT_EQ(SqliteExec(path, "SELECT group_concat(name) FROM pragma_index_info('records_job')"),
            "job_id,trial,workload_id,target_id,device_id,config_hash");
  EXPECT_EQ(SqliteExec(path, "PRAGMA integrity_check"), "ok");

  absl::StatusOr<std::vector<Record>> all = (*db)->History(Query{});
  ASSERT_TRUE(all.ok()) << all.status();
  std::string ids;
  for (const Record& record : *all) {
    absl::StrAppend(&ids, ids.empty() ? "" : ",", record.id);
    EXPECT_TRUE(record.confirmed_costs.empty()) << record.id;
    EXPECT_TRUE(record.confirmed_default_costs.empty()) << record.id;
    EXPECT_EQ(RankCost(record), record.mean_cost) << record.id;
  }
  EXPECT_EQ(ids, "1,2,4,5,7,9");
  const Record& second = (*all)[1];
  EXPECT_EQ(second.workload_key, "matmul:m=64,n=64,k=64");
  EXPECT_EQ(second.target_key, kTarget);
  EXPECT_EQ(second.device_key, "x86-server");
  EXPECT_EQ(second.job, "job-a");
  EXPECT_EQ(second.config.knobs(0).value(), 2);
  EXPECT_EQ(second.llvm_version, "14.0.6");
  EXPECT_EQ(second.device.cpu, "EPYC");
  EXPECT_EQ(second.device.cores, 8);
  EXPECT_EQ(second.device.runtime_version, "0.2.0");
  EXPECT_EQ(second.schema_version, 3);
  EXPECT_EQ((*all)[0].schema_version, 2);
  EXPECT_EQ((*all)[3].error, "timed out");

  const auto best_ids = [&](const Query& query) {
    absl::StatusOr<std::vector<Record>> best = (*db)->Best(query, 10);
    EXPECT_TRUE(best.ok()) << best.status();
    std::string text;
    for (const Record& record : best.ok() ? *best : std::vector<Record>{}) {
      absl::StrAppend(&text, text.empty() ? "" : ",", record.id);
    }
    return text;
  };
  const Query workload{"matmul:m=64,n=64,k=64", std::string(kTarget)};
  const Query device{"matmul:m=64,n=64,k=64", std::string(kTarget), std::string("x86-server")};
  EXPECT_EQ(best_ids(workload), workload_order);
  EXPECT_EQ(best_ids(device), device_order);
  absl::StatusOr<Stats> stats = (*db)->GetStats();
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->schema_version, 4);
  EXPECT_EQ(stats->records, 6);
  EXPECT_EQ(stats->from_older_schema, 6);

  // Confirmations work on migrated records; new records are schema 4.
  ASSERT_TRUE((*db)->Confirm(1, {0.25e-3, 0.3e-3, 0.2e-3}, {}).ok());
  EXPECT_EQ(best_ids(device), "1,2,7");
  Record fresh = MakeRecord("matmul:m=64,n=64,k=64", "job-b", 0, v1::OK, 1.5e-3);
  fresh.target_key = kTarget;
  ASSERT_TRUE((*db)->Insert(&fresh).ok());
  EXPECT_EQ(fresh.id, 10);
  EXPECT_EQ(best_ids(device), "1,2,10,7");
  db->reset();

  // Reopening migrates nothing again.
  db = Database::Open(path);
  ASSERT_TRUE(db.ok()) << db.status();
  EXPECT_EQ(best_ids(device), "1,2,10,7");
  EXPECT_EQ(SqliteExec(path, "SELECT schema_version FROM records WHERE id = 10"), "4");
}

// The schema-2 code's PostgreSQL DDL, as it created it.
constexpr char kPostgresSchemaTwoSql[] = R"sql(
CREATE TABLE fleettune_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE records (
  id BIGSERIAL PRIMARY KEY, workload_key TEXT COLLATE "C" NOT NULL,
  target_key TEXT COLLATE "C" NOT NULL, device_key TEXT COLLATE "C" NOT NULL,
  job TEXT COLLATE "C" NOT NULL, trial BIGINT NOT NULL, template_name TEXT NOT NULL,
  config_json TEXT NOT NULL, config_hash BIGINT NOT NULL, status TEXT NOT NULL,
  costs_json TEXT NOT NULL, mean_cost DOUBLE PRECISION NOT NULL,
  gflops DOUBLE PRECISION NOT NULL, error TEXT NOT NULL, board_id TEXT NOT NULL,
  timestamp_ms BIGINT NOT NULL, version TEXT NOT NULL, llvm_version TEXT NOT NULL DEFAULT '',
  device_model TEXT NOT NULL DEFAULT '', device_cpu TEXT NOT NULL DEFAULT '',
  device_cores INTEGER NOT NULL DEFAULT 0, runtime_version TEXT NOT NULL DEFAULT '',
  schema_version BIGINT NOT NULL DEFAULT 2);
CREATE INDEX records_best ON records (workload_key, target_key, device_key, status, mean_cost);
CREATE INDEX records_job ON records (job, trial);
CREATE INDEX records_config ON records (workload_key, config_hash);
CREATE INDEX records_any_device ON records (workload_key, target_key, status, mean_cost);
INSERT INTO fleettune_meta VALUES ('application', 'fleettune'), ('schema_version', '2');
)sql";

// A fresh database on the test server and a raw libpq connection to it, to write an older
// schema as older code did and to inspect what a migration left.
class RawPostgres {
 public:
  // Skips the test when FLEETTUNE_NO_POSTGRES=1; fails it when there is no server.
  void Connect() {
    absl::StatusOr<testing::PostgresServer*> server = testing::PostgresServer::Shared();
    ASSERT_TRUE(server.ok()) << server.status();
    absl::StatusOr<std::string> url = (*server)->CreateDatabase();
    ASSERT_TRUE(url.ok()) << url.status();
    url_ = *url;
    conn_ = PQconnectdb(url_.c_str());
    ASSERT_EQ(PQstatus(conn_), CONNECTION_OK) << PQerrorMessage(conn_);
  }
  ~RawPostgres() { PQfinish(conn_); }

  // Runs `sql`; the first column of the first row ("" when none), the rows joined by ','.
  std::string Exec(const std::string& sql) {
    PGresult* result = PQexec(conn_, sql.c_str());
    EXPECT_TRUE(PQresultStatus(result) == PGRES_COMMAND_OK ||
                PQresultStatus(result) == PGRES_TUPLES_OK)
        << PQresultErrorMessage(result);
    std::string value;
    for (int row = 0; row < PQntuples(result); ++row) {
      absl::StrAppend(&value, row > 0 ? "," : "", PQgetvalue(result, row, 0));
    }
    PQclear(result);
    return value;
  }
  const std::string& url() const { return url_; }

 private:
  std::string url_;
  PGconn* conn_ = nullptr;
};

// A PostgreSQL database written by the schema-2 code migrates through schema 3
// (records_config dropped, records_job widened) to schema 4, keeping its records.
TEST(DatabaseMigrationTest, PostgresSchemaTwoMigratesKeepingItsRecords) {
  if (testing::PostgresDisabled()) GTEST_SKIP() << "FLEETTUNE_NO_POSTGRES=1";
  RawPostgres raw;
  ASSERT_NO_FATAL_FAILURE(raw.Connect());
  raw.Exec(kPostgresSchemaTwoSql);
  raw.Exec(R"sql(
INSERT INTO records (workload_key, target_key, device_key, job, trial, template_name,
  config_json, config_hash, status, costs_json, mean_cost, gflops, error, board_id,
  timestamp_ms, version, llvm_version)
  VALUES ('matmul:m=64,n=64,k=64', 'llvm -mtriple=x86_64-pc-linux-gnu -threads=1', 'x86',
          'j', 4, 'matmul_tiled', '{"template_name":"matmul_tiled"}', 77, 'OK', '[0.5]',
          0.5, 2.0, '', 'b', 1700000000000, '0.1.0', '14.0.6');
)sql");

  absl::StatusOr<std::unique_ptr<Database>> db = Database::Open(raw.url());
  ASSERT_TRUE(db.ok()) << db.status();
  absl::StatusOr<Stats> stats = (*db)->GetStats();
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->schema_version, 4);
  EXPECT_EQ(stats->records, 1);
  EXPECT_EQ(stats->from_older_schema, 1);
  absl::StatusOr<std::vector<Record>> best = (*db)->Best(Query{"matmul:m=64,n=64,k=64"}, 1);
  ASSERT_TRUE(best.ok()) << best.status();
  ASSERT_EQ(best->size(), 1u);
  EXPECT_EQ(best->front().job, "j");
  EXPECT_EQ(best->front().trial, 4);
  EXPECT_EQ(best->front().config_hash, 77u);
  EXPECT_EQ(best->front().costs, std::vector<double>{0.5});
  EXPECT_EQ(best->front().schema_version, 2);
  EXPECT_EQ(raw.Exec("SELECT count(*) FROM pg_indexes WHERE indexname = 'records_config'"), "0");
  EXPECT_EQ(raw.Exec("SELECT indexdef FROM pg_indexes WHERE indexname = 'records_job'"),
            "CREATE INDEX records_job ON public.records USING btree (job, trial, workload_key, "
            "target_key, device_key, config_hash)");
}

// A PostgreSQL database as the schema-3 code left it migrates to schema 4: every record kept
// and unconfirmed with rank_cost = mean_cost, the lookup indexes on rank_cost, and Best's
// answers unchanged.
TEST(DatabaseMigrationTest, PostgresSchemaThreeMigratesKeepingRecordsAndRanking) {
  if (testing::PostgresDisabled()) GTEST_SKIP() << "FLEETTUNE_NO_POSTGRES=1";
  RawPostgres raw;
  ASSERT_NO_FATAL_FAILURE(raw.Connect());
  raw.Exec(kPostgresSchemaTwoSql);
  raw.Exec(R"sql(
DROP INDEX records_config;
DROP INDEX records_job;
CREATE INDEX records_job
  ON records (job, trial, workload_key, target_key, device_key, config_hash);
ALTER TABLE records ALTER COLUMN schema_version SET DEFAULT 3;
UPDATE fleettune_meta SET value = '3' WHERE key = 'schema_version';
INSERT INTO records (workload_key, target_key, device_key, job, trial, template_name,
  config_json, config_hash, status, costs_json, mean_cost, gflops, error, board_id,
  timestamp_ms, version, llvm_version, schema_version)
  SELECT 'matmul:m=64,n=64,k=64', 'llvm -threads=1', device, 'j', trial, 'matmul_tiled',
         '{"template_name":"matmul_tiled"}', 100 + trial, status, '[]', cost, 1 / cost, '',
         'b', 1700000000000 + trial, '0.1.0', '14.0.6', 3
  FROM (VALUES (0, 'x86', 'OK', 3e-3), (1, 'x86', 'OK', 1e-3), (2, 'arm', 'OK', 0.5e-3),
               (3, 'x86', 'TIMEOUT', 1e-9), (4, 'x86', 'OK', 2e-3))
    AS v(trial, device, status, cost)
  ORDER BY trial;
)sql");
  const std::string order_by_mean_cost =
      raw.Exec("SELECT trial FROM records WHERE status = 'OK' ORDER BY mean_cost, id");
  ASSERT_EQ(order_by_mean_cost, "2,1,4,0");

  absl::StatusOr<std::unique_ptr<Database>> db = Database::Open(raw.url());
  ASSERT_TRUE(db.ok()) << db.status();
  absl::StatusOr<Stats> stats = (*db)->GetStats();
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->schema_version, 4);
  EXPECT_EQ(stats->records, 5);
  EXPECT_EQ(stats->from_older_schema, 5);
  EXPECT_EQ(raw.Exec("SELECT count(*) FROM records WHERE rank_cost = mean_cost AND "
                     "confirmed_json = '[]' AND confirmed_default_json = '[]'"),
            "5");
  EXPECT_EQ(raw.Exec("SELECT is_nullable || ' ' || coalesce(column_default, 'no default') FROM "
                     "information_schema.columns WHERE table_name = 'records' AND "
                     "column_name = 'rank_cost'"),
            "NO no default");
  EXPECT_EQ(raw.Exec("SELECT indexdef FROM pg_indexes WHERE indexname IN ('records_best', "
                     "'records_any_device') ORDER BY indexname"),
            "CREATE INDEX records_any_device ON public.records USING btree (workload_key, "
            "target_key, status, ((confirmed_json = '[]'::text)), rank_cost),CREATE INDEX "
            "records_best ON public.records USING btree (workload_key, target_key, device_key, "
            "status, ((confirmed_json = '[]'::text)), rank_cost)");
  absl::StatusOr<std::vector<Record>> best = (*db)->Best(Query{"matmul:m=64,n=64,k=64"}, 10);
  ASSERT_TRUE(best.ok()) << best.status();
  std::string trials;
  for (const Record& record : *best) {
    absl::StrAppend(&trials, trials.empty() ? "" : ",", record.trial);
    EXPECT_TRUE(record.confirmed_costs.empty());
    EXPECT_EQ(record.schema_version, 3);
  }
  EXPECT_EQ(trials, order_by_mean_cost);
  // And the migrated records can be confirmed.
  ASSERT_TRUE((*db)->Confirm(best->back().id, {0.25e-3}, {}).ok());
  best = (*db)->Best(Query{"matmul:m=64,n=64,k=64"}, 1);
  ASSERT_TRUE(best.ok()) << best.status();
  ASSERT_EQ(best->size(), 1u);
  EXPECT_EQ(best->front().trial, 0);
}

}  // namespace
}  // namespace fleettune::db
