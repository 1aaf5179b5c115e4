#include "rpc_server/sandbox.h"

#include <gtest/gtest.h>

#include <chrono>

#include "rpc_server/measure.h"
#include "tests/rpc_server/kernel_fixture.h"

namespace fleettune::rpc_server {
namespace {

using ::fleettune::testing::FixtureTask;
using ::fleettune::testing::WithoutHostReference;

// Every case runs twice: with the worker process the real board uses (a fresh
// `fleettune-rpc-server --sandbox-worker` per task) and with the fork fallback.
class SandboxTest : public ::testing::TestWithParam<bool> {
 protected:
  SandboxOptions Options() const {
    SandboxOptions options;
    if (GetParam()) options.worker_binary = FLEETTUNE_RPC_SERVER_BINARY;
    return options;
  }
  v1::MeasureResult Measure(const v1::MeasureTask& task) {
    return MeasureInSandbox(task, Options());
  }
};

INSTANTIATE_TEST_SUITE_P(WorkerAndFork, SandboxTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Worker" : "Fork"; });

TEST_P(SandboxTest, CorrectKernelMeasuresAsInProcess) {
  v1::MeasureTask task = FixtureTask("matmul_reordered", /*client_tag=*/9);
  task.set_task_id(3);
  v1::MeasureResult result = Measure(task);
  ASSERT_EQ(result.status(), v1::OK) << result.error();
  EXPECT_EQ(result.task_id(), 3u);
  EXPECT_EQ(result.client_tag(), 9u);
  EXPECT_EQ(result.costs_size(), 2);
  for (double cost : result.costs()) EXPECT_GT(cost, 0);
}

TEST_P(SandboxTest, ReferenceComputedInTheChildIsKeptByTheBoard) {
  // A reference artifact checks it (for matmul the host loop would).
  v1::MeasureTask task = WithoutHostReference(FixtureTask("matmul_reordered"));
  task.mutable_reference()->set_sha256(GetParam() ? "worker-cache-test" : "fork-cache-test");
  const std::string key = ReferenceCacheKey(task);
  ASSERT_EQ(FindReferenceOutput(key), nullptr);
  ASSERT_EQ(Measure(task).status(), v1::OK);
  auto output = FindReferenceOutput(key);
  ASSERT_NE(output, nullptr);
  EXPECT_EQ(output->size(), static_cast<size_t>(testing::kFixtureM * testing::kFixtureN));

  // Later tasks of the same reference (the same cache key) check against the kept output.
  // Their reference code does not load, so only the cache can supply the expected output.
  auto measure_against_kept_output = [&](const std::string& candidate) {
    v1::MeasureTask later = WithoutHostReference(FixtureTask(candidate));
    *later.mutable_reference() = task.reference();
    later.mutable_reference()->set_shared_object("not a shared object");
    EXPECT_EQ(ReferenceCacheKey(later), key);
    return Measure(later);
  };
  // The kept output is the real reference's: a correct kernel passes and a wrong one is caught.
  v1::MeasureResult correct = measure_against_kept_output("matmul_reordered");
  EXPECT_EQ(correct.status(), v1::OK) << correct.error();
  v1::MeasureResult wrong = measure_against_kept_output("matmul_wrong");
  EXPECT_EQ(wrong.status(), v1::WRONG_ANSWER) << wrong.error();
}

TEST_P(SandboxTest, CrashingKernelIsRuntimeErrorAndTheCallerLivesOn) {
  v1::MeasureResult result = Measure(FixtureTask("matmul_segfaults", 5));
  EXPECT_EQ(result.status(), v1::RUNTIME_ERROR);
  EXPECT_EQ(result.client_tag(), 5u);
  EXPECT_NE(result.error().find("signal 11"), std::string::npos) << result.error();
  // This process (the board) still measures the next task.
  EXPECT_EQ(Measure(FixtureTask("matmul_reordered")).status(), v1::OK);
}

TEST_P(SandboxTest, HangingKernelIsKilledAndTimesOut) {
  v1::MeasureTask task = FixtureTask("matmul_hangs");
  task.mutable_options()->set_timeout_ms(300);
  SandboxOptions options = Options();
  options.grace_ms = 200;
  auto start = std::chrono::steady_clock::now();
  v1::MeasureResult result = MeasureInSandbox(task, options);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(result.status(), v1::TIMEOUT) << result.error();
  EXPECT_LT(seconds, 5.0);  // killed near its 0.5 s deadline, not left running
  EXPECT_EQ(Measure(FixtureTask("matmul_reordered")).status(), v1::OK);
}

TEST_P(SandboxTest, GarbageArtifactIsLoadErrorNotACrash) {
  v1::MeasureTask task = FixtureTask("matmul_reordered");
  task.mutable_artifact()->set_shared_object(std::string(1000, '\x7f'));
  v1::MeasureResult result = Measure(task);
  EXPECT_EQ(result.status(), v1::LOAD_ERROR) << result.error();
}

}  // namespace
}  // namespace fleettune::rpc_server
