// The fixture of the storage contract tests, run against both back ends (parameter "sqlite"
// or "postgresql"): a SQLite file, or a PostgreSQL database on a throwaway local server
// (tests/db/postgres_server.h); a second, empty database of the same back end to import
// into.
#ifndef FLEETTUNE_TESTS_DB_STORAGE_FIXTURE_H_
#define FLEETTUNE_TESTS_DB_STORAGE_FIXTURE_H_

#include <memory>
#include <string>
#include <vector>

#include "db/database.h"
#include "gtest/gtest.h"
#include "tests/db/postgres_server.h"
#include "tests/db/test_util.h"

namespace fleettune::db::testing {

class StorageTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgresql") {
      if (PostgresDisabled()) GTEST_SKIP() << "FLEETTUNE_NO_POSTGRES=1";
      absl::StatusOr<PostgresServer*> server = PostgresServer::Shared();
      ASSERT_TRUE(server.ok()) << server.status();
      absl::StatusOr<std::string> url = (*server)->CreateDatabase();
      ASSERT_TRUE(url.ok()) << url.status();
      url_ = *url;
      absl::StatusOr<std::string> second = (*server)->CreateDatabase();
      ASSERT_TRUE(second.ok()) << second.status();
      second_url_ = *second;
    } else {
      url_ = dir_.File("t.db");
      second_url_ = dir_.File("second.db");
    }
    absl::StatusOr<std::unique_ptr<Database>> db = Database::Open(url_);
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
  }

  Record Insert(Record record) {
    absl::Status status = db_->Insert(&record);
    EXPECT_TRUE(status.ok()) << status;
    return record;
  }

  ScratchDir dir_;
  std::string url_;
  std::string second_url_;
  std::unique_ptr<Database> db_;
};

inline std::vector<int64_t> Trials(const std::vector<Record>& records) {
  std::vector<int64_t> trials;
  for (const Record& record : records) trials.push_back(record.trial);
  return trials;
}

// Names the instantiations "sqlite" and "postgresql".
inline std::string BackendName(const ::testing::TestParamInfo<std::string>& info) {
  return info.param;
}

}  // namespace fleettune::db::testing

#endif  // FLEETTUNE_TESTS_DB_STORAGE_FIXTURE_H_
