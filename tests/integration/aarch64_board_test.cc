// An emulated aarch64 board end to end on loopback: the real `fleettune tracker`, the
// cross-built board runtime under qemu-user (deploy/boards/qemu-aarch64.sh), and a
// `fleettune tune` job for an aarch64 target. The board must register as emulated, every trial
// must pass the board's correctness check, the tune output must say the timings are
// meaningless, and the best kernel `compile` builds must compute the right matmul when an
// aarch64 program (cross-compiled here) runs it under qemu.
//
// Needs the cross-built runtime (`make board-aarch64` or scripts/build-board-aarch64.sh),
// qemu-user and g++-aarch64-linux-gnu (scripts/install-deps.sh). When one is missing the test
// fails naming it, unless FLEETTUNE_NO_CROSS=1, which skips it.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "db/database.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/integration/job_history.h"
#include "tests/integration/process.h"

namespace fleettune {
namespace {

using ::fleettune::testing::ChildProcess;
using ::fleettune::testing::ProcessResult;
using ::fleettune::testing::RunProcess;

constexpr char kKey[] = "aarch64-qemu";
constexpr char kTarget[] = "llvm -mtriple=aarch64-linux-gnu -mcpu=cortex-a72 -threads=1";
constexpr char kWorkload[] = "matmul:m=64,n=64,k=64";
constexpr int kM = 64, kN = 64, kK = 64;
constexpr int kTrials = 6;
constexpr uint16_t kElfMachineAarch64 = 183;

// The deterministic inputs both the aarch64 harness and the host reference use.
float InputA(int i) { return static_cast<float>((i * 7) % 13) / 13.0f - 0.5f; }
float InputB(int i) { return static_cast<float>((i * 5) % 11) / 11.0f - 0.5f; }

// An aarch64 program that loads a kernel, runs it on InputA/InputB and prints the output.
constexpr char kHarness[] = R"(#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char** argv) {
  if (argc != 6) return 64;
  void* h = dlopen(argv[1], RTLD_NOW);
  if (!h) { fprintf(stderr, "%s\n", dlerror()); return 65; }
  int32_t (*f)(void* const*) = (int32_t (*)(void* const*))dlsym(h, argv[2]);
  if (!f) { fprintf(stderr, "no symbol %s\n", argv[2]); return 66; }
  int m = atoi(argv[3]), n = atoi(argv[4]), k = atoi(argv[5]);
  float* a = malloc(sizeof(float) * m * k);
  float* b = malloc(sizeof(float) * k * n);
  float* c = malloc(sizeof(float) * m * n);
  for (int i = 0; i < m * k; ++i) a[i] = (float)((i * 7) % 13) / 13.0f - 0.5f;
  for (int i = 0; i < k * n; ++i) b[i] = (float)((i * 5) % 11) / 11.0f - 0.5f;
  for (int i = 0; i < m * n; ++i) c[i] = 1e30f;
  void* args[3] = {a, b, c};
  int32_t code = f(args);
  if (code != 0) { fprintf(stderr, "kernel returned %d\n", code); return 67; }
  for (int i = 0; i < m * n; ++i) printf("%.9g\n", c[i]);
  return 0;
}
)";

