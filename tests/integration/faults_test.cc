// Operators' faults on real boards: `fleettune tracker` and `fleettune-rpc-server` processes
// on loopback, and hand-made artifacts (the faulty kernels of tests/rpc_server/test_kernels.c)
// submitted through the tracker's client API. Each fault must come back as its status with an
// error naming it while the board stays up; a board that fails what works on another board
// is quarantined after three strikes, as `fleettune status` shows.
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/integration/job_history.h"
#include "tests/integration/process.h"
#include "tests/rpc_server/kernel_fixture.h"
#include "tuner/tracker_client.h"

namespace fleettune {
namespace {

using ::fleettune::testing::ChildProcess;
using ::fleettune::testing::FixtureTask;
using ::fleettune::testing::WithoutHostReference;
using ::testing::HasSubstr;

constexpr char kKey[] = "faults";

class BoardFaultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::FreshTestDir("faults");
    std::string error;
    tracker_ = testing::StartTracker(FLEETTUNE_BIN, dir_.string(), {}, &address_, &error);
    ASSERT_NE(tracker_, nullptr) << error;
    auto client = tuner::TrackerClient::Connect(address_);
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = std::move(*client);
  }
  void TearDown() override {
    boards_.clear();
    tracker_.reset();
    if (!HasFailure()) std::filesystem::remove_all(dir_);
  }

