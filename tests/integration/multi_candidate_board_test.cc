// A multi-candidate task on a real board: `fleettune tracker` and `fleettune-rpc-server`
// processes on loopback, the fixture kernels (tests/rpc_server/test_kernels.c) submitted
// through the tracker's client API. The board checks each candidate, times those that pass
// interleaved, and the tracker reports the board's noise from the costs, in `status --json`,
// `status` and the metrics.
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "tests/integration/job_history.h"
#include "tests/integration/process.h"
#include "tests/rpc_server/kernel_fixture.h"
#include "tuner/tracker_client.h"

namespace fleettune {
namespace {

using ::fleettune::testing::ChildProcess;
using ::fleettune::testing::FixtureKernelBytes;
using ::fleettune::testing::FixtureTask;
using ::fleettune::testing::ProcessResult;
using ::fleettune::testing::RunProcess;
using ::testing::HasSubstr;

constexpr char kKey[] = "multi";

class MultiCandidateBoardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::FreshTestDir("multi-candidate");
    std::string error;
    tracker_ = testing::StartTracker(FLEETTUNE_BIN, dir_.string(),
                                     {"--metrics-listen", "127.0.0.1:0"}, &address_, &error);
    ASSERT_NE(tracker_, nullptr) << error;
    auto client = tuner::TrackerClient::Connect(address_);
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = std::move(*client);
    board_ = ChildProcess::Start({RPC_SERVER_BIN, "--tracker", address_, "--key", kKey},
                                 dir_.string(), "board");
    ASSERT_NE(board_, nullptr);
    for (int attempt = 0; attempt < 200 && Boards().empty(); ++attempt) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_EQ(Boards().size(), 1u) << "the board did not register";
  }
  void TearDown() override {
    board_.reset();
    tracker_.reset();
    if (!HasFailure()) std::filesystem::remove_all(dir_);
  }

  std::vector<v1::BoardStatus> Boards() {
    absl::StatusOr<v1::StatusReply> status = client_->GetStatus();
    if (!status.ok()) return {};
    return {status->boards().begin(), status->boards().end()};
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

  std::filesystem::path dir_;
  std::string address_;
  std::unique_ptr<ChildProcess> tracker_;
  std::unique_ptr<ChildProcess> board_;
  std::unique_ptr<tuner::TrackerClient> client_;
};

TEST_F(MultiCandidateBoardTest, BoardChecksEachCandidateTimesTheGoodOnesAndReportsItsNoise) {
  v1::MeasureTask task = FixtureTask("unused", /*client_tag=*/1);
  task.clear_artifact();
  for (const char* symbol : {"matmul_reordered", "matmul_wrong", "matmul_reference"}) {
    v1::Candidate* candidate = task.add_candidates();
    candidate->mutable_artifact()->set_shared_object(FixtureKernelBytes());
    candidate->mutable_artifact()->set_symbol(symbol);
  }
  task.set_rounds(6);
  task.mutable_options()->set_min_repeat_ms(2);
  task.mutable_options()->set_timeout_ms(20000);

  std::map<uint64_t, v1::MeasureResult> results = Measure({task});
  ASSERT_EQ(results.count(1), 1u);
  const v1::MeasureResult& result = results[1];
  ASSERT_EQ(v1::MeasureStatus_Name(result.status()), "OK") << result.error();
  EXPECT_EQ(result.costs_size(), 0);
  ASSERT_EQ(result.candidates_size(), 3);
  EXPECT_EQ(v1::MeasureStatus_Name(result.candidates(0).status()), "OK")
      << result.candidates(0).error();
  EXPECT_EQ(v1::MeasureStatus_Name(result.candidates(1).status()), "WRONG_ANSWER");
  EXPECT_THAT(result.candidates(1).error(), HasSubstr("max abs error"));
  EXPECT_NEAR(result.candidates(1).max_abs_error(), 0.5, 1e-3);
  EXPECT_EQ(result.candidates(1).costs_size(), 0);
  EXPECT_EQ(v1::MeasureStatus_Name(result.candidates(2).status()), "OK")
      << result.candidates(2).error();
  for (int c : {0, 2}) {
    ASSERT_EQ(result.candidates(c).costs_size(), 6) << c;
    for (double cost : result.candidates(c).costs()) {
      EXPECT_GT(cost, 0.0) << c;
      EXPECT_LT(cost, 0.1) << c;
    }
  }
  EXPECT_FALSE(result.board_id().empty());

  // A plain task's repeats count too.
  v1::MeasureTask single = FixtureTask("matmul_reordered", /*client_tag=*/2);
  single.mutable_options()->set_repeat(4);
  results = Measure({single});
  ASSERT_EQ(v1::MeasureStatus_Name(results[2].status()), "OK") << results[2].error();

  // Two OK candidates and one task: three samples.
  std::vector<v1::BoardStatus> boards = Boards();
  ASSERT_EQ(boards.size(), 1u);
  EXPECT_EQ(boards[0].noise_samples(), 3u);
  EXPECT_TRUE(std::isfinite(boards[0].noise_cv())) << boards[0].noise_cv();
  EXPECT_GE(boards[0].noise_cv(), 0.0);
  EXPECT_LT(boards[0].noise_cv(), 10.0);  // a coefficient of variation of timings, not garbage

  // `fleettune status` shows it per board, as a percentage.
  ProcessResult status = RunProcess({FLEETTUNE_BIN, "status", "--tracker", address_});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_THAT(status.out, HasSubstr("NOISE"));
  EXPECT_TRUE(std::regex_search(status.out, std::regex("board-1 +multi +idle .* [0-9]+\\.[0-9]%")))
      << status.out;
  ProcessResult json = RunProcess({FLEETTUNE_BIN, "status", "--tracker", address_, "--json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  EXPECT_THAT(json.out, HasSubstr("\"noiseSamples\": 3"));

  // And the metrics.
  ASSERT_TRUE(tracker_->WaitForOutput("/metrics", 10));
  std::smatch match;
  const std::string out = tracker_->Stdout();
  ASSERT_TRUE(std::regex_search(out, match, std::regex("http://127\\.0\\.0\\.1:(\\d+)/metrics")));
  httplib::Client http("127.0.0.1", std::stoi(match[1]));
  auto response = http.Get("/metrics");
  ASSERT_TRUE(response) << "no answer from the metrics endpoint";
  EXPECT_THAT(response->body,
              HasSubstr("fleettune_board_noise_cv{board=\"board-1\",key=\"multi\"}"));
}

}  // namespace
}  // namespace fleettune
