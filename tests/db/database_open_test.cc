// Opening files: creating, reopening, and refusing files that are not ours.
#include <sqlite3.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "db/database.h"
#include "gtest/gtest.h"
#include "tests/db/test_util.h"

namespace fleettune::db {
namespace {

using ::fleettune::db::testing::MakeRecord;
using ::fleettune::db::testing::ReadBytes;
using ::fleettune::db::testing::ScratchDir;
using ::fleettune::db::testing::WriteBytes;

constexpr char kMatmul[] = "matmul:m=64,n=64,k=64";

void ExecRaw(const std::string& path, const char* sql) {
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
  char* error = nullptr;
  EXPECT_EQ(sqlite3_exec(raw, sql, nullptr, nullptr, &error), SQLITE_OK) << error;
  sqlite3_free(error);
  sqlite3_close(raw);
}

std::string QueryRawText(const std::string& path, const char* sql) {
  sqlite3* raw = nullptr;
  EXPECT_EQ(sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  std::string result;
  if (sqlite3_prepare_v2(raw, sql, -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW) {
    result = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  }
  sqlite3_finalize(stmt);
  sqlite3_close(raw);
  return result;
}

void ExpectRefusedAndUntouched(const std::string& path, absl::StatusCode code,
                               const std::string& reason) {
  const std::string before = ReadBytes(path);
  absl::StatusOr<std::unique_ptr<Database>> db = Database::Open(path);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), code) << db.status();
  EXPECT_NE(db.status().message().find(path), std::string::npos) << db.status();
  EXPECT_NE(db.status().message().find(reason), std::string::npos) << db.status();
  EXPECT_EQ(ReadBytes(path), before) << "Open modified a file it refused";
  EXPECT_FALSE(std::filesystem::exists(path + "-wal"));
  EXPECT_FALSE(std::filesystem::exists(path + "-journal"));
}

TEST(DatabaseOpenTest, NewFileGetsOurApplicationIdSchemaVersionAndWal) {
  ScratchDir dir;
  const std::string path = dir.File("new.db");
  ASSERT_FALSE(std::filesystem::exists(path));
  {
    absl::StatusOr<std::unique_ptr<Database>> db = Database::Open(path);
    ASSERT_TRUE(db.ok()) << db.status();
  }
  EXPECT_EQ(QueryRawText(path, "PRAGMA application_id"), std::to_string(0x46544442));
  EXPECT_EQ(QueryRawText(path, "PRAGMA user_version"), "4");
  EXPECT_EQ(QueryRawText(path, "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(QueryRawText(path, "SELECT group_concat(name) FROM pragma_index_info('records_best')"),
            "workload_id,target_id,device_id,status,rank_cost");
  EXPECT_EQ(
      QueryRawText(path, "SELECT group_concat(name) FROM pragma_index_info('records_any_device')"),
      "workload_id,target_id,status,rank_cost");
}

// A large import drops the lookup indexes and builds them again at its end
// (kCreateLookupIndexesSql): they must come back exactly as the migration defines them, and
// serve correct lookups.
TEST(DatabaseOpenTest, BulkImportRebuildsTheLookupIndexesAsTheSchemaDefinesThem) {
  ScratchDir dir;
  const std::string fresh = dir.File("fresh.db");
  const std::string bulk = dir.File("bulk.db");
  ASSERT_TRUE(Database::Open(fresh).ok());
  absl::StatusOr<std::unique_ptr<Database>> db = Database::Open(bulk);
  ASSERT_TRUE(db.ok()) << db.status();
  constexpr int64_t kRecords = 60'000;  // above the rebuild threshold of an empty database
  int64_t next = 0;
  absl::StatusOr<ImportCounts> counts =
      (*db)->InsertAll([&]() -> absl::StatusOr<std::optional<Record>> {
        if (next == kRecords) return std::optional<Record>();
        const int64_t i = next++;
        Record record = MakeRecord(
            absl::StrCat("matmul:m=", i % 7, ",n=1,k=1"), absl::StrCat("job-", i / 100), i % 100,
            i % 10 == 0 ? v1::TIMEOUT : v1::OK, 1e-3 + (i * 7919 % 10007) * 1e-7);
        record.device_key = absl::StrCat("dev-", i % 3);
        return std::optional<Record>(std::move(record));
      });
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->inserted, kRecords);
  const char* kIndexes =
      "SELECT group_concat(name || ': ' || sql, ' | ') FROM (SELECT name, sql FROM sqlite_master "
      "WHERE type = 'index' AND sql IS NOT NULL ORDER BY name)";
  EXPECT_EQ(QueryRawText(bulk, kIndexes), QueryRawText(fresh, kIndexes));
  EXPECT_NE(QueryRawText(bulk, kIndexes).find("records_best"), std::string::npos);
  EXPECT_EQ(QueryRawText(bulk, "PRAGMA integrity_check"), "ok");

  // The fastest OK record of (m=3, dev-1): brute force over the same formula.
  int64_t best_i = -1;
  for (int64_t i = 0; i < kRecords; ++i) {
    if (i % 7 != 3 || i % 3 != 1 || i % 10 == 0) continue;
    if (best_i < 0 || i * 7919 % 10007 < best_i * 7919 % 10007) best_i = i;
  }
  absl::StatusOr<std::vector<Record>> best = (*db)->Best(
      Query{"matmul:m=3,n=1,k=1", MakeRecord("", "", 0, v1::OK, 1).target_key, "dev-1"}, 1);
  ASSERT_TRUE(best.ok()) << best.status();
  ASSERT_EQ(best->size(), 1u);
  EXPECT_EQ(best->front().job, absl::StrCat("job-", best_i / 100));
  EXPECT_EQ(best->front().trial, best_i % 100);
  EXPECT_EQ(best->front().id, best_i + 1);
}

// Duplicates right where the import switches to rebuilding the indexes (the 50,000th insert
// of an empty database): the switch happens once, and in-import duplicates are still found.
TEST(DatabaseOpenTest, BulkImportWithDuplicatesAtTheRebuildPoint) {
  ScratchDir dir;
  absl::StatusOr<std::unique_ptr<Database>> db = Database::Open(dir.File("t.db"));
  ASSERT_TRUE(db.ok()) << db.status();
  constexpr int64_t kUnique = 50'010;
  std::vector<int64_t> order;
  for (int64_t i = 0; i < kUnique; ++i) {
    order.push_back(i);
    if (i == 49'999) order.insert(order.end(), {0, 49'999, 17});  // 3 duplicates
  }
  size_t next = 0;
  absl::StatusOr<ImportCounts> counts =
      (*db)->InsertAll([&]() -> absl::StatusOr<std::optional<Record>> {
        if (next == order.size()) return std::optional<Record>();
        const int64_t i = order[next++];
        return std::optional<Record>(
            MakeRecord(kMatmul, absl::StrCat("job-", i / 1000), i % 1000, v1::OK, 1e-3));
      });
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->read, kUnique + 3);
  EXPECT_EQ(counts->inserted, kUnique);
  EXPECT_EQ(counts->duplicates, 3);
  EXPECT_EQ(*(*db)->Count(Query{}), kUnique);
}

