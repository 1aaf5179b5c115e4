// The storage contract, run against both back ends: a SQLite file and a PostgreSQL database
// on a throwaway local server (tests/db/postgres_server.h).
#include <sys/wait.h>
#include <unistd.h>

#include <sstream>

#include "db/database.h"
#include "gtest/gtest.h"
#include "tests/db/storage_fixture.h"
#include "tests/db/test_util.h"

namespace fleettune::db {
namespace {

using ::fleettune::db::testing::MakeRecord;
using ::fleettune::db::testing::StorageTest;
using ::fleettune::db::testing::Trials;

constexpr char kMatmul[] = "matmul:m=64,n=64,k=64";
constexpr char kMatmul128[] = "matmul:m=128,n=128,k=128";
constexpr char kConv[] = "conv2d:n=1,c=64,h=56,w=56,k=64,r=3,s=3,stride=1,pad=1";
constexpr char kOtherTarget[] = "llvm -mtriple=aarch64-linux-gnu -mcpu=cortex-a76 -threads=4";

TEST_P(StorageTest, RecordReadsBackWithFingerprintAndVersions) {
  Record record = MakeRecord(kMatmul, "job", 7, v1::OK, 2.5e-4);
  record.config_hash = 0xFEDCBA9876543210ULL;
  record.costs = {2.5e-4, 0.30000000000000004, 1e-300};
  record.error = "quote ' and \"double\" and \xC3\xA9";
  record.llvm_version = "14.0.6";
  record.device = {"Raspberry Pi 4", "Cortex-A72", 4, "0.2.0"};
  record.schema_version = 1;  // ignored by Insert
  Insert(record);
  absl::StatusOr<std::vector<Record>> history = db_->History(Query{kMatmul});
  ASSERT_TRUE(history.ok()) << history.status();
  ASSERT_EQ(history->size(), 1u);
  const Record& got = history->front();
  EXPECT_GT(got.id, 0);
  EXPECT_EQ(got.config_hash, 0xFEDCBA9876543210ULL);
  EXPECT_EQ(got.costs, record.costs);
  EXPECT_EQ(got.mean_cost, 2.5e-4);
  EXPECT_EQ(got.gflops, record.gflops);
  EXPECT_EQ(got.error, record.error);
  EXPECT_EQ(got.config.SerializeAsString(), record.config.SerializeAsString());
  EXPECT_EQ(got.version, "0.1.0");
  EXPECT_EQ(got.llvm_version, "14.0.6");
  EXPECT_EQ(got.device.model, "Raspberry Pi 4");
  EXPECT_EQ(got.device.cpu, "Cortex-A72");
  EXPECT_EQ(got.device.cores, 4);
  EXPECT_EQ(got.device.runtime_version, "0.2.0");
  EXPECT_EQ(got.schema_version, kCurrentSchemaVersion);
  EXPECT_FALSE(FromOlderCompiler(got, "0.1.0", "14.0.6"));
  EXPECT_TRUE(FromOlderCompiler(got, "0.2.0", "14.0.6"));
  EXPECT_TRUE(FromOlderCompiler(got, "0.1.0", "15.0.0"));
}

TEST_P(StorageTest, BestIsTopKFastestOkWithTargetAndDeviceFilters) {
  Insert(MakeRecord(kMatmul, "j", 0, v1::OK, 3e-3));
  Insert(MakeRecord(kMatmul, "j", 1, v1::WRONG_ANSWER, 0));
  Insert(MakeRecord(kMatmul, "j", 2, v1::OK, 1e-3));
  Insert(MakeRecord(kMatmul, "j", 3, v1::OK, 2e-3));
  Record other_device = MakeRecord(kMatmul, "j", 4, v1::OK, 0.5e-3);
  other_device.device_key = "rk3399";
  Insert(other_device);
  Record other_target = MakeRecord(kMatmul, "j", 5, v1::OK, 0.1e-3);
  other_target.target_key = kOtherTarget;
  Insert(other_target);
  Insert(MakeRecord(kConv, "j", 6, v1::OK, 1e-6));

  const std::string target = MakeRecord(kMatmul, "", 0, v1::OK, 1).target_key;
  absl::StatusOr<std::vector<Record>> all = db_->Best(Query{kMatmul}, 10);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(Trials(*all), (std::vector<int64_t>{5, 4, 2, 3, 0}));
  absl::StatusOr<std::vector<Record>> top2 = db_->Best(Query{kMatmul, target}, 2);
  ASSERT_TRUE(top2.ok());
  EXPECT_EQ(Trials(*top2), (std::vector<int64_t>{4, 2}));
  absl::StatusOr<std::vector<Record>> device =
      db_->Best(Query{kMatmul, target, std::string("x86-server")}, 10);
  ASSERT_TRUE(device.ok());
  EXPECT_EQ(Trials(*device), (std::vector<int64_t>{2, 3, 0}));
  EXPECT_EQ(db_->Best(Query{kMatmul}, 0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(*db_->Count(Query{kMatmul}), 6);
}

TEST_P(StorageTest, WorkloadsOfOpListsTheOpsWorkloadsWithAnOkRecordOnTheTarget) {
  const std::string target = MakeRecord(kMatmul, "", 0, v1::OK, 1).target_key;
  Insert(MakeRecord(kMatmul, "j", 0, v1::OK, 1e-3));
  Insert(MakeRecord(kMatmul128, "j", 1, v1::OK, 1e-3));
  Insert(MakeRecord("matmul:m=32,n=32,k=32", "j", 2, v1::BUILD_ERROR, 0));  // no OK record
  Record elsewhere = MakeRecord("matmul:m=16,n=16,k=16", "j", 3, v1::OK, 1e-3);
  elsewhere.target_key = kOtherTarget;
  Insert(elsewhere);
  Insert(MakeRecord(kConv, "j", 4, v1::OK, 1e-3));
  Insert(MakeRecord("matmul_like:m=1", "j", 5, v1::OK, 1e-3));  // another op, same prefix
  absl::StatusOr<std::vector<std::string>> keys = db_->WorkloadsOfOp("matmul", target);
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_EQ(*keys, (std::vector<std::string>{kMatmul128, kMatmul}));
  keys = db_->WorkloadsOfOp("matmul", kOtherTarget);
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(*keys, (std::vector<std::string>{"matmul:m=16,n=16,k=16"}));
}

TEST_P(StorageTest, ExportImportRoundTripsAndSkipsDuplicates) {
  for (int trial = 0; trial < 5; ++trial) {
    Record record = MakeRecord(trial % 2 ? kMatmul : kConv, "j", trial,
                               trial == 3 ? v1::TIMEOUT : v1::OK, 1e-3 * (trial + 1));
    record.llvm_version = "14.0.6";
    record.device = {"board", "cpu", 8, "0.1.0"};
    Insert(record);
  }
  std::stringstream exported;
  absl::StatusOr<int64_t> written = db_->Export(Query{}, exported);
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_EQ(*written, 5);
  const std::string text = exported.str();
  EXPECT_EQ(text.rfind("{\"format\":\"fleettune-records\"", 0), 0u) << text.substr(0, 200);

  absl::StatusOr<std::unique_ptr<Database>> second = Database::Open(second_url_);
  ASSERT_TRUE(second.ok()) << second.status();
  std::istringstream in(text);
  absl::StatusOr<ImportCounts> counts = (*second)->Import(in);
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->read, 5);
  EXPECT_EQ(counts->inserted, 5);
  EXPECT_EQ(counts->duplicates, 0);
  absl::StatusOr<std::vector<Record>> before = db_->History(Query{});
  absl::StatusOr<std::vector<Record>> after = (*second)->History(Query{});
  ASSERT_TRUE(before.ok() && after.ok());
  ASSERT_EQ(after->size(), 5u);
  for (size_t i = 0; i < 5; ++i) {
    const Record& a = (*before)[i];
    const Record& b = (*after)[i];
    EXPECT_EQ(a.workload_key, b.workload_key);
    EXPECT_EQ(a.trial, b.trial);
    EXPECT_EQ(a.status, b.status);
    EXPECT_EQ(a.costs, b.costs);
    EXPECT_EQ(a.mean_cost, b.mean_cost);
    EXPECT_EQ(a.config_hash, b.config_hash);
    EXPECT_EQ(a.config.SerializeAsString(), b.config.SerializeAsString());
    EXPECT_EQ(a.device.cores, b.device.cores);
    EXPECT_EQ(a.llvm_version, b.llvm_version);
    EXPECT_EQ(a.timestamp_ms, b.timestamp_ms);
  }
  std::istringstream again(text);
  counts = (*second)->Import(again);
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->inserted, 0);
  EXPECT_EQ(counts->duplicates, 5);
  EXPECT_EQ(*(*second)->Count(Query{}), 5);
}

TEST_P(StorageTest, MalformedImportLineIsNamedAndNothingIsImported) {
  Insert(MakeRecord(kMatmul, "j", 0, v1::OK, 1e-3));
  Insert(MakeRecord(kMatmul, "j", 1, v1::OK, 2e-3));
  std::stringstream exported;
  ASSERT_TRUE(db_->Export(Query{}, exported).ok());
  absl::StatusOr<std::unique_ptr<Database>> second = Database::Open(second_url_);
  ASSERT_TRUE(second.ok()) << second.status();

  const std::string good = exported.str();
  for (const auto& [text, needle] : std::vector<std::pair<std::string, std::string>>{
           {good + "{\"workload\": oops}\n", "line 4: not valid JSON"},
           {good + "{\"workload\":\"matmul:m=1,n=1,k=1\"}\n", "line 4: field 'target' is missing"},
           {good.substr(0, good.find('\n') + 1) + "[1,2]\n", "line 2: not a JSON object"},
           {"{\"format\":\"other\"}\n", "line 1 is not a fleettune export header"},
           {"{\"format\":\"fleettune-records\",\"version\":99}\n", "version 99 is not supported"},
           {"", "line 1: the input is empty"}}) {
    std::istringstream in(text);
    absl::StatusOr<ImportCounts> counts = (*second)->Import(in);
    ASSERT_FALSE(counts.ok()) << text;
    EXPECT_EQ(counts.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(counts.status().message().find(needle), std::string::npos) << counts.status();
    EXPECT_EQ(*(*second)->Count(Query{}), 0) << "half-imported: " << needle;
  }
}

TEST_P(StorageTest, ImportSkipsDuplicatesInTheFileAndOfStoredRecordsOfItsJob) {
  for (int trial = 0; trial < 3; ++trial) Insert(MakeRecord(kMatmul, "j", trial, v1::OK, 1e-3));
  Insert(MakeRecord(kConv, "fresh-job", 0, v1::OK, 1e-3));
  std::stringstream exported;
  ASSERT_TRUE(db_->Export(Query{}, exported).ok());
  std::string text = exported.str();
  const size_t last_line = text.rfind('\n', text.size() - 2) + 1;
  text += text.substr(last_line);  // fresh-job's record twice
  text += text.substr(text.find('\n') + 1, text.find('\n', text.find('\n') + 1) - text.find('\n'));

  absl::StatusOr<std::unique_ptr<Database>> second = Database::Open(second_url_);
  ASSERT_TRUE(second.ok()) << second.status();
  Record stored = MakeRecord(kMatmul, "j", 1, v1::OK, 1e-3);  // the same measurement as trial 1
  ASSERT_TRUE((*second)->Insert(&stored).ok());
  std::istringstream in(text);
  absl::StatusOr<ImportCounts> counts = (*second)->Import(in);
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->read, 6);
  EXPECT_EQ(counts->inserted, 3);    // j:0, j:2, fresh-job:0
  EXPECT_EQ(counts->duplicates, 3);  // j:1 (stored), fresh-job:0 and j:0 again
  absl::StatusOr<std::vector<Record>> history = (*second)->History(Query{});
  ASSERT_TRUE(history.ok()) << history.status();
  ASSERT_EQ(history->size(), 4u);
  EXPECT_EQ(Trials(*history), (std::vector<int64_t>{1, 0, 2, 0}));
  EXPECT_EQ((*history)[1].job, "j");
  EXPECT_EQ((*history)[3].job, "fresh-job");
  EXPECT_EQ((*history)[3].workload_key, kConv);
  EXPECT_EQ((*history)[0].id, stored.id);  // the stored one was kept, not replaced
  EXPECT_LT((*history)[0].id, (*history)[1].id);
  EXPECT_LT((*history)[2].id, (*history)[3].id);
}

// Two tuners that once shared a job name (`workload@time`, started in the same second) wrote
// every trial number twice, each with its own config, board, time and costs. Those are
// distinct measurements: an import keeps every one of them, and only a repeat of the same
// measurement is a duplicate.
TEST_P(StorageTest, ImportKeepsDistinctMeasurementsThatShareJobAndTrial) {
  const std::string job = "matmul:m=64,n=64,k=64@20261202T101500";
  std::vector<Record> written;
  for (int trial = 0; trial < 3; ++trial) {
    for (int process = 0; process < 2; ++process) {
      Record record = MakeRecord(kMatmul, job, trial, v1::OK, 1e-3 * (trial + 1) + 1e-5 * process);
      record.board_id = process == 0 ? "board-a" : "board-b";
      record.timestamp_ms += process * 7;
      written.push_back(Insert(record));
    }
  }
  // The same config measured twice in one trial slot, equal but for the costs.
  Record again = MakeRecord(kMatmul, job, 2, v1::OK, 9e-3);
  again.board_id = "board-a";
  written.push_back(Insert(again));
  // And the same config failing on both boards at different times.
  for (int process = 0; process < 2; ++process) {
    Record failed = MakeRecord(kMatmul, job, 3, v1::TIMEOUT, 0);
    failed.timestamp_ms += process;
    written.push_back(Insert(failed));
  }
  std::stringstream exported;
  ASSERT_TRUE(db_->Export(Query{}, exported).ok());

  absl::StatusOr<std::unique_ptr<Database>> second = Database::Open(second_url_);
  ASSERT_TRUE(second.ok()) << second.status();
  std::istringstream in(exported.str());
  absl::StatusOr<ImportCounts> counts = (*second)->Import(in);
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->read, 9);
  EXPECT_EQ(counts->inserted, 9);
  EXPECT_EQ(counts->duplicates, 0);
  absl::StatusOr<std::vector<Record>> history = (*second)->History(Query{});
  ASSERT_TRUE(history.ok()) << history.status();
  ASSERT_EQ(history->size(), written.size());
  for (size_t i = 0; i < written.size(); ++i) {
    EXPECT_EQ((*history)[i].trial, written[i].trial) << i;
    EXPECT_EQ((*history)[i].board_id, written[i].board_id) << i;
    EXPECT_EQ((*history)[i].timestamp_ms, written[i].timestamp_ms) << i;
    EXPECT_EQ((*history)[i].costs, written[i].costs) << i;
  }

