// What an operator sees when the tracker loses a board, on loopback with the real binaries:
// a frozen board stays in `status` as "lost" with the reason and its re-queued task, the
// tracker logs it, and it replaces its lost entry when it comes back; a board killed mid-task
// costs no trial; a restarted tracker shows the counts of what happened since it started, and
// nothing more.
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
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

constexpr char kKey[] = "losstest";

class BoardLossTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::FreshTestDir("boardloss");
    db_ = (dir_ / "tuning.db").string();
  }
  void TearDown() override {
    // A frozen board cannot exit. A board already killed has pid -1, and kill(-1, SIGCONT)
    // would continue every process of the user: the frozen boards of tests running beside this
    // one included.
    for (auto& board : boards_) {
      if (board->pid() > 0) kill(board->pid(), SIGCONT);
    }
    boards_.clear();
    tracker_.reset();
    if (!HasFailure()) std::filesystem::remove_all(dir_);
  }

  // Starts a tracker (`flags` added) and `boards` board runtimes; waits until all registered.
  void StartFleet(int boards, const std::vector<std::string>& flags) {
    std::string error;
    tracker_ = testing::StartTracker(FLEETTUNE_BIN, dir_.string(), flags, &address_, &error);
    ASSERT_NE(tracker_, nullptr) << error;
    for (int i = 0; i < boards; ++i) {
      boards_.push_back(ChildProcess::Start({RPC_SERVER_BIN, "--tracker", address_, "--key", kKey},
                                            dir_.string(), absl::StrCat("board", i)));
      ASSERT_NE(boards_.back(), nullptr);
    }
    ASSERT_TRUE(AwaitStatus([&](const nlohmann::json& status) {
      return static_cast<int>(status["boards"].size()) == boards;
    })) << "boards did not register with "
        << address_;
  }

  // `fleettune status --json`; a null json when it fails.
  nlohmann::json Status() {
    ProcessResult status = RunProcess({FLEETTUNE_BIN, "status", "--tracker", address_, "--json"});
    if (status.exit_code != 0) return nullptr;
    return nlohmann::json::parse(status.out, nullptr, false);
  }

  // Polls the status until `done` holds (true) or 30 s pass (false).
  template <typename Predicate>
  bool AwaitStatus(Predicate done) {
    for (int attempt = 0; attempt < 300; ++attempt) {
      nlohmann::json status = Status();
      if (status.is_object() && status.contains("boards") && done(status)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  // The board id under which runtime process `pid` is registered; "" when it is not.
  static std::string BoardIdOf(const nlohmann::json& boards, pid_t pid) {
    const std::string marker = absl::StrCat(":", pid, ":");  // DeviceInfo.instance
    for (const auto& board : boards) {
      if (absl::StrContains(board["info"].value("instance", ""), marker)) {
        return board["boardId"];
      }
    }
    return "";
  }

  // The task board `board_id` runs according to `status`; 0 when it is idle or not listed.
  static uint64_t RunningTask(const nlohmann::json& status, const std::string& board_id) {
    if (!status.is_object() || !status.contains("boards")) return 0;
    for (const auto& board : status["boards"]) {
      if (board["boardId"] == board_id && board["state"] == "busy") {
        return std::stoull(board["currentTask"].get<std::string>());  // uint64: a string
      }
    }
    return 0;
  }

  // No confirmation round (nor held-back bests): these tests count the tracker's tasks and
  // kill boards at chosen trials; the round is tested in fleet_test.cc and tuning_job_test.cc.
  std::vector<std::string> Tune(const std::string& workload, int trials, int min_repeat_ms) {
    return {FLEETTUNE_BIN, "tune",   "--confirm-top",   "0",
            "--workload",  workload, "--tracker",       address_,
            "--key",       kKey,     "--trials",        std::to_string(trials),
            "--db",        db_,      "--min-repeat-ms", std::to_string(min_repeat_ms)};
  }

  std::filesystem::path dir_;
  std::string db_;
  std::string address_;
  std::unique_ptr<ChildProcess> tracker_;
  std::vector<std::unique_ptr<ChildProcess>> boards_;
};

TEST_F(BoardLossTest, FrozenBoardIsListedLostWithItsReasonAndRequeuedTaskThenComesBack) {
  ASSERT_NO_FATAL_FAILURE(StartFleet(2, {"--board-silence", "5"}));
  const std::string workload = "matmul:m=16,n=16,k=16";
  std::vector<std::string> tune = Tune(workload, 4, 150);  // a task takes about a second
  tune.insert(tune.end(), {"--batch-size", "4"});
  auto job = ChildProcess::Start(tune, dir_.string(), "tune");
  ASSERT_NE(job, nullptr);

  // Freeze board 0 while it measures: its connection stays open, it neither answers nor
  // heartbeats, and the tracker must find out by itself.
  std::string frozen_id;
  uint64_t frozen_task = 0;
  ASSERT_TRUE(AwaitStatus([&](const nlohmann::json& status) {
    frozen_id = BoardIdOf(status["boards"], boards_[0]->pid());
    for (const auto& board : status["boards"]) {
      if (board["boardId"] == frozen_id && board["state"] == "busy") {
        frozen_task = std::stoull(board["currentTask"].get<std::string>());  // uint64: a string
        kill(boards_[0]->pid(), SIGSTOP);
        return true;
      }
    }
    return false;
  })) << "board 0 never got a task";

  std::optional<int> exit_code = job->Wait(120);
  ASSERT_TRUE(exit_code.has_value()) << job->Stderr();
  ASSERT_EQ(*exit_code, 0) << job->Stderr();
  absl::StatusOr<std::vector<db::Record>> history = testing::JobHistory(db_, workload);
  ASSERT_TRUE(history.ok()) << history.status();
  ASSERT_EQ(history->size(), 4u);  // the frozen board's task was measured elsewhere
  std::set<int64_t> trials;
  for (const db::Record& record : *history) {
    trials.insert(record.trial);
    EXPECT_NE(record.board_id, frozen_id);
  }
  EXPECT_EQ(trials.size(), 4u);

  // `status --json`: connected boards in `boards`, the frozen one in `lostBoards`.
  nlohmann::json status = Status();
  ASSERT_TRUE(status.is_object());
  ASSERT_EQ(status["boards"].size(), 1u) << status.dump(2);
  ASSERT_EQ(status["lostBoards"].size(), 1u) << status.dump(2);
  const nlohmann::json& lost = status["lostBoards"][0];
  EXPECT_EQ(lost["boardId"], frozen_id);
  EXPECT_EQ(lost["state"], "lost");
  EXPECT_EQ(lost["info"]["key"], kKey);
  const std::string reason = lost["lostReason"];
  EXPECT_TRUE(absl::StartsWith(reason, "silent for 5 s") ||
              absl::StartsWith(reason, "silent for 6 s"))
      << reason;
  EXPECT_EQ(lost["lostTask"], std::to_string(frozen_task));
  EXPECT_EQ(lost["lostTaskOutcome"], "requeued");

  // The text status says the same.
  ProcessResult text = RunProcess({FLEETTUNE_BIN, "status", "--tracker", address_});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  bool row_found = false;
  for (absl::string_view line : absl::StrSplit(text.out, '\n')) {
    if (absl::StartsWith(line, frozen_id + " ")) {
      row_found = true;
      EXPECT_NE(line.find(" lost "), std::string::npos) << line;
      EXPECT_NE(line.find("silent for"), std::string::npos) << line;
      EXPECT_NE(line.find(absl::StrCat(frozen_task, " requeued")), std::string::npos) << line;
    }
  }
  EXPECT_TRUE(row_found) << text.out;

  // The tracker's log names the board, its key, the reason and the re-queued task.
  const std::string log = tracker_->Stderr();
  EXPECT_NE(
      log.find(absl::StrCat("fleettune tracker: board ", frozen_id, " (key ", kKey, ", host ")),
      std::string::npos)
      << log;
  EXPECT_NE(log.find(absl::StrCat("lost: ", reason, "; task ", frozen_task, " re-queued")),
            std::string::npos)
      << log;

  // Thawed, the same runtime reconnects and its lost entry goes away.
  kill(boards_[0]->pid(), SIGCONT);
  ASSERT_TRUE(AwaitStatus([](const nlohmann::json& status) {
    return status["boards"].size() == 2u && status["lostBoards"].empty();
  })) << Status().dump(2);
  EXPECT_TRUE(tracker_->WaitForOutput(absl::StrCat("is back: it was ", frozen_id), 10))
      << tracker_->Stderr();
}

TEST_F(BoardLossTest, BoardKilledMidJobLosesNoTrial) {
  ASSERT_NO_FATAL_FAILURE(StartFleet(2, {}));
  const std::string workload = "matmul:m=48,n=40,k=24";
  std::vector<std::string> tune = Tune(workload, 12, 80);
  tune.insert(tune.end(), {"--batch-size", "6"});
  auto job = ChildProcess::Start(tune, dir_.string(), "tune");
  ASSERT_NE(job, nullptr);

  // Once the job is under way (a first result is in), SIGKILL board 0 while it runs a task. It
  // is frozen first and the status read again, so the task seen is the one it still holds
  // when it dies (a frozen board cannot finish it).
  ASSERT_TRUE(job->WaitForOutput("[   1/12]", 60)) << job->Stderr();
  std::string killed_id;
  uint64_t killed_task = 0;
  ASSERT_TRUE(AwaitStatus([&](const nlohmann::json& status) {
    killed_id = BoardIdOf(status["boards"], boards_[0]->pid());
    if (RunningTask(status, killed_id) == 0) return false;
    kill(boards_[0]->pid(), SIGSTOP);
    killed_task = RunningTask(Status(), killed_id);
    if (killed_task == 0) {  // it finished its task just before it froze: try the next one
      kill(boards_[0]->pid(), SIGCONT);
      return false;
    }
    boards_[0]->Kill(SIGKILL);
    return true;
  })) << "board 0 never got a task";

  std::optional<int> exit_code = job->Wait(180);
  ASSERT_TRUE(exit_code.has_value()) << job->Stderr();
  ASSERT_EQ(*exit_code, 0) << job->Stderr();
  // One measured record per trial: the killed board's task was measured again, not lost
  // (DEVICE_LOST) or doubled. On the oversubscribed 2-core machine a correct kernel may still
  // run out of time on the surviving board, while four processes share two cores: its time
  // evaluator stops it ("timing exceeded ...") or its sandbox does ("no result within ...").
  // Either is a TIMEOUT the board measured, not a lost trial; anything else is a failure.
  absl::StatusOr<std::vector<db::Record>> history = testing::JobHistory(db_, workload);
  ASSERT_TRUE(history.ok()) << history.status();
  ASSERT_EQ(history->size(), 12u);
  std::set<int64_t> trials;
  int ok = 0;
  for (const db::Record& record : *history) {
    EXPECT_TRUE(trials.insert(record.trial).second) << "trial " << record.trial << " twice";
    EXPECT_TRUE(record.status == v1::OK || record.status == v1::TIMEOUT)
        << "trial " << record.trial << " on " << record.board_id << ": "
        << v1::MeasureStatus_Name(record.status) << " " << record.error;
    ok += record.status == v1::OK;
  }
  EXPECT_GE(ok, 6) << "most trials of a small matmul must measure OK even under load";

  // The tracker lost the board with that task and re-queued it.
  nlohmann::json status = Status();
  ASSERT_TRUE(status.is_object());
  ASSERT_EQ(status["lostBoards"].size(), 1u) << status.dump(2);
  const nlohmann::json& lost = status["lostBoards"][0];
  EXPECT_EQ(lost["boardId"], killed_id);
  EXPECT_TRUE(absl::StartsWith(lost["lostReason"].get<std::string>(), "disconnected"))
      << lost.dump();
  EXPECT_EQ(lost["lostTask"], std::to_string(killed_task));
  EXPECT_EQ(lost["lostTaskOutcome"], "requeued");
}

TEST_F(BoardLossTest, RestartedTrackerCountsOnlyWhatHappenedSinceItStarted) {
  ASSERT_NO_FATAL_FAILURE(StartFleet(2, {}));
  const std::string workload = "matmul:m=16,n=16,k=16";
  ProcessResult before = RunProcess(Tune(workload, 4, 2), 120);
  ASSERT_EQ(before.exit_code, 0) << before.err;

  tracker_->Kill(SIGKILL);
  tracker_ = ChildProcess::Start({FLEETTUNE_BIN, "tracker", "--listen", address_}, dir_.string(),
                                 "tracker-restarted");
  ASSERT_TRUE(tracker_->WaitForOutput("listening on", 30)) << tracker_->Stderr();
  ASSERT_TRUE(AwaitStatus([](const nlohmann::json& status) {
    return status["boards"].size() == 2u;
  })) << "the boards did not come back";
  // Nothing has been measured yet: no board has done or failed anything, none was lost.
  nlohmann::json status = Status();
  ASSERT_TRUE(status.is_object());
  for (const auto& board : status["boards"]) {
    EXPECT_EQ(board["tasksDone"], "0") << board.dump();
    EXPECT_EQ(board["tasksFailed"], "0") << board.dump();
    EXPECT_EQ(board["state"], "idle") << board.dump();
  }
  EXPECT_TRUE(status["lostBoards"].empty()) << status.dump(2);

  ProcessResult after = RunProcess(Tune(workload, 4, 2), 120);
  ASSERT_EQ(after.exit_code, 0) << after.err;
  absl::StatusOr<std::vector<db::Record>> history = testing::JobHistory(db_, workload);
  ASSERT_TRUE(history.ok()) << history.status();
  ASSERT_EQ(history->size(), 8u);
  for (const db::Record& record : *history) EXPECT_EQ(record.status, v1::OK) << record.error;
  status = Status();
  ASSERT_TRUE(status.is_object());
  uint64_t done = 0;
  for (const auto& board : status["boards"]) {
    EXPECT_EQ(board["tasksFailed"], "0") << board.dump();
    done += std::stoull(board["tasksDone"].get<std::string>());
  }
  EXPECT_EQ(done, 4u) << status.dump(2);  // the four trials since the restart, each once
}

}  // namespace
}  // namespace fleettune
