// MeasureOnDevice (device.h) on the CPU in this process, as the sandbox worker runs it.
#include <gtest/gtest.h>

#include <cstdlib>

#include "rpc_server/cpu_device.h"
#include "rpc_server/device.h"
#include "tests/rpc_server/kernel_fixture.h"

namespace fleettune::rpc_server {
namespace {

using ::fleettune::testing::FixtureTask;
using ::fleettune::testing::WithoutHostReference;

v1::MeasureResult MeasureInProcess(const v1::MeasureTask& task) {
  CpuDevice device(/*sandbox=*/false, SandboxOptions{});
  return MeasureOnDevice(device, task);
}

TEST(MeasureTaskTest, CorrectKernelIsOkWithOneCostPerRepeat) {
  v1::MeasureTask task = FixtureTask("matmul_reordered", /*client_tag=*/42);
  task.set_task_id(7);
  task.mutable_options()->set_repeat(4);
  v1::MeasureResult result = MeasureInProcess(task);
  ASSERT_EQ(result.status(), v1::OK) << result.error();
  EXPECT_EQ(result.task_id(), 7u);
  EXPECT_EQ(result.client_tag(), 42u);
  ASSERT_EQ(result.costs_size(), 4);
  for (double cost : result.costs()) {
    EXPECT_GT(cost, 0.0);
    EXPECT_LT(cost, 0.1);  // a 16x24x8 matmul takes microseconds
  }
  EXPECT_LT(result.max_abs_error(), 1e-4);
  EXPECT_TRUE(result.error().empty());
}

TEST(MeasureTaskTest, ZeroOptionsMeanOneRunThreeRepeats) {
  v1::MeasureTask task = FixtureTask("matmul_reordered");
  task.clear_options();  // no check_correctness flag, but a reference is given: still checked
  v1::MeasureResult result = MeasureInProcess(task);
  ASSERT_EQ(result.status(), v1::OK) << result.error();
  EXPECT_EQ(result.costs_size(), 3);
}

TEST(MeasureTaskTest, WrongKernelIsWrongAnswerWithItsError) {
  v1::MeasureResult result = MeasureInProcess(FixtureTask("matmul_wrong"));
  EXPECT_EQ(result.status(), v1::WRONG_ANSWER);
  EXPECT_NEAR(result.max_abs_error(), 0.5, 1e-3);  // the fixture adds 0.5 to one element
  EXPECT_NE(result.error().find("max abs error"), std::string::npos) << result.error();
  EXPECT_EQ(result.costs_size(), 0);
}

TEST(MeasureTaskTest, UnwrittenOutputIsWrongAnswer) {
  v1::MeasureResult result = MeasureInProcess(FixtureTask("matmul_half_written"));
  EXPECT_EQ(result.status(), v1::WRONG_ANSWER) << result.error();
}

TEST(MeasureTaskTest, LooseToleranceAcceptsSmallError) {
  v1::MeasureTask task = FixtureTask("matmul_wrong");
  task.mutable_options()->set_tolerance(10.0);  // 0.5 is within 10 x max|ref|
  EXPECT_EQ(MeasureInProcess(task).status(), v1::OK);
}

TEST(MeasureTaskTest, NonZeroReturnIsRuntimeError) {
  v1::MeasureResult result = MeasureInProcess(FixtureTask("matmul_fails"));
  EXPECT_EQ(result.status(), v1::RUNTIME_ERROR);
  EXPECT_NE(result.error().find("returned 3"), std::string::npos) << result.error();
}

TEST(MeasureTaskTest, WriteOutsideTheOutputIsRuntimeErrorNamingTheTensor) {
  v1::MeasureResult result = MeasureInProcess(FixtureTask("matmul_overruns"));
  EXPECT_EQ(result.status(), v1::RUNTIME_ERROR);
  EXPECT_NE(result.error().find("wrote outside tensor 2"), std::string::npos) << result.error();
}

TEST(MeasureTaskTest, UncheckedTaskOnlyTimes) {
  // An op the host loop knows is always checked; this one has no check but a reference's.
  v1::MeasureTask task = WithoutHostReference(FixtureTask("matmul_wrong"));
  task.clear_reference();
  task.mutable_options()->set_check_correctness(false);
  v1::MeasureResult result = MeasureInProcess(task);
  EXPECT_EQ(result.status(), v1::OK) << result.error();
  EXPECT_EQ(result.costs_size(), 2);
}

TEST(MeasureTaskTest, LoadFailuresAreLoadError) {
  v1::MeasureTask garbage = FixtureTask("matmul_reordered");
  garbage.mutable_artifact()->set_shared_object(
      "\x7f"
      "ELF but not really");
  v1::MeasureResult result = MeasureInProcess(garbage);
  EXPECT_EQ(result.status(), v1::LOAD_ERROR);
  EXPECT_EQ(result.error().rfind("artifact: ", 0), 0u) << result.error();

  v1::MeasureTask missing_symbol = FixtureTask("no_such_symbol");
  EXPECT_EQ(MeasureInProcess(missing_symbol).status(), v1::LOAD_ERROR);

  v1::MeasureTask empty = FixtureTask("matmul_reordered");
  empty.mutable_artifact()->clear_shared_object();
  EXPECT_EQ(MeasureInProcess(empty).status(), v1::LOAD_ERROR);

  // The reference artifact is what checks an op the host loop does not know.
  v1::MeasureTask bad_reference = WithoutHostReference(FixtureTask("matmul_reordered"));
  bad_reference.mutable_reference()->set_shared_object("garbage");
  bad_reference.mutable_reference()->set_sha256("garbage-reference");
  result = MeasureInProcess(bad_reference);
  EXPECT_EQ(result.status(), v1::LOAD_ERROR);
  EXPECT_EQ(result.error().rfind("reference: ", 0), 0u) << result.error();
}

TEST(MeasureTaskTest, ReferenceOutputIsCachedBySha256AndShapes) {
  v1::MeasureTask first = WithoutHostReference(FixtureTask("matmul_reordered"));
  first.mutable_reference()->set_sha256("cache-test-reference");
  ASSERT_EQ(MeasureInProcess(first).status(), v1::OK);
  // Same digest and shapes: the cached output is used, so the (now broken) reference bytes
  // are never loaded.
  v1::MeasureTask second = first;
  second.mutable_reference()->set_shared_object("not loaded when cached");
  EXPECT_EQ(MeasureInProcess(second).status(), v1::OK);
  // Another digest misses the cache and has to load the broken bytes.
  second.mutable_reference()->set_sha256("other-reference");
  EXPECT_EQ(MeasureInProcess(second).status(), v1::LOAD_ERROR);
}

// A reference computed in the call is not the candidate's time: its timeout_ms (and so its
// timing budget) counts from the reference output being ready.
TEST(MeasureTaskTest, TimeoutCountsFromTheReferenceOutputBeingReady) {
  setenv("FLEETTUNE_TEST_SLOW_MS", "500", 1);
  v1::MeasureTask task = WithoutHostReference(FixtureTask("matmul_takes_20ms"));
  task.mutable_reference()->set_symbol("matmul_slow_reference");
  task.mutable_reference()->set_sha256("slow-reference-in-process");
  task.mutable_options()->set_timeout_ms(300);  // the reference alone takes 500 ms
  v1::MeasureResult result = MeasureInProcess(task);
  unsetenv("FLEETTUNE_TEST_SLOW_MS");
  EXPECT_EQ(v1::MeasureStatus_Name(result.status()), "OK") << result.error();
  EXPECT_EQ(result.costs_size(), 2);
}

TEST(MeasureTaskTest, BadTensorSpecsAreRejectedNamingTheField) {
  struct Case {
    const char* name;
    void (*mutate)(v1::MeasureTask&);
    const char* expected;
  };
  const Case cases[] = {
      {"no tensors", [](v1::MeasureTask& t) { t.clear_tensors(); }, "tensors is empty"},
      {"empty shape", [](v1::MeasureTask& t) { t.mutable_tensors(1)->clear_shape(); },
       "tensors[1].shape is empty"},
      {"zero dim", [](v1::MeasureTask& t) { t.mutable_tensors(0)->set_shape(1, 0); },
       "tensors[0].shape[1] is 0"},
      {"negative dim", [](v1::MeasureTask& t) { t.mutable_tensors(2)->set_shape(0, -4); },
       "tensors[2].shape[0] is -4"},
      {"too big", [](v1::MeasureTask& t) { t.mutable_tensors(2)->set_shape(0, int64_t{1} << 40); },
       "tensors[2] exceeds"},
      {"dtype", [](v1::MeasureTask& t) { t.mutable_workload()->set_dtype("float64"); },
       "workload.dtype"},
      {"negative repeat", [](v1::MeasureTask& t) { t.mutable_options()->set_repeat(-1); },
       "options.repeat"},
  };
  for (const Case& c : cases) {
    v1::MeasureTask task = FixtureTask("matmul_reordered");
    c.mutate(task);
    v1::MeasureResult result = MeasureInProcess(task);
    EXPECT_EQ(result.status(), v1::REJECTED) << c.name;
    EXPECT_NE(result.error().find(c.expected), std::string::npos)
        << c.name << ": " << result.error();
  }
}

}  // namespace
}  // namespace fleettune::rpc_server
