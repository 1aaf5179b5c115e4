// Multi-candidate tasks (MeasureOnDevice in device.h): several candidates checked one by one
// and timed interleaved in rounds, in process and through the CPU's sandbox worker.
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rpc_server/cpu_device.h"
#include "rpc_server/device.h"
#include "rpc_server/measure.h"
#include "rpc_server/sandbox.h"
#include "tests/rpc_server/kernel_fixture.h"

namespace fleettune::rpc_server {
namespace {

using ::fleettune::testing::FixtureKernelBytes;
using ::fleettune::testing::FixtureTask;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

// A task measuring the fixture symbols `candidates` together in `rounds` rounds.
v1::MeasureTask MultiCandidateTask(const std::vector<std::string>& candidates, int rounds) {
  v1::MeasureTask task = FixtureTask("unused");
  task.clear_artifact();
  for (const std::string& symbol : candidates) {
    v1::Candidate* candidate = task.add_candidates();
    candidate->mutable_artifact()->set_shared_object(FixtureKernelBytes());
    candidate->mutable_artifact()->set_symbol(symbol);
  }
  task.set_rounds(rounds);
  return task;
}

std::vector<std::string> Statuses(const v1::MeasureResult& result) {
  std::vector<std::string> statuses;
  for (const v1::CandidateResult& candidate : result.candidates()) {
    statuses.push_back(v1::MeasureStatus_Name(candidate.status()));
  }
  return statuses;
}

SandboxOptions WorkerOptions() {
  SandboxOptions options;
  options.worker_binary = FLEETTUNE_RPC_SERVER_BINARY;
  return options;
}

// The CPU in process and in its sandbox worker: the same protocol, the same answers.
class MultiCandidateTest : public ::testing::TestWithParam<bool> {
 protected:
  v1::MeasureResult Measure(const v1::MeasureTask& task) {
    CpuDevice device(/*sandbox=*/GetParam(), WorkerOptions());
    return device.Measure(task);
  }
};

INSTANTIATE_TEST_SUITE_P(InProcessAndSandbox, MultiCandidateTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Sandbox" : "InProcess"; });

TEST_P(MultiCandidateTest, AWrongCandidateFailsAloneAndTheOthersGetACostPerRound) {
  v1::MeasureTask task =
      MultiCandidateTask({"matmul_reordered", "matmul_wrong", "matmul_reference"}, 4);
  task.set_task_id(12);
  task.set_client_tag(34);
  v1::MeasureResult result = Measure(task);
  ASSERT_EQ(v1::MeasureStatus_Name(result.status()), "OK") << result.error();
  EXPECT_EQ(result.task_id(), 12u);
  EXPECT_EQ(result.client_tag(), 34u);
  EXPECT_EQ(result.costs_size(), 0);  // the costs are the candidates'
  EXPECT_THAT(Statuses(result), ElementsAre("OK", "WRONG_ANSWER", "OK"));
  for (int c : {0, 2}) {
    const v1::CandidateResult& good = result.candidates(c);
    EXPECT_EQ(good.error(), "") << c;
    EXPECT_LT(good.max_abs_error(), 1e-4) << c;
    ASSERT_EQ(good.costs_size(), 4) << c;
    for (double cost : good.costs()) {
      EXPECT_GT(cost, 0.0) << c;
      EXPECT_LT(cost, 0.1) << c;  // a 16x24x8 matmul takes microseconds
    }
  }
  const v1::CandidateResult& wrong = result.candidates(1);
  EXPECT_NEAR(wrong.max_abs_error(), 0.5, 1e-3);  // the fixture adds 0.5 to one element
  EXPECT_THAT(wrong.error(), HasSubstr("max abs error"));
  EXPECT_EQ(wrong.costs_size(), 0);
}

TEST_P(MultiCandidateTest, ZeroRoundsMeanFive) {
  v1::MeasureResult result = Measure(MultiCandidateTask({"matmul_reordered"}, 0));
  ASSERT_EQ(v1::MeasureStatus_Name(result.status()), "OK") << result.error();
  ASSERT_EQ(result.candidates_size(), 1);
  EXPECT_EQ(result.candidates(0).costs_size(), kDefaultTaskRounds);
  EXPECT_EQ(kDefaultTaskRounds, 5);
}

TEST_P(MultiCandidateTest, LoadErrorsAndBrokenTensorsStayWithTheirCandidate) {
  v1::MeasureTask task =
      MultiCandidateTask({"matmul_writes_input", "matmul_reordered", "no_such_symbol",
                          "matmul_underruns", "matmul_reference"},
                         2);
  task.mutable_candidates(1)->mutable_artifact()->set_shared_object(std::string(1000, '\x7f'));
  v1::MeasureResult result = Measure(task);
  ASSERT_EQ(v1::MeasureStatus_Name(result.status()), "OK") << result.error();
  EXPECT_THAT(Statuses(result),
              ElementsAre("RUNTIME_ERROR", "LOAD_ERROR", "LOAD_ERROR", "RUNTIME_ERROR", "OK"));
  EXPECT_EQ(result.candidates(0).error(), "kernel wrote into input tensor 0 (A)");
  EXPECT_THAT(result.candidates(1).error(), HasSubstr("artifact: "));
  EXPECT_THAT(result.candidates(2).error(), HasSubstr("no_such_symbol"));
  EXPECT_EQ(result.candidates(3).error(), "kernel wrote outside tensor 2 (C)");
  // The last one ran on refilled inputs and fresh canaries: the others' damage is not its.
  EXPECT_EQ(result.candidates(4).costs_size(), 2);
  EXPECT_LT(result.candidates(4).max_abs_error(), 1e-4);
}

// The timeout covers all candidates together; those that it stops are TIMEOUT, the task OK.
TEST_P(MultiCandidateTest, TheTimeoutBoundsAllCandidatesTogether) {
  v1::MeasureTask task =
      MultiCandidateTask({"matmul_takes_20ms", "matmul_takes_20ms", "matmul_takes_20ms"}, 5);
  task.mutable_options()->set_timeout_ms(100);  // the checks alone take 60 ms, a round 120 ms
  const auto start = std::chrono::steady_clock::now();
  v1::MeasureResult result = Measure(task);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_EQ(v1::MeasureStatus_Name(result.status()), "OK") << result.error();
  EXPECT_THAT(Statuses(result), ElementsAre("TIMEOUT", "TIMEOUT", "TIMEOUT"));
  for (const v1::CandidateResult& candidate : result.candidates()) {
    EXPECT_THAT(candidate.error(),
                HasSubstr("the task's timeout (100 ms, for all its candidates together) expired"));
    EXPECT_EQ(candidate.costs_size(), 0);
  }
  EXPECT_LT(seconds, 2.0);  // the worker stopped itself: nobody had to be killed
}

TEST_P(MultiCandidateTest, BadRequestsAreRejectedNamingTheField) {
  struct Case {
    const char* name;
    void (*mutate)(v1::MeasureTask&);
    const char* expected;
  };
  const Case cases[] = {
      {"empty artifact",
       [](v1::MeasureTask& t) {
         t.mutable_candidates(1)->mutable_artifact()->clear_shared_object();
       },
       "candidates[1].artifact.shared_object is empty"},
      {"negative rounds", [](v1::MeasureTask& t) { t.set_rounds(-1); },
       "rounds is -1; must lie in [0, 100] (0: 5)"},
      {"too many rounds", [](v1::MeasureTask& t) { t.set_rounds(kMaxTaskRounds + 1); },
       "rounds is 101; must lie in [0, 100] (0: 5)"},
      {"too many candidates",
       [](v1::MeasureTask& t) {
         while (t.candidates_size() <= kMaxTaskCandidates) *t.add_candidates() = t.candidates(0);
       },
       "candidates has 17 entries; a board measures at most 16 candidates in one task"},
      {"negative number", [](v1::MeasureTask& t) { t.mutable_options()->set_number(-2); },
       "options.number is -2; must be >= 0 (0: the default)"},
      {"negative min_repeat_ms",
       [](v1::MeasureTask& t) { t.mutable_options()->set_min_repeat_ms(-5); },
       "options.min_repeat_ms is -5; must be >= 0 (0: the default)"},
  };
  for (const Case& c : cases) {
    v1::MeasureTask task = MultiCandidateTask({"matmul_reordered", "matmul_reference"}, 2);
    c.mutate(task);
    v1::MeasureResult result = Measure(task);
    EXPECT_EQ(v1::MeasureStatus_Name(result.status()), "REJECTED") << c.name;
    EXPECT_THAT(result.error(), HasSubstr(c.expected)) << c.name;
    EXPECT_EQ(result.candidates_size(), 0) << c.name;
  }
}

// Progress comes before each candidate's check, then before each of its timing turns.
TEST(MultiCandidateProgressTest, OnCandidateFollowsChecksThenTurnsInOrder) {
  CpuDevice device(/*sandbox=*/false, SandboxOptions{});
  std::vector<std::pair<int, int>> calls;
  v1::MeasureResult result = MeasureOnDevice(
      device, MultiCandidateTask({"matmul_reordered", "matmul_wrong", "matmul_reference"}, 2),
      nullptr, [&](int candidate, int round) { calls.emplace_back(candidate, round); });
  ASSERT_EQ(v1::MeasureStatus_Name(result.status()), "OK") << result.error();
  EXPECT_THAT(calls, ElementsAre(Pair(0, kCandidateCheckRound), Pair(1, kCandidateCheckRound),
                                 Pair(2, kCandidateCheckRound), Pair(0, 0), Pair(2, 0), Pair(0, 1),
                                 Pair(2, 1), Pair(0, 2), Pair(2, 2)));
}

// A candidate that changes an input only when timed leaves, and the others are timed on the
// standard inputs.
TEST(MultiCandidateProgressTest, ACandidateThatWritesAnInputWhileTimedLeaves) {
  CpuDevice device(/*sandbox=*/false, SandboxOptions{});
  v1::MeasureResult result = MeasureOnDevice(
      device, MultiCandidateTask({"matmul_writes_input_when_timed", "matmul_reordered"}, 3));
  ASSERT_EQ(v1::MeasureStatus_Name(result.status()), "OK") << result.error();
  EXPECT_THAT(Statuses(result), ElementsAre("RUNTIME_ERROR", "OK"));
  EXPECT_EQ(result.candidates(0).error(), "kernel wrote into input tensor 1 (B) while timed");
  EXPECT_EQ(result.candidates(0).costs_size(), 0);
  EXPECT_EQ(result.candidates(1).costs_size(), 3);
}

// In the sandbox a crash or hang loses the task, and the error names the candidate.
class MultiCandidateSandboxTest : public ::testing::TestWithParam<bool> {
 protected:
  SandboxOptions Options() const {
    SandboxOptions options;
    if (GetParam()) options.worker_binary = FLEETTUNE_RPC_SERVER_BINARY;
    return options;
  }
};

INSTANTIATE_TEST_SUITE_P(WorkerAndFork, MultiCandidateSandboxTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Worker" : "Fork"; });

TEST_P(MultiCandidateSandboxTest, ACrashInACheckNamesTheCandidate) {
  v1::MeasureResult result = MeasureInSandbox(
      MultiCandidateTask({"matmul_reordered", "matmul_segfaults", "matmul_reference"}, 2),
      Options());
  EXPECT_EQ(v1::MeasureStatus_Name(result.status()), "RUNTIME_ERROR");
  EXPECT_THAT(result.error(),
              HasSubstr("the kernel crashed during the multi-candidate task, in candidates[1] "
                        "(of 3) while it was loaded, run and checked: signal 11"));
  EXPECT_EQ(result.candidates_size(), 0);
}

TEST_P(MultiCandidateSandboxTest, ACrashWhileTimedNamesTheCandidateAndThePass) {
  v1::MeasureResult result = MeasureInSandbox(
      MultiCandidateTask({"matmul_reordered", "matmul_crashes_when_timed"}, 2), Options());
  EXPECT_EQ(v1::MeasureStatus_Name(result.status()), "RUNTIME_ERROR");
  EXPECT_THAT(result.error(),
              HasSubstr("the kernel crashed during the multi-candidate task, in candidates[1] "
                        "(of 2) while timing it in its warm-up: signal 11"));
}

TEST_P(MultiCandidateSandboxTest, AHangIsKilledAndNamesTheCandidate) {
  v1::MeasureTask task = MultiCandidateTask({"matmul_reordered", "matmul_hangs"}, 2);
  task.mutable_options()->set_timeout_ms(300);
  SandboxOptions options = Options();
  options.grace_ms = 200;
  v1::MeasureResult result = MeasureInSandbox(task, options);
  EXPECT_EQ(v1::MeasureStatus_Name(result.status()), "TIMEOUT");
  EXPECT_THAT(result.error(), HasSubstr("no result within 300 ms (+200 ms grace)"));
  EXPECT_THAT(result.error(),
              HasSubstr("during the multi-candidate task, in candidates[1] (of 2) while it was "
                        "loaded, run and checked; the kernel was killed"));
  // The board measures the next task.
  EXPECT_EQ(MeasureInSandbox(FixtureTask("matmul_reordered"), Options()).status(), v1::OK);
}

}  // namespace
}  // namespace fleettune::rpc_server
