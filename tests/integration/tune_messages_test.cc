// What `fleettune tune` and `best` tell the user about a job (issue #18 item 6), on a real
// embedded fleet: a search space that runs out before --trials, a job whose every trial timed
// out, and the `host` target shown short (the full key stays in the database and --json).
#include <filesystem>
#include <string>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/integration/job_history.h"
#include "tests/integration/process.h"

namespace fleettune {
namespace {

using ::fleettune::testing::ProcessResult;
using ::fleettune::testing::RunProcess;

class TuneMessagesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::FreshTestDir("tunemsg");
    db_ = (dir_ / "tuning.db").string();
  }
  void TearDown() override {
    if (!HasFailure()) std::filesystem::remove_all(dir_);
  }

  // `fleettune tune` on the embedded fleet with one repeat of `min_repeat_ms`, plus `flags`.
  ProcessResult Tune(const std::string& workload, std::vector<std::string> flags,
                     const std::string& min_repeat_ms = "1") {
    std::vector<std::string> argv = {
        FLEETTUNE_BIN, "tune", "--workload",      workload,      "--db",   db_,
        "--repeat",    "1",    "--min-repeat-ms", min_repeat_ms, "--quiet"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    return RunProcess(argv, /*timeout_seconds=*/240);
  }

  nlohmann::json History(const std::string& workload) {
    ProcessResult history =
        RunProcess({FLEETTUNE_BIN, "history", "--workload", workload, "--db", db_, "--json"}, 60);
    EXPECT_EQ(history.exit_code, 0) << history.err;
    return nlohmann::json::parse(history.out, nullptr, false);
  }

  std::filesystem::path dir_;
  std::string db_;
};

// A one-thread 1x1x1 matmul has a handful of configs; asking for far more trials stops when
// every one is measured, and the summary says so instead of silently stopping short.
TEST_F(TuneMessagesTest, SaysWhenTheSearchSpaceIsExhausted) {
  const std::string workload = "matmul:m=1,n=1,k=1";
  ProcessResult tune =
      Tune(workload, {"--target", "host -threads=1", "--trials", "100000", "--tuner", "grid"});
  ASSERT_EQ(tune.exit_code, 0) << tune.out << tune.err;
  const nlohmann::json history = History(workload);
  ASSERT_TRUE(history.is_array());
  const size_t configs = history.size();
  ASSERT_GT(configs, 0u);
  ASSERT_LT(configs, 100000u);
  const std::string expected = "search space exhausted: all " + std::to_string(configs) +
                               " configs are measured (" + std::to_string(configs) +
                               " of the 100000 trials asked for)";
  EXPECT_NE(tune.out.find(expected), std::string::npos) << tune.out;
  // A second job with --resume has nothing left and says the same, not "0 trials".
  ProcessResult again = Tune(workload, {"--target", "host -threads=1", "--trials", "100000",
                                        "--tuner", "grid", "--resume"});
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_NE(again.out.find("search space exhausted: all " + std::to_string(configs)),
            std::string::npos)
      << again.out;
  EXPECT_EQ(History(workload).size(), configs) << "--resume measured a config again";
}

// A job whose every trial timed out names the workload and the (first) config that was too
// slow, and the flag that raises the limit.
TEST_F(TuneMessagesTest, AllTimeoutsNameTheKernelAndTheFlag) {
  const std::string workload = "matmul:m=16,n=16,k=16";
  ProcessResult tune =
      Tune(workload, {"--trials", "2", "--batch-size", "2", "--timeout-ms", "1"}, "50");
  EXPECT_EQ(tune.exit_code, 1) << tune.out << tune.err;
  const nlohmann::json history = History(workload);
  ASSERT_EQ(history.size(), 2u);
  for (const nlohmann::json& record : history) ASSERT_EQ(record["status"], "TIMEOUT") << record;
  const std::string first_config = history[0]["config_string"];
  EXPECT_NE(tune.out.find("every trial timed out (2 of 2)"), std::string::npos) << tune.out;
  EXPECT_NE(tune.out.find(workload + " " + first_config), std::string::npos) << tune.out;
  EXPECT_NE(tune.out.find("raise --timeout-ms (now 1 ms)"), std::string::npos) << tune.out;
  EXPECT_EQ(tune.out.find("see `fleettune history` for the errors"), std::string::npos)
      << "the generic no-result line instead of the timeout one: " << tune.out;
}

// `host` resolves to the machine's every CPU feature. tune and best show a short form;
// --verbose and --json keep the full canonical key, which is what the database holds.
TEST_F(TuneMessagesTest, HostTargetIsShownShortUnlessVerbose) {
  const std::string workload = "matmul:m=16,n=16,k=16";
  ProcessResult tune = Tune(workload, {"--trials", "1"});
  ASSERT_EQ(tune.exit_code, 0) << tune.out << tune.err;
  const std::string tune_output = tune.out + tune.err;
  EXPECT_EQ(tune_output.find("-mattr="), std::string::npos) << tune_output;
  EXPECT_NE(tune_output.find(" features"), std::string::npos) << tune_output;

  const nlohmann::json history = History(workload);
  ASSERT_EQ(history.size(), 1u);
  const std::string key = history[0]["target"];
  EXPECT_NE(key.find("-mattr="), std::string::npos) << "the database keeps the full key: " << key;

  ProcessResult best = RunProcess({FLEETTUNE_BIN, "best", "--workload", workload, "--db", db_});
  ASSERT_EQ(best.exit_code, 0) << best.err;
  EXPECT_EQ(best.out.find("-mattr="), std::string::npos) << best.out;
  EXPECT_NE(best.out.find(" features"), std::string::npos) << best.out;

  ProcessResult verbose =
      RunProcess({FLEETTUNE_BIN, "best", "--workload", workload, "--db", db_, "--verbose"});
  ASSERT_EQ(verbose.exit_code, 0) << verbose.err;
  EXPECT_NE(verbose.out.find("target: " + key + "\n"), std::string::npos) << verbose.out;

  ProcessResult tune_verbose = Tune(workload, {"--trials", "2", "--resume", "--verbose"});
  ASSERT_EQ(tune_verbose.exit_code, 0) << tune_verbose.out << tune_verbose.err;
  EXPECT_NE(tune_verbose.err.find(" on " + key + " "), std::string::npos) << tune_verbose.err;
}

}  // namespace
}  // namespace fleettune
