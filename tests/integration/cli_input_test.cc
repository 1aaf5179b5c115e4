// Bad addresses and output paths given to the real `fleettune` and `fleettune-rpc-server`
// binaries (issue #18 item 5): each is refused with exit 2 and a message naming the flag and
// the value, before anything listens, connects or writes; and the ports a tracker prints are
// the ones it bound.
#include <unistd.h>

#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "httplib.h"
#include "tests/integration/job_history.h"
#include "tests/integration/process.h"

namespace fleettune {
namespace {

using ::fleettune::testing::ChildProcess;
using ::fleettune::testing::ProcessResult;
using ::fleettune::testing::RunProcess;

struct RefusedCase {
  std::vector<std::string> argv;
  std::vector<std::string> names;  // each must appear in the message
};

// Runs each case and expects exit 2 with every name in stderr. A refused address must fail
// at once; a tracker or board that starts instead is killed after 20 s and fails the case.
void ExpectRefused(const std::vector<RefusedCase>& cases) {
  for (const RefusedCase& c : cases) {
    ProcessResult result = RunProcess(c.argv, /*timeout_seconds=*/20);
    std::string shown;
    for (size_t i = 1; i < c.argv.size(); ++i) shown += " '" + c.argv[i] + "'";
    EXPECT_EQ(result.exit_code, 2) << shown << "\n" << result.out << result.err;
    for (const std::string& name : c.names) {
      EXPECT_NE(result.err.find(name), std::string::npos)
          << shown << ": the message does not name " << name << ": " << result.err;
    }
  }
}

TEST(AddressInputTest, EveryAddressFlagRefusesABadHostPort) {
  const std::string tracker = FLEETTUNE_BIN;
  ExpectRefused({
      // The port wrapped to 34463 and the tracker listened there.
      {{tracker, "tracker", "--listen", "127.0.0.1:99999"},
       {"--listen '127.0.0.1:99999'", "not in 0-65535"}},
      // gRPC's default port: it bound 443.
      {{tracker, "tracker", "--listen", "127.0.0.1"}, {"--listen '127.0.0.1'", "no port"}},
      // Exited 1 as a runtime failure.
      {{tracker, "tracker", "--listen", "127.0.0.1:abc"},
       {"--listen '127.0.0.1:abc'", "not a number"}},
      {{tracker, "tracker", "--listen", ""}, {"--listen ''", "HOST:PORT"}},
      {{tracker, "tracker", "--listen", "::1:9190"}, {"--listen '::1:9190'", "brackets"}},
      // The metrics endpoint bound 34463 and printed 99999.
      {{tracker, "tracker", "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:99999"},
       {"--metrics-listen '127.0.0.1:99999'", "not in 0-65535"}},
      {{tracker, "tracker", "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1"},
       {"--metrics-listen '127.0.0.1'", "no port"}},
      {{tracker, "status", "--tracker", "127.0.0.1:99999"},
       {"--tracker '127.0.0.1:99999'", "not in 1-65535"}},
      {{tracker, "status", "--tracker", "127.0.0.1"}, {"--tracker '127.0.0.1'", "no port"}},
      // Port 0 means "any free port" only where something listens.
      {{tracker, "status", "--tracker", "127.0.0.1:0"}, {"--tracker '127.0.0.1:0'", "1-65535"}},
      {{tracker, "tune", "--workload", "matmul:m=16,n=16,k=16", "--tracker", "127.0.0.1:abc"},
       {"--tracker '127.0.0.1:abc'", "not a number"}},
      {{RPC_SERVER_BIN, "--tracker", "127.0.0.1:99999", "--key", "k", "--no-reconnect"},
       {"--tracker '127.0.0.1:99999'", "not in 1-65535"}},
      {{RPC_SERVER_BIN, "--tracker=localhost", "--key", "k", "--no-reconnect"},
       {"--tracker 'localhost'", "no port"}},
  });
}

// The tracker prints the addresses it bound: with port 0 the system's choice, and both
// answer there (the gRPC service to `status`, the metrics endpoint to HTTP).
TEST(AddressInputTest, PrintedPortsAreTheBoundOnes) {
  const std::filesystem::path dir = testing::FreshTestDir("addr");
  std::unique_ptr<ChildProcess> tracker = ChildProcess::Start(
      {FLEETTUNE_BIN, "tracker", "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0"},
      dir.string(), "tracker");
  ASSERT_NE(tracker, nullptr);
  ASSERT_TRUE(tracker->WaitForOutput("/metrics", 30)) << tracker->Stderr();
  const std::string out = tracker->Stdout();
  std::smatch grpc_match, metrics_match;
  ASSERT_TRUE(std::regex_search(out, grpc_match, std::regex("listening on 127\\.0\\.0\\.1:(\\d+)")))
      << out;
  ASSERT_TRUE(std::regex_search(out, metrics_match,
                                std::regex("metrics at http://127\\.0\\.0\\.1:(\\d+)/metrics")))
      << out;
  const int grpc_port = std::stoi(grpc_match[1]);
  const int metrics_port = std::stoi(metrics_match[1]);
  EXPECT_GT(grpc_port, 0);
  EXPECT_GT(metrics_port, 0);
  EXPECT_NE(grpc_port, metrics_port);

  ProcessResult status = RunProcess(
      {FLEETTUNE_BIN, "status", "--tracker", "127.0.0.1:" + std::to_string(grpc_port), "--json"},
      30);
  EXPECT_EQ(status.exit_code, 0) << status.err;
  httplib::Client http("127.0.0.1", metrics_port);
  httplib::Result metrics = http.Get("/metrics");
  ASSERT_TRUE(metrics) << "nothing answers on the printed metrics port " << metrics_port;
  EXPECT_EQ(metrics->status, 200);
  std::filesystem::remove_all(dir);
}

// `compile -o` names a file prefix: OUT.so and OUT.h. An empty prefix, a directory, or a
// prefix in a directory that does not exist is refused, and nothing is written.
class OutputPathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::FreshTestDir("out");
    std::filesystem::create_directories(dir_ / "kernels");
    // compile runs with this directory as its working directory, so a stray ./.so lands here.
    previous_ = std::filesystem::current_path();
    std::filesystem::current_path(dir_);
  }
  void TearDown() override {
    std::filesystem::current_path(previous_);
    if (!HasFailure()) std::filesystem::remove_all(dir_);
  }

