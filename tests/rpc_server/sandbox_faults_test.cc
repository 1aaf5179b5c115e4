// Faulty kernels (tests/rpc_server/test_kernels.c) in the sandbox: each fault gets its status
// and an error naming it, nothing of the kernel outlives its task, and the caller (the board)
// measures the next task as before.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rpc_server/measure.h"
#include "rpc_server/sandbox.h"
#include "tests/rpc_server/kernel_fixture.h"

namespace fleettune::rpc_server {
namespace {

using ::fleettune::testing::FixtureTask;
using ::fleettune::testing::WithoutHostReference;
using ::testing::HasSubstr;

using Clock = std::chrono::steady_clock;

// A file the fault kernels write to, named to them by $FLEETTUNE_TEST_PID_FILE.
class PidFile {
 public:
  explicit PidFile(const std::string& name)
      : path_(std::filesystem::temp_directory_path() /
              (name + "-" + std::to_string(getpid()) + ".txt")) {
    std::filesystem::remove(path_);
    setenv("FLEETTUNE_TEST_PID_FILE", path_.c_str(), 1);
  }
  ~PidFile() {
    unsetenv("FLEETTUNE_TEST_PID_FILE");
    std::filesystem::remove(path_);
  }
  long Number() const {
    long value = -1;
    std::ifstream(path_) >> value;
    return value;
  }
  uintmax_t Size() const {
    std::error_code error;
    const uintmax_t size = std::filesystem::file_size(path_, error);
    return error ? 0 : size;
  }

