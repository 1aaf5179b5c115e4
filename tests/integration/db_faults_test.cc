// Operators' faults around the tuning database (issue #18), with the real `fleettune` binary:
// two tuners on one database, a job name given twice, a damaged or read-only database file,
// and a refused tune leaving no database behind. Each `tune` here runs its own embedded
// loopback fleet.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/integration/job_history.h"
#include "tests/integration/process.h"

namespace fleettune {
namespace {

using ::fleettune::testing::ChildProcess;
using ::fleettune::testing::ProcessResult;
using ::fleettune::testing::RunProcess;

constexpr char kWorkload[] = "matmul:m=16,n=16,k=16";

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

bool HasSideFiles(const std::string& path) {
  for (const char* suffix : {"-wal", "-shm", "-journal"}) {
    if (std::filesystem::exists(path + suffix)) return true;
  }
  return false;
}

class DbFaultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::FreshTestDir("dbfaults");
    db_ = (dir_ / "tuning.db").string();
  }
  void TearDown() override {
    std::filesystem::permissions(dir_, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::add);
    if (!HasFailure()) std::filesystem::remove_all(dir_);
  }

  // `fleettune tune` of kWorkload on an embedded fleet: few, quick trials, random search
  // unless `more` names another --tuner.
  std::vector<std::string> Tune(const std::string& db, int trials,
                                const std::vector<std::string>& more = {}) const {
    std::vector<std::string> argv = {
        FLEETTUNE_BIN,     "tune",     "--workload",           kWorkload, "--target",
        "host -threads=1", "--trials", std::to_string(trials), "--db",    db,
        "--repeat",        "1",        "--min-repeat-ms",      "1",       "--quiet"};
    if (std::find(more.begin(), more.end(), "--tuner") == more.end()) {
      argv.insert(argv.end(), {"--tuner", "random"});
    }
    argv.insert(argv.end(), more.begin(), more.end());
    return argv;
  }

  // `fleettune history --json` of kWorkload: trial numbers by job.
  std::map<std::string, std::multiset<int64_t>> TrialsByJob(const std::string& db) {
    ProcessResult history =
        RunProcess({FLEETTUNE_BIN, "history", "--workload", kWorkload, "--db", db, "--json"}, 60);
    EXPECT_EQ(history.exit_code, 0) << history.err;
    std::map<std::string, std::multiset<int64_t>> jobs;
    nlohmann::json rows = nlohmann::json::parse(history.out, nullptr, false);
    if (!rows.is_array()) {
      ADD_FAILURE() << "history --json is not an array: " << history.out;
      return jobs;
    }
    for (const auto& row : rows) jobs[row.value("job", "")].insert(row["trial"].get<int64_t>());
    return jobs;
  }

  std::filesystem::path dir_;
  std::string db_;
};

// Two tuners of one workload started in the same second on one database, without --job,
// write two jobs (issue #18 item 1: they wrote one job with every trial twice), and an
// export/import carries every measurement of both.
TEST_F(DbFaultsTest, TwoTunesStartedTogetherAreTwoJobsAndExportImportKeepsAll) {
  // Start both early in a wall-clock second, so that a name made of workload and second
  // would be the same for both.
  while (std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
                 .count() %
             1000 >
         100) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::unique_ptr<ChildProcess> first = ChildProcess::Start(Tune(db_, 5), dir_.string(), "tune1");
  std::unique_ptr<ChildProcess> second = ChildProcess::Start(Tune(db_, 5), dir_.string(), "tune2");
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(first->Wait(180), 0) << first->Stderr();
  EXPECT_EQ(second->Wait(180), 0) << second->Stderr();

  const std::map<std::string, std::multiset<int64_t>> jobs = TrialsByJob(db_);
  ASSERT_EQ(jobs.size(), 2u) << "the two runs share a job";
  for (const auto& [job, trials] : jobs) {
    EXPECT_EQ(job.rfind(std::string(kWorkload) + "@", 0), 0u) << job;
    EXPECT_EQ(trials, (std::multiset<int64_t>{0, 1, 2, 3, 4})) << job;
  }

  const std::string exported = (dir_ / "export.jsonl").string();
  const std::string copy = (dir_ / "copy.db").string();
  ProcessResult out = RunProcess({FLEETTUNE_BIN, "db", "export", "--db", db_, "-o", exported}, 60);
  ASSERT_EQ(out.exit_code, 0) << out.err;
  ProcessResult in = RunProcess({FLEETTUNE_BIN, "db", "import", "--db", copy, exported}, 60);
  ASSERT_EQ(in.exit_code, 0) << in.err;
  EXPECT_EQ(in.out, "imported 10 records (10 read, 0 duplicates skipped)\n");
  EXPECT_EQ(TrialsByJob(copy), jobs);
}

