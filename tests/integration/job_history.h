// What the integration tests share besides processes (process.h): a scratch directory per
// test and the records a tuning job left in its database.
#ifndef FLEETTUNE_TESTS_INTEGRATION_JOB_HISTORY_H_
#define FLEETTUNE_TESTS_INTEGRATION_JOB_HISTORY_H_

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "db/database.h"

namespace fleettune::testing {

// The whole file's bytes; empty when it cannot be read.
inline std::string ReadWholeFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// An empty directory fleettune-<prefix>-<pid>-<current test's name> in the temp directory
// (emptied first when a failed run left it behind).
inline std::filesystem::path FreshTestDir(const std::string& prefix) {
  const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("fleettune-" + prefix + "-" + std::to_string(getpid()) + "-" +
                               (test != nullptr ? test->name() : "none"));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// Every record of `workload` in the database file at `db_path`, in measurement order.
inline absl::StatusOr<std::vector<db::Record>> JobHistory(const std::string& db_path,
                                                          const std::string& workload) {
  absl::StatusOr<std::unique_ptr<db::Database>> database = db::Database::Open(db_path);
  if (!database.ok()) return database.status();
  db::Query query;
  query.workload_key = workload;
  return (*database)->History(query);
}

}  // namespace fleettune::testing

#endif  // FLEETTUNE_TESTS_INTEGRATION_JOB_HISTORY_H_