std::string EnvOr(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

// The first executable called `name` on $PATH; "" when none.
std::string FindOnPath(const std::string& name) {
  std::stringstream path(EnvOr("PATH", "/usr/bin:/bin"));
  std::string dir;
  while (std::getline(path, dir, ':')) {
    std::string candidate = dir + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

// The ELF e_machine of `path`; 0 when it is not an ELF file.
uint16_t ElfMachine(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  unsigned char header[20] = {};
  if (!in.read(reinterpret_cast<char*>(header), sizeof(header))) return 0;
  if (header[0] != 0x7f || header[1] != 'E' || header[2] != 'L' || header[3] != 'F') return 0;
  return static_cast<uint16_t>(header[18] | (header[19] << 8));  // little-endian ELF
}

class Aarch64BoardIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (EnvOr("FLEETTUNE_NO_CROSS", "0") == "1") {
      GTEST_SKIP() << "FLEETTUNE_NO_CROSS=1: the aarch64 board test is skipped";
    }
    runtime_ = EnvOr("FLEETTUNE_AARCH64_RUNTIME", AARCH64_RUNTIME);
    ASSERT_TRUE(std::filesystem::exists(runtime_))
        << "the cross-built aarch64 runtime " << runtime_
        << " does not exist: build it with `make board-aarch64` (or "
           "scripts/build-board-aarch64.sh), point FLEETTUNE_AARCH64_RUNTIME at it, or set "
           "FLEETTUNE_NO_CROSS=1 to skip this test";
    ASSERT_EQ(ElfMachine(runtime_), kElfMachineAarch64) << runtime_ << " is not an aarch64 ELF";
    ASSERT_FALSE(FindOnPath("qemu-aarch64").empty() && FindOnPath("qemu-aarch64-static").empty())
        << "qemu-aarch64 is not installed (Debian package qemu-user; scripts/install-deps.sh)";
    cross_cc_ = FindOnPath("aarch64-linux-gnu-gcc");
    ASSERT_FALSE(cross_cc_.empty())
        << "aarch64-linux-gnu-gcc is not installed (g++-aarch64-linux-gnu; "
           "scripts/install-deps.sh)";
    dir_ = testing::FreshTestDir("aarch64");
    db_ = (dir_ / "tuning.db").string();
  }
  void TearDown() override {
    board_.reset();
    tracker_.reset();
    if (!HasFailure() && !dir_.empty()) std::filesystem::remove_all(dir_);
  }

  void StartTracker() {
    std::string error;
    tracker_ = testing::StartTracker(FLEETTUNE_BIN, dir_.string(), {}, &address_, &error);
    ASSERT_NE(tracker_, nullptr) << error;
  }

  // Waits until the emulated board is registered; returns its status entry.
  nlohmann::json AwaitBoard() {
    for (int attempt = 0; attempt < 90; ++attempt) {
      ProcessResult status =
          RunProcess({FLEETTUNE_BIN, "status", "--tracker", address_, "--json"}, 30);
      if (status.exit_code == 0) {
        nlohmann::json reply = nlohmann::json::parse(status.out, nullptr, false);
        if (!reply.is_discarded() && reply.contains("boards") && reply["boards"].size() == 1) {
          return reply["boards"][0];
        }
      }
      if (std::optional<int> exited = board_->Wait(1); exited.has_value()) {
        ADD_FAILURE() << "the emulated board exited with " << *exited << ":\n" << board_->Stderr();
        return nullptr;
      }
    }
    ADD_FAILURE() << "the emulated board did not register with " << address_ << ":\n"
                  << board_->Stderr();
    return nullptr;
  }

  std::string runtime_;
  std::string cross_cc_;
  std::filesystem::path dir_;
  std::string db_;
  std::string address_;
  std::unique_ptr<ChildProcess> tracker_;
  std::unique_ptr<ChildProcess> board_;
};

TEST_F(Aarch64BoardIntegrationTest, TunesOnAnEmulatedBoardAndTheBestKernelIsCorrect) {
  ASSERT_NO_FATAL_FAILURE(StartTracker());
  board_ = ChildProcess::Start(
      {QEMU_BOARD_SCRIPT, "--tracker", address_, "--key", kKey, "--runtime", runtime_},
      dir_.string(), "board");
  ASSERT_NE(board_, nullptr);
  nlohmann::json board = AwaitBoard();
  ASSERT_FALSE(board.is_null());
  EXPECT_EQ(board["info"]["key"], kKey);
  EXPECT_EQ(board["info"]["emulated"], true) << board.dump();
  EXPECT_EQ(board["info"]["triple"].get<std::string>().rfind("aarch64", 0), 0u) << board.dump();

  ProcessResult status = RunProcess({FLEETTUNE_BIN, "status", "--tracker", address_}, 30);
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_NE(status.out.find("is emulated"), std::string::npos) << status.out;

  ProcessResult tune = RunProcess(
      {FLEETTUNE_BIN,     "tune",   "--workload", kWorkload, "--target", kTarget,
       "--key",           kKey,     "--tracker",  address_,  "--trials", std::to_string(kTrials),
       "--tuner",         "random", "--seed",     "3",       "--db",     db_,
       "--min-repeat-ms", "1",      "--repeat",   "1"},
      /*timeout_seconds=*/150);
  ASSERT_EQ(tune.exit_code, 0) << tune.out << tune.err << "\nboard:\n" << board_->Stderr();
  EXPECT_NE(tune.out.find("emulated"), std::string::npos) << tune.out;
  EXPECT_NE(tune.out.find("meaningless"), std::string::npos) << tune.out;
  EXPECT_NE(tune.out.find("best: "), std::string::npos) << tune.out;

  // Every trial was measured on the emulated board and passed its correctness check.
  absl::StatusOr<std::vector<db::Record>> history = testing::JobHistory(db_, kWorkload);
  ASSERT_TRUE(history.ok()) << history.status();
  ASSERT_EQ(history->size(), static_cast<size_t>(kTrials));
  for (const db::Record& record : *history) {
    EXPECT_EQ(record.status, v1::OK) << "trial " << record.trial << ": " << record.error;
    EXPECT_EQ(record.device_key, kKey);
    EXPECT_NE(record.target_key.find("aarch64"), std::string::npos) << record.target_key;
    EXPECT_GT(record.gflops, 0);
  }

  // The best record compiles to an aarch64 object ...
  const std::string out = (dir_ / "mm").string();
  ProcessResult compile = RunProcess({FLEETTUNE_BIN, "compile", "--workload", kWorkload, "--target",
                                      kTarget, "--db", db_, "--device", kKey, "-o", out},
                                     120);
  ASSERT_EQ(compile.exit_code, 0) << compile.err;
  EXPECT_NE(compile.err.find("using record #"), std::string::npos) << compile.err;
  ASSERT_EQ(ElfMachine(out + ".so"), kElfMachineAarch64);

  // ... which, run under qemu by a cross-compiled program, computes the right matmul.
  const std::string harness_c = (dir_ / "harness.c").string();
  std::ofstream(harness_c) << kHarness;
  const std::string harness = (dir_ / "harness").string();
  ProcessResult cc = RunProcess({cross_cc_, "-O1", "-o", harness, harness_c, "-ldl"}, 120);
  ASSERT_EQ(cc.exit_code, 0) << cc.err;
  std::string qemu = FindOnPath("qemu-aarch64");
  if (qemu.empty()) qemu = FindOnPath("qemu-aarch64-static");
  ProcessResult run = RunProcess({qemu, harness, out + ".so", "matmul_m64_n64_k64",
                                  std::to_string(kM), std::to_string(kN), std::to_string(kK)},
                                 120);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::istringstream values(run.out);
  std::vector<double> c;
  for (double v; values >> v;) c.push_back(v);
  ASSERT_EQ(c.size(), static_cast<size_t>(kM * kN));
  double max_error = 0;
  for (int i = 0; i < kM; ++i) {
    for (int j = 0; j < kN; ++j) {
      double expected = 0;
      for (int k = 0; k < kK; ++k) {
        expected += static_cast<double>(InputA(i * kK + k)) * InputB(k * kN + j);
      }
      max_error = std::max(max_error, std::abs(expected - c[i * kN + j]));
    }
  }
  EXPECT_LT(max_error, 1e-4);
}

}  // namespace
}  // namespace fleettune
