// Runs the real fleettune-rpc-server executable against an in-process tracker on loopback.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/integration/process.h"
#include "tests/rpc_server/kernel_fixture.h"
#include "tracker/tracker.h"
#include "tuner/tracker_client.h"

namespace fleettune {
namespace {

// The rpc server's argv: its binary, then `args`.
std::vector<std::string> RpcServerArgv(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {FLEETTUNE_RPC_SERVER_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

// The rpc server's exit code for `args` (-1 when killed by a signal or still running after
// 20 s).
int RunToExit(const std::vector<std::string>& args) {
  return testing::RunProcess(RpcServerArgv(args), 20).exit_code;
}

TEST(RpcServerProcessTest, BadUsageExitsWithTwo) {
  EXPECT_EQ(RunToExit({}), 2);
  EXPECT_EQ(RunToExit({"--key", "k"}), 2);                         // no --tracker
  EXPECT_EQ(RunToExit({"--tracker", "127.0.0.1:1"}), 2);           // no --key
  EXPECT_EQ(RunToExit({"--tracker", "127.0.0.1:1", "--key"}), 2);  // missing value
  EXPECT_EQ(RunToExit({"--tracker=127.0.0.1:1", "--key=k", "--bogus"}), 2);
  EXPECT_EQ(RunToExit({"--tracker=", "--key=k"}), 2);
  EXPECT_EQ(RunToExit({"--tracker=127.0.0.1:1", "--key=k", "--worker-memory-mb", "8"}), 2);
  EXPECT_EQ(RunToExit({"--tracker=127.0.0.1:1", "--key=k", "--worker-memory-mb=lots"}), 2);
  EXPECT_EQ(RunToExit({"--tracker=127.0.0.1:1", "--key=k", "--reference-timeout-ms", "0"}), 2);
  EXPECT_EQ(RunToExit({"--tracker=127.0.0.1:1", "--key=k", "--reference-timeout-ms=2m"}), 2);
  EXPECT_EQ(RunToExit({"--tracker=127.0.0.1:1", "--key=k", "--reference-timeout-ms=-5"}), 2);
  EXPECT_EQ(RunToExit({"--help"}), 0);
}

TEST(RpcServerProcessTest, RegistersMeasuresAndStopsOnSigterm) {
  tracker::TrackerOptions options;
  options.listen_address = "127.0.0.1:0";
  auto server = tracker::TrackerServer::Start(options);
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string address = absl::StrCat("127.0.0.1:", (*server)->port());
  auto client = tuner::TrackerClient::Connect(address);
  ASSERT_TRUE(client.ok()) << client.status();

  std::unique_ptr<testing::ChildProcess> board_process =
      testing::ChildProcess::Start(RpcServerArgv({"--tracker", address, "--key", "process-key"}),
                                   ::testing::TempDir(), "rpc-server");
  ASSERT_NE(board_process, nullptr);
  std::optional<v1::BoardStatus> board;
  for (int attempt = 0; attempt < 200 && !board; ++attempt) {
    auto status = (*client)->GetStatus();
    ASSERT_TRUE(status.ok()) << status.status();
    if (status->boards_size() == 1) board = status->boards(0);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(board.has_value()) << "the rpc server never registered";
  EXPECT_EQ(board->info().key(), "process-key");
  EXPECT_EQ(board->state(), "idle");
  EXPECT_FALSE(board->info().hostname().empty());
#if defined(__x86_64__)
  EXPECT_EQ(board->info().triple(), "x86_64-pc-linux-gnu");
#endif
  EXPECT_GE(board->info().num_cores(), 1);

  v1::MeasureBatch batch;
  batch.set_device_key("process-key");
  *batch.add_tasks() = testing::FixtureTask("matmul_reordered", 1);
  *batch.add_tasks() = testing::FixtureTask("matmul_wrong", 2);
  std::vector<v1::MeasureResult> results;
  ASSERT_TRUE(
      (*client)->Measure(batch, [&](const v1::MeasureResult& r) { results.push_back(r); }).ok());
  ASSERT_EQ(results.size(), 2u);
  for (const v1::MeasureResult& result : results) {
    EXPECT_EQ(result.board_id(), board->board_id());
    EXPECT_EQ(result.status(), result.client_tag() == 1 ? v1::OK : v1::WRONG_ANSWER);
    EXPECT_GT(result.finished_unix_ms(), 0);
  }

  ASSERT_EQ(kill(board_process->pid(), SIGTERM), 0);
  EXPECT_EQ(board_process->Wait(20), 0) << board_process->Stderr();
  // The tracker noticed the board leave.
  bool gone = false;
  for (int attempt = 0; attempt < 100 && !gone; ++attempt) {
    auto status = (*client)->GetStatus();
    ASSERT_TRUE(status.ok());
    gone = status->boards_size() == 0;
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(gone);
}

}  // namespace
}  // namespace fleettune