// A record that cannot be stored aborts the whole import, and the error names it.
TEST(DatabaseOpenTest, BulkImportOfABadRecordNamesItAndStoresNothing) {
  ScratchDir dir;
  absl::StatusOr<std::unique_ptr<Database>> db = Database::Open(dir.File("t.db"));
  ASSERT_TRUE(db.ok()) << db.status();
  for (int bad : {0, 1}) {
    int64_t next = 0;
    absl::StatusOr<ImportCounts> counts =
        (*db)->InsertAll([&]() -> absl::StatusOr<std::optional<Record>> {
          if (next == 5) return std::optional<Record>();
          Record record = MakeRecord(kMatmul, absl::StrCat("job-", bad), next, v1::OK, 1e-3);
          if (next++ == 3) {
            if (bad == 0) record.gflops = std::nan("");
            if (bad == 1) record.costs = {1e-3, std::numeric_limits<double>::infinity()};
          }
          return std::optional<Record>(std::move(record));
        });
    ASSERT_FALSE(counts.ok());
    EXPECT_EQ(counts.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(counts.status().message().rfind("record 4: ", 0), 0u) << counts.status();
    EXPECT_NE(counts.status().message().find(bad == 0 ? "gflops" : "costs[1]"), std::string::npos)
        << counts.status();
    EXPECT_EQ(*(*db)->Count(Query{}), 0);
    EXPECT_EQ(*(*db)->Count(Query{kMatmul}), 0);
  }
}

TEST(DatabaseOpenTest, ReopenKeepsRecords) {
  ScratchDir dir;
  const std::string path = dir.File("t.db");
  std::vector<int64_t> ids;
  {
    absl::StatusOr<std::unique_ptr<Database>> db = Database::Open(path);
    ASSERT_TRUE(db.ok()) << db.status();
    for (int i = 0; i < 3; ++i) {
      Record record = MakeRecord(kMatmul, "j", i, v1::OK, 1e-3 * (3 - i));
      ASSERT_TRUE((*db)->Insert(&record).ok());
      ids.push_back(record.id);
    }
  }
  absl::StatusOr<std::unique_ptr<Database>> db = Database::Open(path);
  ASSERT_TRUE(db.ok()) << db.status();
  EXPECT_EQ(*(*db)->Count(Query{kMatmul}), 3);
  absl::StatusOr<std::vector<Record>> history = (*db)->History(Query{kMatmul});
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ((*history)[i].id, ids[i]);
  absl::StatusOr<std::vector<Record>> best = (*db)->Best(Query{kMatmul}, 1);
  ASSERT_TRUE(best.ok());
  EXPECT_EQ(best->at(0).trial, 2);

  Record more = MakeRecord(kMatmul, "j", 3, v1::OK, 1e-3);
  ASSERT_TRUE((*db)->Insert(&more).ok());
  EXPECT_GT(more.id, ids.back());
}

TEST(DatabaseOpenTest, EmptyFileBecomesADatabase) {
  ScratchDir dir;
  const std::string path = dir.File("empty.db");
  WriteBytes(path, "");
  absl::StatusOr<std::unique_ptr<Database>> db = Database::Open(path);
  ASSERT_TRUE(db.ok()) << db.status();
  EXPECT_EQ(*(*db)->Count(Query{}), 0);
}

TEST(DatabaseOpenTest, RefusesGarbageFileAndLeavesItUntouched) {
  ScratchDir dir;
  const std::string path = dir.File("garbage.db");
  std::string garbage;
  for (int i = 0; i < 8192; ++i) garbage.push_back(static_cast<char>((i * 131 + 7) % 256));
  WriteBytes(path, garbage);
  ExpectRefusedAndUntouched(path, absl::StatusCode::kFailedPrecondition, "not a SQLite database");
}

TEST(DatabaseOpenTest, RefusesShortTextFile) {
  ScratchDir dir;
  const std::string path = dir.File("notes.txt");
  WriteBytes(path, "hello\n");
  ExpectRefusedAndUntouched(path, absl::StatusCode::kFailedPrecondition, "not a SQLite database");
}

TEST(DatabaseOpenTest, RefusesForeignSqliteDatabaseAndLeavesItUntouched) {
  ScratchDir dir;
  const std::string path = dir.File("foreign.db");
  ExecRaw(path,
          "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT);"
          "INSERT INTO customers (name) VALUES ('ada'), ('grace');");
  ExpectRefusedAndUntouched(path, absl::StatusCode::kFailedPrecondition, "foreign tables");
  EXPECT_EQ(QueryRawText(path, "SELECT group_concat(name) FROM customers"), "ada,grace");
  EXPECT_EQ(QueryRawText(path, "PRAGMA journal_mode"), "delete");
}

TEST(DatabaseOpenTest, RefusesOtherApplicationsDatabaseEvenWhenEmpty) {
  ScratchDir dir;
  const std::string path = dir.File("other.db");
  ExecRaw(path, "PRAGMA application_id = 1234;");
  ExpectRefusedAndUntouched(path, absl::StatusCode::kFailedPrecondition, "another application");
}

TEST(DatabaseOpenTest, RefusesNewerSchemaVersion) {
  ScratchDir dir;
  const std::string path = dir.File("future.db");
  ASSERT_TRUE(Database::Open(path).ok());
  ExecRaw(path, absl::StrCat("PRAGMA user_version = ", kCurrentSchemaVersion + 1, ";").c_str());
  const std::string before = ReadBytes(path);
  absl::StatusOr<std::unique_ptr<Database>> db = Database::Open(path);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(db.status().message().find("newer"), std::string::npos) << db.status();
  EXPECT_EQ(ReadBytes(path), before);
}

TEST(DatabaseOpenTest, MissingParentDirectoryIsNotFoundNamingIt) {
  ScratchDir dir;
  const std::string parent = dir.File("no/such/dir");
  absl::StatusOr<std::unique_ptr<Database>> db = Database::Open(parent + "/t.db");
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(db.status().message().find("directory '" + parent + "' does not exist"),
            std::string::npos)
      << db.status();
  EXPECT_FALSE(std::filesystem::exists(parent));
}

TEST(DatabaseOpenTest, OpenExistingRefusesAMissingFileWithoutCreatingIt) {
  ScratchDir dir;
  const std::string path = dir.File("typo.db");
  absl::StatusOr<std::unique_ptr<Database>> db = Database::OpenExisting(path);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(db.status().message().find(path), std::string::npos) << db.status();
  EXPECT_FALSE(std::filesystem::exists(path));

  ASSERT_TRUE(Database::Open(path).ok());
  db = Database::OpenExisting(path);
  ASSERT_TRUE(db.ok()) << db.status();
  EXPECT_EQ(*(*db)->Count(Query{}), 0);
}

TEST(DatabaseOpenTest, DirectoryAndEmptyPathAreRefused) {
  ScratchDir dir;
  const std::string path = dir.File("a_directory");
  std::filesystem::create_directory(path);
  absl::StatusOr<std::unique_ptr<Database>> db = Database::Open(path);
  EXPECT_EQ(db.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(db.status().message().find("is a directory"), std::string::npos) << db.status();
  EXPECT_EQ(Database::Open("").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fleettune::db
