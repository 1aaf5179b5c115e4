// Upgrades: a schema-1 file written by the previous fleettune (tests/db/fixtures/v1.db, see
// fixtures/README.md) migrates through schema 2 to schema 3 (texts moved to table `strings`)
// with every record intact and marked as older.
#include <libpq-fe.h>
#include <sqlite3.h>

#include <filesystem>

#include "db/database.h"
#include "gtest/gtest.h"
#include "tests/db/postgres_server.h"
#include "tests/db/test_util.h"

namespace fleettune::db {
namespace {

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
  EXPECT_EQ(UserVersion(path), 3);
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
  }

  // Still usable: best lookups find them; new records land next to them as schema 3.
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
  EXPECT_EQ(stats->schema_version, 3);
  EXPECT_EQ(stats->records, 6);
  EXPECT_EQ(stats->from_older_schema, 5);
  db->reset();

  // Reopening a migrated file migrates nothing again.
  db = Database::Open(path);
  ASSERT_TRUE(db.ok()) << db.status();
  absl::StatusOr<std::vector<Record>> reread = (*db)->History(Query{});
  ASSERT_TRUE(reread.ok());
  ASSERT_EQ(reread->size(), 6u);
  EXPECT_EQ(reread->back().schema_version, 3);
  EXPECT_EQ(reread->front().schema_version, 1);
}

// A PostgreSQL database written by the schema-2 code (its DDL, as that code created it)
// migrates to schema 3 keeping its records: records_config is dropped, records_job widened.
TEST(DatabaseMigrationTest, PostgresSchemaTwoMigratesToThree) {
  if (testing::PostgresDisabled()) GTEST_SKIP() << "FLEETTUNE_NO_POSTGRES=1";
  absl::StatusOr<testing::PostgresServer*> server = testing::PostgresServer::Shared();
  ASSERT_TRUE(server.ok()) << server.status();
  absl::StatusOr<std::string> url = (*server)->CreateDatabase();
  ASSERT_TRUE(url.ok()) << url.status();
  PGconn* conn = PQconnectdb(url->c_str());
  ASSERT_EQ(PQstatus(conn), CONNECTION_OK) << PQerrorMessage(conn);
  const auto exec = [&](const char* sql) {
    PGresult* result = PQexec(conn, sql);
    EXPECT_TRUE(PQresultStatus(result) == PGRES_COMMAND_OK ||
                PQresultStatus(result) == PGRES_TUPLES_OK)
        << PQresultErrorMessage(result);
    std::string value = PQntuples(result) > 0 ? PQgetvalue(result, 0, 0) : "";
    PQclear(result);
    return value;
  };
  exec(R"sql(
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
INSERT INTO records (workload_key, target_key, device_key, job, trial, template_name,
  config_json, config_hash, status, costs_json, mean_cost, gflops, error, board_id,
  timestamp_ms, version, llvm_version)
  VALUES ('matmul:m=64,n=64,k=64', 'llvm -mtriple=x86_64-pc-linux-gnu -threads=1', 'x86',
          'j', 4, 'matmul_tiled', '{"template_name":"matmul_tiled"}', 77, 'OK', '[0.5]',
          0.5, 2.0, '', 'b', 1700000000000, '0.1.0', '14.0.6');
)sql");

  absl::StatusOr<std::unique_ptr<Database>> db = Database::Open(*url);
  ASSERT_TRUE(db.ok()) << db.status();
  absl::StatusOr<Stats> stats = (*db)->GetStats();
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->schema_version, 3);
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
  EXPECT_EQ(exec("SELECT count(*) FROM pg_indexes WHERE indexname = 'records_config'"), "0");
  EXPECT_EQ(exec("SELECT indexdef FROM pg_indexes WHERE indexname = 'records_job'"),
            "CREATE INDEX records_job ON public.records USING btree (job, trial, workload_key, "
            "target_key, device_key, config_hash)");
  PQfinish(conn);
}

}  // namespace
}  // namespace fleettune::db