// A --job name that already has records is refused before anything is measured; --resume
// continues it.
TEST_F(DbFaultsTest, AGivenJobNameIsRefusedWhenItHasRecordsUnlessResumed) {
  ProcessResult first = RunProcess(Tune(db_, 2, {"--job", "nightly"}), 120);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  ProcessResult again = RunProcess(Tune(db_, 2, {"--job", "nightly"}), 120);
  EXPECT_EQ(again.exit_code, 2) << again.err;
  EXPECT_NE(again.err.find("fleettune tune: error: --job 'nightly' already has 2 records in "
                           "this database; pass --resume"),
            std::string::npos)
      << again.err;
  ProcessResult resumed = RunProcess(Tune(db_, 3, {"--job", "nightly", "--resume"}), 120);
  EXPECT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_NE(resumed.out.find("resumed: 2 trials were already recorded"), std::string::npos)
      << resumed.out;
  const std::map<std::string, std::multiset<int64_t>> jobs = TrialsByJob(db_);
  EXPECT_EQ(jobs, (std::map<std::string, std::multiset<int64_t>>{{"nightly", {0, 1, 2}}}));
}

// A real database cut by one byte, and one with a garbled page: every command refuses it
// with exit 2, names it and says how to recover, and leaves it as it was (issue #18 item 2).
TEST_F(DbFaultsTest, DamagedDatabaseIsRefusedByEveryCommandAndLeftAlone) {
  ProcessResult made = RunProcess(Tune(db_, 4), 120);
  ASSERT_EQ(made.exit_code, 0) << made.err;
  const std::string whole = testing::ReadWholeFile(db_);
  ASSERT_EQ(whole.size() % 4096, 0u);
  ASSERT_FALSE(HasSideFiles(db_));
  std::string garbled = whole;
  for (size_t i = 4096; i < 2 * 4096; ++i) garbled[i] = static_cast<char>(i * 167 % 251);

  const std::string output = (dir_ / "kernel").string();
  const std::vector<std::vector<std::string>> commands = {
      Tune(db_, 2),
      {FLEETTUNE_BIN, "history", "--workload", kWorkload, "--db", db_},
      {FLEETTUNE_BIN, "best", "--workload", kWorkload, "--db", db_},
      {FLEETTUNE_BIN, "compile", "--workload", kWorkload, "--db", db_, "-o", output},
      {FLEETTUNE_BIN, "db", "stats", "--db", db_},
      {FLEETTUNE_BIN, "db", "export", "--db", db_, "-o", (dir_ / "out.jsonl").string()},
      {FLEETTUNE_BIN, "db", "import", "--db", db_, (dir_ / "out.jsonl").string()},
      {FLEETTUNE_BIN, "db", "prune", "--db", db_, "--keep", "1"}};
  for (const auto& [damage, bytes] : std::vector<std::pair<std::string, std::string>>{
           {"cut by one byte", whole.substr(0, whole.size() - 1)}, {"page 2 garbled", garbled}}) {
    WriteFile(db_, bytes);
    for (const std::vector<std::string>& command : commands) {
      SCOPED_TRACE(damage + ": fleettune " + command[1] + " " + command[2]);
      ProcessResult result = RunProcess(command, 120);
      EXPECT_EQ(result.exit_code, 2) << result.out << result.err;
      EXPECT_NE(result.err.find("error: tuning database '" + db_ + "' is damaged: "),
                std::string::npos)
          << result.err;
      EXPECT_NE(result.err.find(".recover"), std::string::npos) << result.err;
      EXPECT_TRUE(testing::ReadWholeFile(db_) == bytes) << "the damaged file was modified";
      EXPECT_FALSE(HasSideFiles(db_));
    }
    EXPECT_FALSE(std::filesystem::exists(output + ".so"));
  }
}