  // Importing the same file again adds nothing: each line is now a stored measurement.
  std::istringstream repeat(exported.str());
  counts = (*second)->Import(repeat);
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->inserted, 0);
  EXPECT_EQ(counts->duplicates, 9);
  EXPECT_EQ(*(*second)->Count(Query{}), 9);
}

TEST_P(StorageTest, FailedImportLeavesNoTraceOfItsNewKeys) {
  Insert(MakeRecord(kMatmul, "j", 0, v1::OK, 1e-3));
  Record conv = MakeRecord(kConv, "conv-job", 0, v1::OK, 2e-3);
  conv.target_key = kOtherTarget;
  conv.device_key = "rk3588";
  conv.version = "0.9.9";
  Insert(conv);
  std::stringstream exported;
  ASSERT_TRUE(db_->Export(Query{}, exported).ok());
  absl::StatusOr<std::unique_ptr<Database>> second = Database::Open(second_url_);
  ASSERT_TRUE(second.ok()) << second.status();
  Record first = MakeRecord(kMatmul, "j", 5, v1::OK, 3e-3);
  ASSERT_TRUE((*second)->Insert(&first).ok());

  std::istringstream in(exported.str() + "{\"workload\": oops}\n");
  EXPECT_FALSE((*second)->Import(in).ok());
  // The conv keys were added and rolled back: nothing finds them, and adding them anew works.
  EXPECT_EQ(*(*second)->Count(Query{kConv}), 0);
  absl::StatusOr<std::vector<std::string>> ops = (*second)->WorkloadsOfOp("conv2d", kOtherTarget);
  ASSERT_TRUE(ops.ok()) << ops.status();
  EXPECT_TRUE(ops->empty());
  ASSERT_TRUE((*second)->Insert(&conv).ok());
  absl::StatusOr<std::vector<Record>> best =
      (*second)->Best(Query{kConv, std::string(kOtherTarget), std::string("rk3588")}, 1);
  ASSERT_TRUE(best.ok()) << best.status();
  ASSERT_EQ(best->size(), 1u);
  EXPECT_EQ(best->front().workload_key, kConv);
  EXPECT_EQ(best->front().target_key, kOtherTarget);
  EXPECT_EQ(best->front().device_key, "rk3588");
  EXPECT_EQ(best->front().job, "conv-job");
  EXPECT_EQ(best->front().version, "0.9.9");
  absl::StatusOr<Stats> stats = (*second)->GetStats();
  ASSERT_TRUE(stats.ok()) << stats.status();
  ASSERT_EQ(stats->keys.size(), 2u);
  EXPECT_EQ(stats->keys[0].workload_key, kConv);  // "conv2d..." sorts before "matmul..."
  EXPECT_EQ(stats->keys[1].workload_key, kMatmul);
  EXPECT_EQ(stats->records, 2);
}

