// The real fleettune-rpc-server's command line and log: each usage mistake exits 2 naming the
// flag and the value, --help exits 0, and --log-level chooses which lines reach stderr.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <regex>
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

std::vector<std::string> RpcServerArgv(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {FLEETTUNE_RPC_SERVER_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

std::string WriteFile(const std::string& name, const std::string& contents) {
  const std::string path = absl::StrCat(::testing::TempDir(), "cmdline_", getpid(), "_", name);
  std::ofstream(path) << contents;
  return path;
}

struct UsageCase {
  std::vector<std::string> args;  // after --tracker=127.0.0.1:1 --key=k unless `bare`
  std::string says;               // the first line of stderr, after "fleettune-rpc-server: "
  bool bare = false;
};

TEST(RpcServerCommandLineTest, EachUsageMistakeExitsTwoNamingFlagAndValue) {
  const std::string empty_token = WriteFile("empty.token", " \n");
  const std::vector<UsageCase> cases = {
      {{"--key", "k"}, "--tracker is required", true},
      {{"--tracker", "127.0.0.1:1"}, "--key is required", true},
      {{"--tracker", "127.0.0.1:1", "--key"}, "--key needs a value", true},
      {{"--bogus"}, "unknown argument --bogus"},
      {{"--token_file", "x"}, "unknown argument --token_file"},
      {{"stray"}, "unknown argument stray"},
      {{"--no-reconnect=yes"}, "--no-reconnect takes no value, got --no-reconnect=yes"},
      {{"--device="}, "--device must not be empty"},
      {{"--worker-memory-mb=lots"},
       "--worker-memory-mb must be a number of MiB in [16, 16777216], got lots"},
      {{"--worker-memory-mb=0x10"},
       "--worker-memory-mb must be a number of MiB in [16, 16777216], got 0x10"},
      {{"--reference-timeout-ms", "500 "},
       "--reference-timeout-ms must be a number of milliseconds in [100, 86400000], got 500 "},
      {{"--worker-memory-mb", "8"},
       "--worker-memory-mb must be a number of MiB in [16, 16777216], got 8"},
      {{"--max-artifact-mb", "0"}, "--max-artifact-mb must be a number of MiB in [1, 1000], got 0"},
      {{"--max-artifact-mb=1001"},
       "--max-artifact-mb must be a number of MiB in [1, 1000], got 1001"},
      {{"--tls-error-timeout-s", "3601"},
       "--tls-error-timeout-s must be a number of seconds in [1, 3600], got 3601"},
      {{"--simulate-ms=99999999999"},
       "--simulate-ms must be a positive number of milliseconds, got 99999999999"},
      {{"--parent-pid", "0"}, "--parent-pid must be a process id, got 0"},
      {{"--opencl-device=-1"}, "--opencl-device must be an integer in [0, 64], got -1"},
      {{"--log-level", "verbose"},
       "--log-level must be one of debug, info, warn, error, got verbose"},
      {{"--token-file", "/nonexistent/board.token"},
       "cannot read --token-file '/nonexistent/board.token': No such file or directory"},
      {{"--token-file", empty_token}, "--token-file '" + empty_token + "' is empty"},
      {{"--tracker=127.0.0.1:99999", "--key=k"},
       "--tracker '127.0.0.1:99999': the port 99999 is not in 1-65535",
       true},
  };
  for (const UsageCase& c : cases) {
    std::vector<std::string> args;
    if (!c.bare) args = {"--tracker=127.0.0.1:1", "--key=k"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    SCOPED_TRACE(absl::StrCat(args.back(), " -> ", c.says));
    const testing::ProcessResult result = testing::RunProcess(RpcServerArgv(args), 20);
    EXPECT_EQ(result.exit_code, 2);
    EXPECT_EQ(result.err.substr(0, result.err.find('\n')), "fleettune-rpc-server: " + c.says);
    EXPECT_NE(result.err.find("\nusage: fleettune-rpc-server --tracker HOST:PORT --key KEY\n"),
              std::string::npos)
        << result.err;
  }
}

TEST(RpcServerCommandLineTest, HelpPrintsTheUsageAndExitsZero) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"--help"}, {"-h"}, {"--key", "k", "--help"}}) {
    const testing::ProcessResult result = testing::RunProcess(RpcServerArgv(args), 20);
    EXPECT_EQ(result.exit_code, 0);
    EXPECT_EQ(result.out.rfind("usage: fleettune-rpc-server --tracker HOST:PORT --key KEY\n", 0),
              0u)
        << result.out;
    EXPECT_NE(result.out.find("  --log-level LEVEL "), std::string::npos) << result.out;
    EXPECT_EQ(result.err, "");
  }
}

