// Helpers shared by the db tests: scratch directories, files, sample records.
#ifndef FLEETTUNE_TESTS_DB_TEST_UTIL_H_
#define FLEETTUNE_TESTS_DB_TEST_UTIL_H_

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "absl/strings/str_cat.h"
#include "db/database.h"
#include "gtest/gtest.h"

namespace fleettune::db::testing {

// A fresh directory under the test temp dir, removed on destruction.
class ScratchDir {
 public:
  ScratchDir() {
    const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ =
        std::filesystem::path(::testing::TempDir()) /
        absl::StrCat("fleettune_db_", info->test_suite_name(), "_", info->name(), "_", getpid());
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

inline Record MakeRecord(const std::string& workload, const std::string& job, int64_t trial,
                         v1::MeasureStatus status, double mean_cost) {
  Record record;
  record.workload_key = workload;
  record.target_key = "llvm -mtriple=x86_64-pc-linux-gnu -mcpu=znver3 -threads=4";
  record.device_key = "x86-server";
  record.job = job;
  record.trial = trial;
  record.config.set_template_name("matmul_tiled");
  auto* knob = record.config.add_knobs();
  knob->set_name("tile_m");
  knob->set_value(trial + 1);
  record.config_hash = 1000 + static_cast<uint64_t>(trial);
  record.status = status;
  if (status == v1::OK) {
    record.costs = {mean_cost, mean_cost};
    record.mean_cost = mean_cost;
    record.gflops = 1.0 / mean_cost;
  } else {
    record.error = "failed";
  }
  record.board_id = "board-1";
  record.timestamp_ms = 1700000000000 + trial;
  record.version = "0.1.0";
  return record;
}

}  // namespace fleettune::db::testing

#endif  // FLEETTUNE_TESTS_DB_TEST_UTIL_H_