  // Starts a board of kKey with `environment` (NAME=VALUE, inherited by its sandbox workers)
  // and `flags`, and waits until the tracker lists it. Returns its board id.
  std::string StartBoard(const std::string& name, const std::vector<std::string>& environment,
                         const std::vector<std::string>& flags = {}) {
    std::vector<std::string> argv = {"/usr/bin/env"};
    argv.insert(argv.end(), environment.begin(), environment.end());
    argv.insert(argv.end(), {RPC_SERVER_BIN, "--tracker", address_, "--key", kKey});
    argv.insert(argv.end(), flags.begin(), flags.end());
    std::set<std::string> known;
    if (absl::StatusOr<v1::StatusReply> status = client_->GetStatus(); status.ok()) {
      for (const v1::BoardStatus& board : status->boards()) known.insert(board.board_id());
    }
    boards_.push_back(ChildProcess::Start(argv, dir_.string(), name));
    if (boards_.back() == nullptr) return "";
    for (int attempt = 0; attempt < 200; ++attempt) {
      if (absl::StatusOr<v1::StatusReply> status = client_->GetStatus(); status.ok()) {
        for (const v1::BoardStatus& board : status->boards()) {
          if (known.count(board.board_id()) == 0) return board.board_id();
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return "";
  }

  // Measures `tasks` as one batch; results by client_tag.
  std::map<uint64_t, v1::MeasureResult> Measure(const std::vector<v1::MeasureTask>& tasks) {
    v1::MeasureBatch batch;
    batch.set_device_key(kKey);
    for (const v1::MeasureTask& task : tasks) *batch.add_tasks() = task;
    std::map<uint64_t, v1::MeasureResult> results;
    absl::Status measured = client_->Measure(
        batch, [&](const v1::MeasureResult& result) { results[result.client_tag()] = result; });
    EXPECT_TRUE(measured.ok()) << measured;
    return results;
  }

  v1::BoardStatus Board(const std::string& board_id) {
    absl::StatusOr<v1::StatusReply> status = client_->GetStatus();
    EXPECT_TRUE(status.ok()) << status.status();
    for (const v1::BoardStatus& board : status->boards()) {
      if (board.board_id() == board_id) return board;
    }
    ADD_FAILURE() << "no board " << board_id;
    return {};
  }

  std::filesystem::path dir_;
  std::string address_;
  std::unique_ptr<ChildProcess> tracker_;
  std::unique_ptr<tuner::TrackerClient> client_;
  std::vector<std::unique_ptr<ChildProcess>> boards_;
};

TEST_F(BoardFaultsTest, EachFaultIsItsStatusWithItsErrorAndTheBoardGoesOn) {
  const std::string board =
      StartBoard("board", {"FLEETTUNE_TEST_SLOW_MS=4000"},
                 {"--worker-memory-mb", "256", "--reference-timeout-ms", "1000"});
  ASSERT_FALSE(board.empty()) << "the board did not register";

  struct Case {
    const char* kernel;
    v1::MeasureStatus status;
    const char* error;  // a part of the result's error
  };
  const std::vector<Case> cases = {
      {"matmul_reordered", v1::OK, ""},
      {"matmul_underruns", v1::RUNTIME_ERROR, "kernel wrote outside tensor 2 (C)"},
      {"matmul_writes_input", v1::RUNTIME_ERROR, "kernel wrote into input tensor 0 (A)"},
      {"matmul_overruns_far", v1::RUNTIME_ERROR,
       "signal 11 (Segmentation fault): it wrote outside tensor 2 (C)"},
      {"matmul_aborts", v1::RUNTIME_ERROR, "the kernel crashed: signal 6 (Aborted)"},
      {"matmul_exits", v1::RUNTIME_ERROR, "the kernel called exit() instead of returning"},
      {"matmul_exhausts_memory", v1::RUNTIME_ERROR, "this board limits a measurement to 256 MiB"},
      {"matmul_forks", v1::RUNTIME_ERROR, "the kernel left processes running"},
      {"matmul_leaves_thread", v1::OK, ""},
      {"matmul_garbles_result", v1::RUNTIME_ERROR, "reply was garbled"},
      {"matmul_nan", v1::WRONG_ANSWER, "max abs error inf"},
      {"matmul_slow_reference", v1::REJECTED, "reference: the reference kernel did not finish"},
  };
  std::vector<v1::MeasureTask> tasks;
  for (size_t i = 0; i < cases.size(); ++i) {
    v1::MeasureTask task = FixtureTask(cases[i].kernel, i);
    task.mutable_options()->set_timeout_ms(1000);
    if (std::string(cases[i].kernel) == "matmul_slow_reference") {
      // A good candidate whose reference sleeps 4 s: longer than the board's 1 s bound for a
      // reference run (--reference-timeout-ms) + its 2 s grace. An op the host loop does not
      // know, so that the reference artifact is what the board runs.
      task = WithoutHostReference(task);
      task.mutable_artifact()->set_symbol("matmul_reordered");
      task.mutable_reference()->set_symbol("matmul_slow_reference");
      task.mutable_reference()->set_sha256("slow-reference");
    }
    tasks.push_back(task);
  }
  std::map<uint64_t, v1::MeasureResult> results = Measure(tasks);
  ASSERT_EQ(results.size(), cases.size());
  int failed = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const v1::MeasureResult& result = results[i];
    EXPECT_EQ(v1::MeasureStatus_Name(result.status()), v1::MeasureStatus_Name(cases[i].status))
        << cases[i].kernel << ": " << result.error();
    EXPECT_THAT(result.error(), HasSubstr(cases[i].error)) << cases[i].kernel;
    EXPECT_EQ(result.board_id(), board) << cases[i].kernel;
    if (cases[i].status == v1::OK) EXPECT_EQ(result.costs_size(), 2) << cases[i].kernel;
    if (result.status() != v1::OK) ++failed;
  }
  // The board survived every fault and is ready for more.
  const v1::BoardStatus status = Board(board);
  EXPECT_EQ(status.state(), "idle");
  EXPECT_EQ(status.tasks_failed(), static_cast<uint64_t>(failed));
  EXPECT_EQ(status.tasks_done(), cases.size() - failed);
  std::map<uint64_t, v1::MeasureResult> again = Measure({FixtureTask("matmul_reordered", 99)});
  EXPECT_EQ(again[99].status(), v1::OK) << again[99].error();
}

TEST_F(BoardFaultsTest, ThreeStrikesQuarantineABoardThatFailsWhatWorksElsewhere) {
  // The faulty board registers first, so it is offered each task first.
  const std::string faulty = StartBoard("faulty", {"FLEETTUNE_TEST_FAULTY_BOARD=1"});
  ASSERT_FALSE(faulty.empty()) << "the faulty board did not register";
  const std::string sound = StartBoard("sound", {"FLEETTUNE_TEST_UNUSED=1"});
  ASSERT_FALSE(sound.empty()) << "the sound board did not register";

  // One task at a time: a WRONG_ANSWER on the faulty board is measured again on the sound
  // board, where it is OK, and that is a strike against the faulty board.
  int batches = 0;
  for (; batches < 10 && Board(faulty).state() != "quarantined"; ++batches) {
    std::map<uint64_t, v1::MeasureResult> results =
        Measure({FixtureTask("matmul_faulty_board", batches)});
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[batches].status(), v1::OK) << results[batches].error();
    EXPECT_EQ(results[batches].board_id(), sound);
  }
  EXPECT_EQ(Board(faulty).state(), "quarantined");
  // Its failures were overturned: strikes, not failed tasks.
  EXPECT_EQ(Board(faulty).strikes(), 3u);
  EXPECT_EQ(Board(faulty).tasks_failed(), 0u);
  EXPECT_EQ(Board(sound).state(), "idle");

  // What an operator sees.
  testing::ProcessResult shown =
      testing::RunProcess({FLEETTUNE_BIN, "status", "--tracker", address_, "--json"}, 30);
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  nlohmann::json reply = nlohmann::json::parse(shown.out, nullptr, false);
  ASSERT_FALSE(reply.is_discarded()) << shown.out;
  std::map<std::string, std::string> states;
  std::map<std::string, int> strikes;
  for (const auto& board : reply["boards"]) {
    states[board["boardId"]] = board["state"];
    strikes[board["boardId"]] = board.value("strikes", 0);
  }
  EXPECT_EQ(states[faulty], "quarantined") << shown.out;
  EXPECT_EQ(strikes[faulty], 3) << shown.out;
  EXPECT_EQ(states[sound], "idle") << shown.out;

  // A quarantined board gets no more work: the next tasks all go to the sound board.
  std::map<uint64_t, v1::MeasureResult> after =
      Measure({FixtureTask("matmul_faulty_board", 100), FixtureTask("matmul_faulty_board", 101)});
  for (const auto& [tag, result] : after) {
    EXPECT_EQ(result.status(), v1::OK) << result.error();
    EXPECT_EQ(result.board_id(), sound);
  }
  EXPECT_EQ(Board(faulty).strikes(), 3u);
}

}  // namespace
}  // namespace fleettune