  // Every file under the test's directory, relative to it.
  std::vector<std::string> Files() const {
    std::vector<std::string> files;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir_)) {
      if (entry.is_regular_file()) files.push_back(entry.path().lexically_relative(dir_));
    }
    std::sort(files.begin(), files.end());
    return files;
  }

  ProcessResult Compile(const std::string& output) {
    return RunProcess({FLEETTUNE_BIN, "compile", "--workload", "matmul:m=16,n=16,k=16", "--db",
                       (dir_ / "none.db").string(), "-o", output},
                      60);
  }

  std::filesystem::path dir_;
  std::filesystem::path previous_;
};

TEST_F(OutputPathTest, RefusesPathsThatAreNotAFilePrefix) {
  const std::string kernels = (dir_ / "kernels").string();
  const std::vector<RefusedCase> cases = {
      {{""}, {"-o ''", "is empty"}},                                // wrote ./.so
      {{kernels + "/"}, {"-o '" + kernels + "/'", "a directory"}},  // wrote kernels/.so
      {{kernels}, {"-o '" + kernels + "'", "is a directory"}},      // wrote kernels.so
      {{kernels + "/missing/k"}, {"'" + kernels + "/missing'", "does not exist"}},  // exit 1
      {{kernels + "/gemm.so"}, {"ends in .so", "-o " + kernels + "/gemm "}},        // gemm.so.so
  };
  for (const RefusedCase& c : cases) {
    ProcessResult result = Compile(c.argv[0]);
    EXPECT_EQ(result.exit_code, 2) << "-o '" << c.argv[0] << "'\n" << result.out << result.err;
    for (const std::string& name : c.names) {
      EXPECT_NE(result.err.find(name), std::string::npos)
          << "-o '" << c.argv[0] << "': the message does not name " << name << ": " << result.err;
    }
  }
  EXPECT_EQ(Files(), std::vector<std::string>{}) << "a refused -o wrote files";
}

TEST_F(OutputPathTest, WritesSoAndHeaderBesideAPrefixInADirectory) {
  ProcessResult result = Compile((dir_ / "kernels" / "gemm").string());
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(Files(), (std::vector<std::string>{"kernels/gemm.h", "kernels/gemm.so"}));
}

// The board runtime refuses tasks over 1 GiB of tensors; such a workload is the user's
// mistake, said before any work (it was a runtime failure after every trial failed, and
// `compile` built a kernel no board could measure).
TEST(WorkloadSizeTest, TensorsOverTheLimitAreBadInput) {
  const std::filesystem::path dir = testing::FreshTestDir("size");
  const std::string db = (dir / "tuning.db").string();
  // 3 x 16384^2 floats: 3 GiB.
  const std::string huge = "matmul:m=16384,n=16384,k=16384";
  ExpectRefused({
      {{FLEETTUNE_BIN, "tune", "--workload", huge, "--trials", "1", "--db", db},
       {huge, "3.00 GiB", "1 GiB"}},
      {{FLEETTUNE_BIN, "compile", "--workload", huge, "--db", db, "-o", (dir / "k").string()},
       {huge, "3.00 GiB", "1 GiB"}},
      {{FLEETTUNE_BIN, "compile", "--workload",
        "conv2d:n=64,c=256,h=256,w=256,k=256,r=3,s=3,stride=1,pad=1", "--db", db, "-o",
        (dir / "k").string()},
       {"GiB of tensors"}},
  });
  EXPECT_FALSE(std::filesystem::exists(dir / "k.so"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace fleettune
