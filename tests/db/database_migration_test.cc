// Upgrades: a schema-1 file written by the previous fleettune (tests/db/fixtures/v1.db, see
// fixtures/README.md) opens as schema 2 with every record intact and marked as older.
#include <sqlite3.h>

#include <filesystem>

#include "db/database.h"
#include "gtest/gtest.h"
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
  EXPECT_EQ(UserVersion(path), 2);
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

  // Still usable: best lookups find them; new records land next to them as schema 2.
  absl::StatusOr<std::vector<Record>> best =
      (*db)->Best(Query{"matmul:m=64,n=64,k=64", std::string(kTarget)}, 5);
  ASSERT_TRUE(best.ok());
  ASSERT_EQ(best->size(), 2u);
  EXPECT_EQ(best->front().id, 2);
  Record fresh = (*all)[0];
  fresh.trial = 3;
  fresh.llvm_version = "14.0.6";
  ASSERT_TRUE((*db)->Insert(&fresh).ok());
  EXPECT_EQ(fresh.id, 6);
  absl::StatusOr<Stats> stats = (*db)->GetStats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->schema_version, 2);
  EXPECT_EQ(stats->records, 6);
  EXPECT_EQ(stats->from_older_schema, 5);
  db->reset();

  // Reopening a migrated file migrates nothing again.
  db = Database::Open(path);
  ASSERT_TRUE(db.ok()) << db.status();
  absl::StatusOr<std::vector<Record>> reread = (*db)->History(Query{});
  ASSERT_TRUE(reread.ok());
  ASSERT_EQ(reread->size(), 6u);
  EXPECT_EQ(reread->back().schema_version, 2);
  EXPECT_EQ(reread->front().schema_version, 1);
}

}  // namespace
}  // namespace fleettune::db