TEST_P(StorageTest, PruneKeepsTheBestNOfEveryKey) {
  for (int trial = 0; trial < 6; ++trial) {
    Insert(MakeRecord(kMatmul, "j", trial, trial == 5 ? v1::RUNTIME_ERROR : v1::OK,
                      1e-3 * (6 - trial)));
  }
  Record other = MakeRecord(kMatmul, "j", 10, v1::OK, 9e-3);
  other.device_key = "rk3399";
  Insert(other);
  Insert(MakeRecord(kConv, "j", 11, v1::OK, 1e-3));
  EXPECT_EQ(db_->Prune(0).status().code(), absl::StatusCode::kInvalidArgument);
  absl::StatusOr<int64_t> deleted = db_->Prune(2);
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(*deleted, 4);  // trials 0, 1, 2 (slower) and 5 (failed)
  absl::StatusOr<std::vector<Record>> left = db_->History(Query{});
  ASSERT_TRUE(left.ok());
  EXPECT_EQ(Trials(*left), (std::vector<int64_t>{3, 4, 10, 11}));
}

TEST_P(StorageTest, StatsCountPerKey) {
  Insert(MakeRecord(kMatmul, "j", 0, v1::OK, 1e-3));
  Insert(MakeRecord(kMatmul, "j", 1, v1::OK, 0.5e-3));
  Insert(MakeRecord(kMatmul, "j", 2, v1::TIMEOUT, 0));
  Insert(MakeRecord(kConv, "j", 3, v1::BUILD_ERROR, 0));
  absl::StatusOr<Stats> stats = db_->GetStats();
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->backend, GetParam());
  EXPECT_EQ(stats->schema_version, kCurrentSchemaVersion);
  EXPECT_EQ(stats->records, 4);
  EXPECT_EQ(stats->ok, 2);
  EXPECT_EQ(stats->from_older_schema, 0);
  ASSERT_EQ(stats->keys.size(), 2u);
  EXPECT_EQ(stats->keys[0].workload_key, kConv);
  EXPECT_EQ(stats->keys[0].records, 1);
  EXPECT_EQ(stats->keys[0].ok, 0);
  EXPECT_EQ(stats->keys[0].best_gflops, 0);
  EXPECT_EQ(stats->keys[1].workload_key, kMatmul);
  EXPECT_EQ(stats->keys[1].records, 3);
  EXPECT_EQ(stats->keys[1].ok, 2);
  EXPECT_DOUBLE_EQ(stats->keys[1].best_gflops, 1 / 0.5e-3);
}

