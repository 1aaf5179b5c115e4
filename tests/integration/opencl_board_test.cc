// End to end on loopback with an OpenCL board: `fleettune tracker`, `fleettune-rpc-server
// --device opencl` on PoCL, and `fleettune tune --target opencl`; then `fleettune compile
// --target opencl` builds the best config again and this test runs that source on the same
// OpenCL device against a naive matmul. (The test does not link codegen: PoCL's LLVM 15 and
// codegen's LLVM 14 cannot share a process.)
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <set>
#include <thread>

#include "db/database.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "rpc_server/measure.h"
#include "rpc_server/opencl_device.h"
#include "tests/integration/job_history.h"
#include "tests/integration/process.h"

namespace fleettune {
namespace {

using ::fleettune::testing::ChildProcess;
using ::fleettune::testing::ProcessResult;
using ::fleettune::testing::RunProcess;

constexpr char kWorkload[] = "matmul:m=67,n=45,k=38";  // odd sizes: partial tiles everywhere
constexpr int64_t kM = 67, kN = 45, kK = 38;
constexpr char kKey[] = "pocl";
constexpr char kTargetKey[] = "opencl -device=0 -platform=any";

class OpenClBoardIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::FreshTestDir("opencl-itest");
    std::filesystem::create_directories(dir_ / "pocl-cache");
    // The board (a child) inherits it: PoCL's kernel cache stays in the test's directory.
    setenv("POCL_CACHE_DIR", (dir_ / "pocl-cache").c_str(), 1);
    db_ = (dir_ / "tuning.db").string();
  }
  void TearDown() override {
    board_.reset();
    tracker_.reset();
    if (!HasFailure()) std::filesystem::remove_all(dir_);
  }

  void StartFleet() {
    std::string error;
    tracker_ = testing::StartTracker(FLEETTUNE_BIN, dir_.string(), {}, &address_, &error);
    ASSERT_NE(tracker_, nullptr) << error;
    board_ = ChildProcess::Start(
        {RPC_SERVER_BIN, "--tracker", address_, "--key", kKey, "--device", "opencl"}, dir_.string(),
        "board");
    ASSERT_NE(board_, nullptr);
    for (int attempt = 0; attempt < 300; ++attempt) {
      ProcessResult status = RunProcess({FLEETTUNE_BIN, "status", "--tracker", address_, "--json"});
      nlohmann::json reply = nlohmann::json::parse(status.out, nullptr, false);
      if (status.exit_code == 0 && !reply.is_discarded() && reply.contains("boards") &&
          reply["boards"].size() == 1) {
        board_info_ = reply["boards"][0]["info"];
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    FAIL() << "the OpenCL board did not register: " << board_->Stderr();
  }

  std::filesystem::path dir_;
  std::string db_;
  std::string address_;
  nlohmann::json board_info_;
  std::unique_ptr<ChildProcess> tracker_;
  std::unique_ptr<ChildProcess> board_;
};

TEST_F(OpenClBoardIntegrationTest, TunesMatmulOnPoclAndTheBestKernelIsCorrect) {
  ASSERT_NO_FATAL_FAILURE(StartFleet());
  EXPECT_EQ(board_info_["key"], kKey);
  const nlohmann::json kind =
      board_info_.contains("device_kind") ? board_info_["device_kind"] : board_info_["deviceKind"];
  EXPECT_EQ(kind, "opencl") << board_info_.dump();

  ProcessResult tune =
      RunProcess({FLEETTUNE_BIN, "tune",      "--workload", kWorkload,         "--target",
                  "opencl",      "--tracker", address_,     "--key",           kKey,
                  "--trials",    "6",         "--tuner",    "random",          "--db",
                  db_,           "--seed",    "3",          "--min-repeat-ms", "5"},
                 /*timeout_seconds=*/300);
  ASSERT_EQ(tune.exit_code, 0) << tune.out << tune.err << board_->Stderr();

  absl::StatusOr<std::vector<db::Record>> history = testing::JobHistory(db_, kWorkload);
  ASSERT_TRUE(history.ok()) << history.status();
  ASSERT_EQ(history->size(), 6u);
  std::set<int64_t> trials;
  const db::Record* fastest = nullptr;
  for (const db::Record& record : *history) {
    EXPECT_TRUE(trials.insert(record.trial).second);
    EXPECT_EQ(record.status, v1::OK) << record.error;
    EXPECT_EQ(record.target_key, kTargetKey);
    EXPECT_EQ(record.device_key, kKey);
    EXPECT_EQ(record.config.template_name(), "matmul_opencl");
    EXPECT_GT(record.gflops, 0);
    if (record.status == v1::OK && (fastest == nullptr || record.mean_cost < fastest->mean_cost)) {
      fastest = &record;
    }
  }
  ASSERT_NE(fastest, nullptr);

  // `compile` picks the best record and writes its OpenCL source (OUT.so holds the source for
  // an opencl target); it runs here on the same kind of device and computes the product.
  const std::string out = (dir_ / "best").string();
  ProcessResult compile = RunProcess({FLEETTUNE_BIN, "compile", "--workload", kWorkload, "--target",
                                      "opencl", "--db", db_, "-o", out});
  ASSERT_EQ(compile.exit_code, 0) << compile.out << compile.err;
  std::ifstream in(out + ".so", std::ios::binary);
  std::string source((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_EQ(source.rfind("// fleettune-opencl v1 kernel=", 0), 0u) << source.substr(0, 200);
  absl::StatusOr<std::unique_ptr<rpc_server::OpenClDevice>> device =
      rpc_server::OpenClDevice::Open("any", 0);
  ASSERT_TRUE(device.ok()) << device.status();
  v1::Artifact artifact;
  artifact.set_shared_object(source);  // symbol empty: the launch line's kernel
  const std::vector<int64_t> sizes = {kM * kK, kK * kN, kM * kN};
  absl::StatusOr<std::unique_ptr<rpc_server::LoadedKernel>> kernel =
      (*device)->Load(artifact, sizes);
  ASSERT_TRUE(kernel.ok()) << kernel.status();
  std::vector<std::vector<float>> buffers;
  std::vector<float*> args;
  for (size_t i = 0; i < sizes.size(); ++i) {
    buffers.emplace_back(sizes[i], std::nanf(""));
    if (i < 2) rpc_server::FillStandardInput(buffers[i].data(), sizes[i], 10 + i);
  }
  for (auto& b : buffers) args.push_back(b.data());
  ASSERT_TRUE(
      (*kernel)->Run(args, std::chrono::steady_clock::now() + std::chrono::seconds(60)).ok());
  for (int64_t i = 0; i < kM; ++i) {
    for (int64_t j = 0; j < kN; ++j) {
      double sum = 0;
      for (int64_t r = 0; r < kK; ++r)
        sum += double(buffers[0][i * kK + r]) * buffers[1][r * kN + j];
      ASSERT_NEAR(buffers[2][i * kN + j], sum, 1e-4 * std::max(1.0, std::fabs(sum)))
          << "C[" << i << "][" << j << "]";
    }
  }
}

}  // namespace
}  // namespace fleettune
