// The event log of `fleettune tracker` and `fleettune tune` (tuner/cli/logging.h) on loopback
// with the real binaries: timestamped lines with their level, --log-level choosing which
// appear, and a bad level refused as bad usage.
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/integration/job_history.h"
#include "tests/integration/process.h"

namespace fleettune {
namespace {

using ::fleettune::testing::ChildProcess;
using ::fleettune::testing::ProcessResult;
using ::fleettune::testing::RunProcess;

constexpr char kKey[] = "logtest";
// "2026-12-03T12:48:01.123Z [info] fleettune tracker: " before each event.
constexpr char kStamp[] = R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)";

// The lines of `text` that match `pattern` whole.
std::vector<std::string> MatchingLines(const std::string& text, const std::string& pattern) {
  const std::regex line_regex(pattern);
  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (std::regex_match(std::string(line), line_regex)) lines.emplace_back(line);
  }
  return lines;
}

class TrackerLogTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::FreshTestDir("logtest"); }
  void TearDown() override {
    if (board_ != nullptr && board_->pid() > 0) kill(board_->pid(), SIGCONT);  // it may be frozen
    board_.reset();
    tracker_.reset();
    if (!HasFailure()) std::filesystem::remove_all(dir_);
  }

  // Starts a tracker with `flags` and one board, and waits until the board is registered
  // (asking `status`, which does not depend on the log).
  void StartFleet(const std::vector<std::string>& flags) {
    std::string error;
    tracker_ = testing::StartTracker(FLEETTUNE_BIN, dir_.string(), flags, &address_, &error);
    ASSERT_NE(tracker_, nullptr) << error;
    board_ = ChildProcess::Start({RPC_SERVER_BIN, "--tracker", address_, "--key", kKey},
                                 dir_.string(), "board");
    ASSERT_NE(board_, nullptr);
    for (int attempt = 0; attempt < 300; ++attempt) {
      ProcessResult status =
          RunProcess({FLEETTUNE_BIN, "status", "--tracker", address_, "--json"}, 30);
      const nlohmann::json json = nlohmann::json::parse(status.out, nullptr, false);
      if (json.is_object() && json.contains("boards") && json["boards"].size() == 1) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    FAIL() << "the board did not register: " << board_->Stderr();
  }

  std::filesystem::path dir_;
  std::string address_;
  std::unique_ptr<ChildProcess> tracker_;
  std::unique_ptr<ChildProcess> board_;
};

TEST_F(TrackerLogTest, InfoLogsABoardJoiningAndLeavingWithTimeAndLevel) {
  ASSERT_NO_FATAL_FAILURE(StartFleet({"--log-level", "info"}));
  const std::string board = absl::StrCat(R"(board board-1 \(key )", kKey, R"(, host [^)]+\))");
  const std::string prefix = absl::StrCat(kStamp, R"( \[info\] fleettune tracker: )", board);
  ASSERT_TRUE(tracker_->WaitForOutput(" joined", 10)) << tracker_->Stderr();
  EXPECT_EQ(MatchingLines(tracker_->Stderr(), prefix + " joined").size(), 1u) << tracker_->Stderr();

  board_->Kill(SIGKILL);
  board_.reset();
  ASSERT_TRUE(tracker_->WaitForOutput(" lost: ", 10)) << tracker_->Stderr();
  EXPECT_EQ(
      MatchingLines(tracker_->Stderr(), prefix + " lost: disconnected; it held no task").size(), 1u)
      << tracker_->Stderr();
}

TEST_F(TrackerLogTest, WarnLogsAHungBoardButNotJoinsOrLeaves) {
  ASSERT_NO_FATAL_FAILURE(StartFleet({"--log-level", "warn", "--board-silence", "5"}));
  kill(board_->pid(), SIGSTOP);  // hung: the tracker drops it as silent, a warning
  ASSERT_TRUE(tracker_->WaitForOutput(" lost: silent", 20)) << tracker_->Stderr();
  const std::string err = tracker_->Stderr();
  EXPECT_EQ(MatchingLines(err, absl::StrCat(kStamp, R"( \[warning\] fleettune tracker: board )",
                                            R"(board-1 \(key )", kKey,
                                            R"(, host [^)]+\) lost: silent for \d+ s .*)"))
                .size(),
            1u)
      << err;
  EXPECT_EQ(err.find(" joined"), std::string::npos) << err;
  EXPECT_EQ(err.find("[info]"), std::string::npos) << err;
}

TEST(LogLevelFlagTest, ABadLevelIsBadUsage) {
  for (const char* command : {"tracker", "tune"}) {
    std::vector<std::string> argv = {FLEETTUNE_BIN, command, "--log-level", "loud"};
    if (std::string(command) == "tune") argv.insert(argv.end(), {"--workload", "matmul:m=1"});
    ProcessResult result = RunProcess(argv, 30);
    EXPECT_EQ(result.exit_code, 2) << command << ": " << result.err;
    EXPECT_NE(result.err.find("--log-level: 'loud' is not a log level: give trace, debug, info, "
                              "warn, error, off"),
              std::string::npos)
        << command << ": " << result.err;
  }
}

// `fleettune tune` on the embedded fleet: one line when the job starts, one when it ends,
// naming the job that the summary on stdout names; none of them at --log-level warn.
TEST(TuneLogTest, LogsTheJobStartingAndFinishing) {
  const std::filesystem::path dir = testing::FreshTestDir("tunelog");
  const std::string workload = "matmul:m=8,n=8,k=8";
  auto tune = [&](const std::string& level) {
    return RunProcess({FLEETTUNE_BIN, "tune", "--workload", workload, "--target", "host -threads=1",
                       "--trials", "3", "--tuner", "random", "--repeat", "1", "--min-repeat-ms",
                       "1", "--quiet", "--db", (dir / "tuning.db").string(), "--log-level", level},
                      240);
  };
  ProcessResult info = tune("info");
  ASSERT_EQ(info.exit_code, 0) << info.out << info.err;
  std::smatch job;
  ASSERT_TRUE(std::regex_search(info.out, job, std::regex("^job (\\S+): 3 trials"))) << info.out;
  // A job name (workload@time-random) has no character that is special in a regex.
  const std::string prefix =
      absl::StrCat(kStamp, R"( \[info\] fleettune tune: job )", job[1].str());
  EXPECT_EQ(MatchingLines(info.err, prefix + R"( started: matmul:m=8,n=8,k=8 on .* \(key local, )"
                                             R"(3 trials, random search\))")
                .size(),
            1u)
      << info.err;
  EXPECT_EQ(MatchingLines(info.err, prefix + R"( finished: 3 trials, 0 failed, best [0-9.]+ )"
                                             R"(GFLOPS \(.*\) in [0-9.]+ s)")
                .size(),
            1u)
      << info.err;

  ProcessResult warn = tune("warn");
  ASSERT_EQ(warn.exit_code, 0) << warn.out << warn.err;
  EXPECT_EQ(warn.err.find(" started: "), std::string::npos) << warn.err;
  EXPECT_EQ(warn.err.find(" finished: "), std::string::npos) << warn.err;
  if (!::testing::Test::HasFailure()) std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace fleettune