// A tune refused for bad input (an unknown tuner, a wrong tracker token) creates no database
// file (issue #18 item 6a).
TEST_F(DbFaultsTest, RefusedTuneLeavesNoDatabaseFile) {
  ProcessResult tuner = RunProcess(Tune(db_, 2, {"--tuner", "annealing"}), 60);
  EXPECT_EQ(tuner.exit_code, 2) << tuner.err;
  EXPECT_NE(tuner.err.find("unknown tuner 'annealing'"), std::string::npos) << tuner.err;
  EXPECT_FALSE(std::filesystem::exists(db_));

  const std::string token = (dir_ / "client.token").string();
  const std::string wrong = (dir_ / "wrong.token").string();
  WriteFile(token, "cl1ent-s3cret\n");
  WriteFile(wrong, "guess\n");
  std::string address, error;
  std::unique_ptr<ChildProcess> tracker = testing::StartTracker(
      FLEETTUNE_BIN, dir_.string(), {"--client-token-file", token}, &address, &error);
  ASSERT_NE(tracker, nullptr) << error;
  ProcessResult refused = RunProcess({FLEETTUNE_BIN, "tune", "--workload", kWorkload, "--tracker",
                                      address, "--token-file", wrong, "--trials", "2", "--db", db_},
                                     60);
  EXPECT_EQ(refused.exit_code, 2) << refused.err;
  EXPECT_NE(refused.err.find("token"), std::string::npos) << refused.err;
  EXPECT_FALSE(std::filesystem::exists(db_));
  EXPECT_FALSE(HasSideFiles(db_));
}

// `argv` as user nobody when this test runs as root (root may write any file).
std::vector<std::string> WithoutRoot(std::vector<std::string> argv) {
  if (geteuid() != 0) return argv;
  argv.insert(argv.begin(),
              {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"});
  return argv;
}

// A read-only database file: tune says "read-only" before doing anything and leaves no
// -wal/-shm behind; in a read-only directory history and best still read it.
TEST_F(DbFaultsTest, ReadOnlyDatabaseIsRefusedForTuningAndStillRead) {
  ProcessResult made = RunProcess(Tune(db_, 3), 120);
  ASSERT_EQ(made.exit_code, 0) << made.err;
  const std::string before = testing::ReadWholeFile(db_);
  chmod(dir_.c_str(), 0777);
  chmod(db_.c_str(), 0444);

  ProcessResult tune = RunProcess(WithoutRoot(Tune(db_, 2)), 120);
  EXPECT_EQ(tune.exit_code, 1) << tune.err;
  EXPECT_NE(tune.err.find("fleettune tune: error: tuning database '" + db_ + "' is read-only"),
            std::string::npos)
      << tune.err;
  EXPECT_FALSE(HasSideFiles(db_));

  chmod(db_.c_str(), 0666);  // now only the directory is read-only
  chmod(dir_.c_str(), 0555);
  ProcessResult history = RunProcess(
      WithoutRoot({FLEETTUNE_BIN, "history", "--workload", kWorkload, "--db", db_, "--json"}), 60);
  EXPECT_EQ(history.exit_code, 0) << history.err;
  nlohmann::json rows = nlohmann::json::parse(history.out, nullptr, false);
  EXPECT_TRUE(rows.is_array() && rows.size() == 3) << history.out;
  ProcessResult best =
      RunProcess(WithoutRoot({FLEETTUNE_BIN, "best", "--workload", kWorkload, "--db", db_}), 60);
  EXPECT_EQ(best.exit_code, 0) << best.err;
  ProcessResult tune_here = RunProcess(WithoutRoot(Tune(db_, 2)), 120);
  EXPECT_EQ(tune_here.exit_code, 1) << tune_here.err;
  EXPECT_NE(
      tune_here.err.find("cannot be written: its directory '" + dir_.string() + "' is read-only"),
      std::string::npos)
      << tune_here.err;
  EXPECT_FALSE(HasSideFiles(db_));
  EXPECT_TRUE(testing::ReadWholeFile(db_) == before) << "the read-only file was modified";
  chmod(dir_.c_str(), 0755);
}

}  // namespace
}  // namespace fleettune