// A simulated board (no kernels run) at `level`, serving `key`.
std::unique_ptr<testing::ChildProcess> StartBoard(const std::string& address,
                                                  const std::string& key,
                                                  const std::string& level) {
  return testing::ChildProcess::Start(RpcServerArgv({"--tracker", address, "--key", key,
                                                     "--simulate-ms", "1", "--log-level", level}),
                                      ::testing::TempDir(), key);
}

TEST(RpcServerCommandLineTest, LogLevelChoosesTheLinesOnStderr) {
  tracker::TrackerOptions options;
  options.listen_address = "127.0.0.1:0";
  auto server = tracker::TrackerServer::Start(options);
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string address = absl::StrCat("127.0.0.1:", (*server)->port());
  auto client = tuner::TrackerClient::Connect(address);
  ASSERT_TRUE(client.ok()) << client.status();
  const std::vector<std::string> levels = {"debug", "info", "warn"};
  std::vector<std::unique_ptr<testing::ChildProcess>> boards;
  for (const std::string& level : levels) {
    boards.push_back(StartBoard(address, "log-" + level, level));
    ASSERT_NE(boards.back(), nullptr);
  }
  int registered = 0;
  for (int attempt = 0; attempt < 200 && registered < 3; ++attempt) {
    auto status = (*client)->GetStatus();
    ASSERT_TRUE(status.ok()) << status.status();
    registered = status->boards_size();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(registered, 3) << "the boards never registered";
  for (const std::string& level : levels) {
    v1::MeasureBatch batch;
    batch.set_device_key("log-" + level);
    *batch.add_tasks() = testing::FixtureTask("matmul_reordered", 1);
    ASSERT_TRUE((*client)->Measure(batch, [](const v1::MeasureResult&) {}).ok());
  }
  std::vector<std::string> logs;
  for (const auto& board : boards) {
    ASSERT_EQ(kill(board->pid(), SIGTERM), 0);
    EXPECT_EQ(board->Wait(20), 0) << board->Stderr();
    logs.push_back(board->Stderr());
  }
  const std::string stamp = R"(\d{4} \d\d:\d\d:\d\d\.\d{6} fleettune-rpc-server: )";
  const std::regex registered_line("(^|\n)I" + stamp + "registered with tracker at " + address +
                                   " as board [^ ]+ \\(key log-[a-z]+\\)\n");
  const std::regex task_line("(^|\n)D" + stamp + "task [0-9]+: OK\n");
  EXPECT_TRUE(std::regex_search(logs[0], registered_line)) << logs[0];  // debug
  EXPECT_TRUE(std::regex_search(logs[0], task_line)) << logs[0];
  EXPECT_TRUE(std::regex_search(logs[1], registered_line)) << logs[1];  // info
  EXPECT_FALSE(std::regex_search(logs[1], task_line)) << logs[1];
  EXPECT_EQ(logs[2].find("registered"), std::string::npos) << logs[2];  // warn
  EXPECT_EQ(logs[2].find("task "), std::string::npos) << logs[2];
}

}  // namespace
}  // namespace fleettune