TEST_P(StorageTest, FourProcessesWritingAtOnceLoseNothing) {
  constexpr int kWriters = 4, kInserts = 100;
  std::vector<pid_t> children;
  for (int writer = 0; writer < kWriters; ++writer) {
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      absl::StatusOr<std::unique_ptr<Database>> db = Database::Open(url_);
      if (!db.ok()) _exit(1);
      for (int trial = 0; trial < kInserts; ++trial) {
        Record record = MakeRecord(kMatmul, "w" + std::to_string(writer), trial, v1::OK, 1e-3);
        if (!(*db)->Insert(&record).ok()) _exit(2);
      }
      _exit(0);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "writer failed: " << status;
  }
  EXPECT_EQ(*db_->Count(Query{}), kWriters * kInserts);
  for (int writer = 0; writer < kWriters; ++writer) {
    absl::StatusOr<std::vector<Record>> history =
        db_->History(Query{kMatmul, std::nullopt, std::nullopt, "w" + std::to_string(writer)});
    ASSERT_TRUE(history.ok());
    ASSERT_EQ(history->size(), static_cast<size_t>(kInserts));
    for (int trial = 0; trial < kInserts; ++trial) EXPECT_EQ((*history)[trial].trial, trial);
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, StorageTest, ::testing::Values("sqlite", "postgresql"),
                         testing::BackendName);

}  // namespace
}  // namespace fleettune::db