 private:
  std::filesystem::path path_;
};

// True once `pid` is gone or a zombie (killed; its new parent may not have reaped it yet).
bool ProcessEnded(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string pid_field, name, state;
  if (!(stat >> pid_field >> name >> state)) return true;
  return state == "Z" || state == "X";
}

class SandboxFaultTest : public ::testing::TestWithParam<bool> {
 protected:
  SandboxOptions Options() const {
    SandboxOptions options;
    if (GetParam()) options.worker_binary = FLEETTUNE_RPC_SERVER_BINARY;
    return options;
  }
  v1::MeasureResult Measure(const v1::MeasureTask& task) {
    return MeasureInSandbox(task, Options());
  }
  // The board measures a good kernel after the fault, as before it.
  void ExpectBoardStillMeasures() {
    v1::MeasureResult next = Measure(FixtureTask("matmul_reordered"));
    EXPECT_EQ(next.status(), v1::OK) << next.error();
  }
};

INSTANTIATE_TEST_SUITE_P(WorkerAndFork, SandboxFaultTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Worker" : "Fork"; });

TEST_P(SandboxFaultTest, WriteBeforeATensorIsRuntimeErrorNamingIt) {
  v1::MeasureResult result = Measure(FixtureTask("matmul_underruns"));
  EXPECT_EQ(result.status(), v1::RUNTIME_ERROR);
  EXPECT_THAT(result.error(), HasSubstr("kernel wrote outside tensor 2 (C)"));
  ExpectBoardStillMeasures();
}

TEST_P(SandboxFaultTest, WriteIntoAnInputIsRuntimeErrorNamingIt) {
  v1::MeasureResult result = Measure(FixtureTask("matmul_writes_input"));
  EXPECT_EQ(result.status(), v1::RUNTIME_ERROR);
  EXPECT_THAT(result.error(), HasSubstr("kernel wrote into input tensor 0 (A)"));
  EXPECT_EQ(result.costs_size(), 0);
}

TEST_P(SandboxFaultTest, WritePastTheGuardZoneCrashesOnTheGuardPage) {
  v1::MeasureResult result = Measure(FixtureTask("matmul_overruns_far"));
  EXPECT_EQ(result.status(), v1::RUNTIME_ERROR);
  EXPECT_THAT(result.error(), HasSubstr("signal 11"));
  EXPECT_THAT(result.error(), HasSubstr("it wrote outside tensor 2 (C), 65536 bytes past its end"));
  ExpectBoardStillMeasures();
}

TEST_P(SandboxFaultTest, AbortIsRuntimeErrorNamingTheSignal) {
  v1::MeasureResult result = Measure(FixtureTask("matmul_aborts", 4));
  EXPECT_EQ(result.status(), v1::RUNTIME_ERROR);
  EXPECT_EQ(result.client_tag(), 4u);
  EXPECT_THAT(result.error(), HasSubstr("the kernel crashed: signal 6 (Aborted)"));
  ExpectBoardStillMeasures();
}

TEST_P(SandboxFaultTest, ExitInsideTheKernelIsRuntimeErrorSayingSo) {
  v1::MeasureTask task = FixtureTask("matmul_exits", 6);
  task.set_task_id(11);
  v1::MeasureResult result = Measure(task);
  EXPECT_EQ(result.status(), v1::RUNTIME_ERROR);
  EXPECT_EQ(result.task_id(), 11u);
  EXPECT_EQ(result.client_tag(), 6u);
  EXPECT_THAT(result.error(), HasSubstr("the kernel called exit() instead of returning"));
  ExpectBoardStillMeasures();
}

TEST_P(SandboxFaultTest, MemoryExhaustionStopsAtTheWorkersLimit) {
  SandboxOptions options = Options();
  options.memory_limit_mb = 256;  // the kernel wants 1 GiB of scratch
  v1::MeasureResult result = MeasureInSandbox(FixtureTask("matmul_exhausts_memory"), options);
  EXPECT_EQ(result.status(), v1::RUNTIME_ERROR);
  EXPECT_THAT(result.error(), HasSubstr("kernel returned 1: it could not allocate memory"));
  EXPECT_THAT(result.error(), HasSubstr("this board limits a measurement to 256 MiB"));
  ExpectBoardStillMeasures();
}

TEST(SandboxMemoryTest, DefaultLimitGrowsWithTheTensors) {
  const SandboxOptions options;
  v1::MeasureTask small = FixtureTask("matmul_reordered");
  v1::MeasureTask large = small;
  large.mutable_tensors(2)->set_shape(0, 1 << 14);  // C: 16384 x 8 floats = 512 KiB more
  large.mutable_tensors(2)->set_shape(1, 1 << 10);  // and now 64 MiB
  const uint64_t small_bytes = WorkerMemoryLimitBytes(small, options);
  const uint64_t large_bytes = WorkerMemoryLimitBytes(large, options);
  EXPECT_GE(small_bytes, uint64_t{256} << 20);
  EXPECT_LT(small_bytes, uint64_t{2} << 30);
  // Four times the 64 MiB output tensor on top of the same base.
  EXPECT_GE(large_bytes - small_bytes, uint64_t{4} * (64 << 20) - (1 << 20));
  SandboxOptions fixed;
  fixed.memory_limit_mb = 300;
  EXPECT_EQ(WorkerMemoryLimitBytes(large, fixed), uint64_t{300} << 20);
}

TEST_P(SandboxFaultTest, ForkedChildIsKilledAndReported) {
  PidFile pid_file(GetParam() ? "fork-worker" : "fork-fork");
  v1::MeasureTask task = FixtureTask("matmul_forks");
  task.mutable_options()->set_timeout_ms(3000);
  const auto start = Clock::now();
  v1::MeasureResult result = Measure(task);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  EXPECT_EQ(result.status(), v1::RUNTIME_ERROR) << result.error();
  EXPECT_THAT(result.error(), HasSubstr("the kernel left processes running"));
  EXPECT_LT(seconds, 2.5);  // not held up until the timeout by the child's copy of the pipe
  const long child = pid_file.Number();
  ASSERT_GT(child, 0) << "the kernel did not fork";
  bool ended = false;
  for (int i = 0; i < 100 && !ended; ++i) {
    ended = ProcessEnded(static_cast<pid_t>(child));
    if (!ended) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(ended) << "the kernel's child " << child << " outlived its task";
  if (!ended) kill(static_cast<pid_t>(child), SIGKILL);
  ExpectBoardStillMeasures();
}

TEST_P(SandboxFaultTest, ThreadsLeftBehindEndWithTheTask) {
  PidFile ticks(GetParam() ? "thread-worker" : "thread-fork");
  v1::MeasureResult result = Measure(FixtureTask("matmul_leaves_thread"));
  EXPECT_EQ(result.status(), v1::OK) << result.error();
  ASSERT_GT(ticks.Size(), 0u) << "the kernel's thread never ran";
  // The threads tick every 10 ms while they live; after the task nothing does.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const uintmax_t after_task = ticks.Size();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(ticks.Size(), after_task) << "a thread of the kernel outlived its task";
}

TEST_P(SandboxFaultTest, GarbledResultPipeIsRuntimeErrorNotAForgedResult) {
  v1::MeasureResult result = Measure(FixtureTask("matmul_garbles_result", 8));
  EXPECT_EQ(result.status(), v1::RUNTIME_ERROR);
  EXPECT_EQ(result.client_tag(), 8u);
  EXPECT_THAT(result.error(), HasSubstr("garbled"));
  EXPECT_EQ(result.costs_size(), 0);
  ExpectBoardStillMeasures();
}

// A board that joins a job late runs the naive reference first, often far slower than the
// tuned candidates the task's timeout_ms is sized for: the candidate's time counts from the
// reference output being ready, and the reference has the board's own bound. (The tasks have
// an op the host loop does not know, so that their reference artifact is what runs.)
TEST_P(SandboxFaultTest, ReferenceSlowerThanTheTimeoutButWithinItsBoundIsNotAFailure) {
  setenv("FLEETTUNE_TEST_SLOW_MS", "1000", 1);
  v1::MeasureTask task = WithoutHostReference(FixtureTask("matmul_takes_20ms"));
  task.mutable_reference()->set_symbol("matmul_slow_reference");
  task.mutable_reference()->set_sha256(GetParam() ? "slow-ok-worker" : "slow-ok-fork");
  task.mutable_options()->set_timeout_ms(300);  // the reference alone takes 1000 ms
  SandboxOptions options = Options();
  options.grace_ms = 200;
  options.reference_timeout_ms = 5000;
  const auto start = Clock::now();
  v1::MeasureResult result = MeasureInSandbox(task, options);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  unsetenv("FLEETTUNE_TEST_SLOW_MS");
  EXPECT_EQ(v1::MeasureStatus_Name(result.status()), "OK") << result.error();
  EXPECT_EQ(result.costs_size(), 2);
  for (double cost : result.costs()) EXPECT_GE(cost, 0.019);  // the candidate's own 20 ms
  EXPECT_GE(seconds, 1.0);                                    // the reference did run
  // The output it computed is cached: the next task with the reference runs no reference.
  setenv("FLEETTUNE_TEST_SLOW_MS", "60000", 1);
  v1::MeasureResult cached = MeasureInSandbox(task, options);
  unsetenv("FLEETTUNE_TEST_SLOW_MS");
  EXPECT_EQ(v1::MeasureStatus_Name(cached.status()), "OK") << cached.error();
}

// After a slow reference, the candidate has its timeout, counted from the reference's end.
TEST_P(SandboxFaultTest, CandidateAfterASlowReferenceTimesOutOnItsOwnTimeout) {
  setenv("FLEETTUNE_TEST_SLOW_MS", "1000", 1);
  v1::MeasureTask task = WithoutHostReference(FixtureTask("matmul_hangs"));
  task.mutable_reference()->set_symbol("matmul_slow_reference");
  task.mutable_reference()->set_sha256(GetParam() ? "slow-hang-worker" : "slow-hang-fork");
  task.mutable_options()->set_timeout_ms(300);
  SandboxOptions options = Options();
  options.grace_ms = 200;
  options.reference_timeout_ms = 5000;
  const auto start = Clock::now();
  v1::MeasureResult result = MeasureInSandbox(task, options);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  unsetenv("FLEETTUNE_TEST_SLOW_MS");
  EXPECT_EQ(v1::MeasureStatus_Name(result.status()), "TIMEOUT") << result.error();
  EXPECT_THAT(result.error(), HasSubstr("no result within 300 ms (+200 ms grace) of the "
                                        "reference output being ready; the kernel was killed"));
  EXPECT_GE(seconds, 1.5);  // 1 s of reference, then 0.5 s of candidate
  EXPECT_LT(seconds, 3.0);  // not the reference's 5 s bound
}

TEST_P(SandboxFaultTest, ReferenceSlowerThanItsBoundIsNotTheCandidatesFault) {
  setenv("FLEETTUNE_TEST_SLOW_MS", "3000", 1);
  v1::MeasureTask task = WithoutHostReference(FixtureTask("matmul_reordered"));
  task.mutable_reference()->set_symbol("matmul_slow_reference");
  task.mutable_reference()->set_sha256(GetParam() ? "slow-worker" : "slow-fork");
  task.mutable_options()->set_timeout_ms(300);
  SandboxOptions options = Options();
  options.grace_ms = 200;
  options.reference_timeout_ms = 1000;  // 1000 + 200 ms: the 3 s reference runs past it
  const auto start = Clock::now();
  v1::MeasureResult result = MeasureInSandbox(task, options);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  unsetenv("FLEETTUNE_TEST_SLOW_MS");
  EXPECT_EQ(v1::MeasureStatus_Name(result.status()), "REJECTED") << result.error();
  EXPECT_THAT(result.error(),
              HasSubstr("reference: the reference kernel did not finish within 1000 ms (+200 ms "
                        "grace), this board's bound for a reference run "
                        "(fleettune-rpc-server --reference-timeout-ms)"));
  EXPECT_THAT(result.error(), HasSubstr("the candidate was not run"));
  EXPECT_LT(seconds, 2.5);  // killed at its bound, not left to finish
  // The candidate itself is fine: with a fast reference it measures OK.
  ExpectBoardStillMeasures();
}

// The bound is never below the task's own timeout_ms.
TEST_P(SandboxFaultTest, ReferenceBoundIsAtLeastTheTasksTimeout) {
  setenv("FLEETTUNE_TEST_SLOW_MS", "600", 1);
  v1::MeasureTask task = WithoutHostReference(FixtureTask("matmul_reordered"));
  task.mutable_reference()->set_symbol("matmul_slow_reference");
  task.mutable_reference()->set_sha256(GetParam() ? "slow-long-worker" : "slow-long-fork");
  task.mutable_options()->set_timeout_ms(1500);
  SandboxOptions options = Options();
  options.grace_ms = 200;
  options.reference_timeout_ms = 100;
  v1::MeasureResult result = MeasureInSandbox(task, options);
  unsetenv("FLEETTUNE_TEST_SLOW_MS");
  EXPECT_EQ(v1::MeasureStatus_Name(result.status()), "OK") << result.error();
}

TEST_P(SandboxFaultTest, NanOutputIsWrongAnswer) {
  v1::MeasureResult result = Measure(FixtureTask("matmul_nan"));
  EXPECT_EQ(result.status(), v1::WRONG_ANSWER) << result.error();
  EXPECT_TRUE(std::isinf(result.max_abs_error())) << result.max_abs_error();
  EXPECT_THAT(result.error(), HasSubstr("max abs error inf"));
  EXPECT_EQ(result.costs_size(), 0);
}

}  // namespace
}  // namespace fleettune::rpc_server
