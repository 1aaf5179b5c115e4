#include "rpc_server/time_evaluator.h"

#include <gtest/gtest.h>

#include <chrono>
#include <ostream>
#include <thread>
#include <vector>

namespace fleettune::rpc_server {
namespace {

// Spins for `duration` so the run takes real time without sleeping's coarse granularity.
void Spin(std::chrono::microseconds duration) {
  const auto end = std::chrono::steady_clock::now() + duration;
  while (std::chrono::steady_clock::now() < end) {
  }
}

TEST(TimeEvaluatorTest, RunsNumberTimesRepeatWithoutMinRepeat) {
  int calls = 0;
  TimingOptions options;
  options.number = 4;
  options.repeat = 3;
  auto result = TimeKernel(
      [&] {
        ++calls;
        Spin(std::chrono::microseconds(100));
        return 0;
      },
      options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(calls, 12);
  EXPECT_EQ(result->final_number, 4);
  ASSERT_EQ(result->costs.size(), 3u);
  for (double cost : result->costs) {
    EXPECT_GE(cost, 100e-6);
    EXPECT_LT(cost, 50e-3);
  }
}

TEST(TimeEvaluatorTest, RaisesNumberUntilRepeatLastsMinRepeatMs) {
  TimingOptions options;
  options.number = 1;
  options.repeat = 2;
  options.min_repeat_ms = 10;
  auto result = TimeKernel(
      [] {
        Spin(std::chrono::microseconds(200));
        return 0;
      },
      options);
  ASSERT_TRUE(result.ok()) << result.status();
  // Each run takes >= 0.2 ms, so a 10 ms repeat needs more than one run. Each raise is
  // max(wanted / per-run + 1, number x golden ratio) (TVM's rule): the first term is at most
  // 10 / 0.2 + 1 = 51; the second applies to a number whose batch fell short of 10 ms, so
  // at most 49 runs (50 take >= 10 ms), giving at most 79 when a loaded machine slowed the
  // batch before it.
  EXPECT_GT(result->final_number, 1);
  EXPECT_LE(result->final_number, 79);
  ASSERT_EQ(result->costs.size(), 2u);
  for (double cost : result->costs) EXPECT_GE(cost, 200e-6);
  // The last repeat ran final_number times and lasted at least min_repeat_ms.
  EXPECT_GE(result->costs.back() * result->final_number, 10e-3);
}

TEST(TimeEvaluatorTest, NonZeroReturnStopsWithItsCode) {
  int calls = 0;
  auto result = TimeKernel([&] { return ++calls == 2 ? 7 : 0; }, TimingOptions{});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInternal);
  EXPECT_NE(result.status().message().find("returned 7"), std::string::npos);
  EXPECT_EQ(calls, 2);
}

TEST(TimeEvaluatorTest, TimeoutIsDeadlineExceeded) {
  TimingOptions options;
  options.repeat = 1000;
  options.timeout_ms = 30;
  auto result = TimeKernel(
      [] {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        return 0;
      },
      options);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kDeadlineExceeded);
}

TEST(TimeEvaluatorTest, RejectsOutOfRangeOptions) {
  const auto run = [] { return 0; };
  EXPECT_EQ(TimeKernel(run, {0, 1, 0, 0}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(TimeKernel(run, {1, 0, 0, 0}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(TimeKernel(run, {1, 1, -1, 0}).status().code(), absl::StatusCode::kInvalidArgument);
}

// A device clock of 0.25 ms per run: the policy alone, without host timing noise.
TEST(TimeEvaluatorTest, BatchesOnADeviceClockGrowNumberUpToTheCap) {
  std::vector<int> batches;
  const auto run_batch = [&](int number) -> absl::StatusOr<double> {
    batches.push_back(number);
    return 0.25 * number;
  };
  // 10 ms wanted: 1 run (0.25 ms) -> number 41 (10 / 0.25 + 1) = 10.25 ms, enough.
  absl::StatusOr<TimingResult> timed = TimeBatches(run_batch, {1, 2, 10, 0});
  ASSERT_TRUE(timed.ok()) << timed.status();
  EXPECT_EQ(batches, (std::vector<int>{1, 41, 41}));
  EXPECT_EQ(timed->final_number, 41);
  ASSERT_EQ(timed->costs.size(), 2u);
  EXPECT_DOUBLE_EQ(timed->costs[0], 0.25e-3);
  EXPECT_DOUBLE_EQ(timed->costs[1], 0.25e-3);

  // A cap of 8 runs stops the growth short of min_repeat_ms.
  batches.clear();
  timed = TimeBatches(run_batch, {1, 1, 10, 0}, 8);
  ASSERT_TRUE(timed.ok()) << timed.status();
  EXPECT_EQ(batches, (std::vector<int>{1, 8}));
  EXPECT_EQ(timed->final_number, 8);

  // The batch's own error ends the timing unchanged.
  const auto failing = [](int) -> absl::StatusOr<double> {
    return absl::DeadlineExceededError("device timeout");
  };
  absl::StatusOr<TimingResult> failed = TimeBatches(failing, {1, 3, 0, 0});
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(failed.status().message(), "device timeout");
  EXPECT_EQ(TimeBatches(run_batch, {0, 1, 0, 0}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// ---- TimeInterleaved: the policy alone, over fake timers that log their calls ------------

// One call of a fake candidate timer.
struct Call {
  int candidate;
  int round;
  int number;
  int repeat;
  int min_repeat_ms;
  bool operator==(const Call& other) const {
    return candidate == other.candidate && round == other.round && number == other.number &&
           repeat == other.repeat && min_repeat_ms == other.min_repeat_ms;
  }
};

void PrintTo(const Call& call, std::ostream* out) {
  *out << "{candidate " << call.candidate << ", round " << call.round << ", number " << call.number
       << ", repeat " << call.repeat << ", min_repeat_ms " << call.min_repeat_ms << "}";
}

// A fake timer for candidate `c`: logs the call; the warm-up answers final_number
// `warm_number`; round r answers the cost `c + r / 10` ms (per run), or `failure` in
// `fail_round`.
CandidateTimer FakeTimer(int c, int warm_number, std::vector<Call>* calls, int fail_round = -1,
                         absl::Status failure = absl::OkStatus()) {
  return [=](const TimingOptions& options, int round) -> absl::StatusOr<TimingResult> {
    calls->push_back({c, round, options.number, options.repeat, options.min_repeat_ms});
    if (round == fail_round) return failure;
    TimingResult result;
    result.final_number = round == 0 ? warm_number : options.number;
    result.costs = {(c + round / 10.0) * 1e-3};
    return result;
  };
}

TEST(TimeInterleavedTest, WarmsUpEachThenTimesEveryCandidateOncePerRoundInOrder) {
  std::vector<Call> calls;
  const std::vector<CandidateTimer> timers = {FakeTimer(1, 40, &calls), FakeTimer(2, 7, &calls),
                                              FakeTimer(3, 1, &calls)};
  TimingOptions options;
  options.number = 2;
  options.repeat = 9;  // not used: rounds instead
  options.min_repeat_ms = 25;
  absl::StatusOr<InterleavedTiming> timing = TimeInterleaved(timers, options, 2);
  ASSERT_TRUE(timing.ok()) << timing.status();
  // The warm-up with the task's number and min_repeat_ms, one repeat; then rounds with each
  // candidate's own number and no min_repeat_ms.
  EXPECT_EQ(calls, (std::vector<Call>{{1, 0, 2, 1, 25},
                                      {2, 0, 2, 1, 25},
                                      {3, 0, 2, 1, 25},
                                      {1, 1, 40, 1, 0},
                                      {2, 1, 7, 1, 0},
                                      {3, 1, 1, 1, 0},
                                      {1, 2, 40, 1, 0},
                                      {2, 2, 7, 1, 0},
                                      {3, 2, 1, 1, 0}}));
  EXPECT_EQ(timing->number, (std::vector<int>{40, 7, 1}));
  ASSERT_EQ(timing->costs.size(), 3u);
  for (int c = 0; c < 3; ++c) {
    EXPECT_TRUE(timing->status[c].ok()) << timing->status[c];
    ASSERT_EQ(timing->costs[c].size(), 2u) << c;
    // The warm-up's cost is not kept: round 1's is first.
    EXPECT_DOUBLE_EQ(timing->costs[c][0], (c + 1 + 0.1) * 1e-3);
    EXPECT_DOUBLE_EQ(timing->costs[c][1], (c + 1 + 0.2) * 1e-3);
  }
}

TEST(TimeInterleavedTest, AFailingCandidateLeavesAndTheOthersGoOn) {
  std::vector<Call> calls;
  const std::vector<CandidateTimer> timers = {
      FakeTimer(1, 3, &calls),
      FakeTimer(2, 3, &calls, /*fail_round=*/2, absl::InternalError("kernel returned 7")),
      FakeTimer(3, 3, &calls)};
  absl::StatusOr<InterleavedTiming> timing = TimeInterleaved(timers, TimingOptions{}, 3);
  ASSERT_TRUE(timing.ok()) << timing.status();
  EXPECT_EQ(timing->status[1], absl::InternalError("kernel returned 7"));
  EXPECT_TRUE(timing->costs[1].empty());  // its round 1 cost is dropped with it
  EXPECT_TRUE(timing->status[0].ok());
  EXPECT_TRUE(timing->status[2].ok());
  EXPECT_EQ(timing->costs[0].size(), 3u);
  EXPECT_EQ(timing->costs[2].size(), 3u);
  // Candidate 2 is not called after its failure in round 2.
  int calls_of_2 = 0;
  for (const Call& call : calls) calls_of_2 += call.candidate == 2;
  EXPECT_EQ(calls_of_2, 3);  // warm-up, round 1, round 2
  EXPECT_EQ(calls.size(), 3u + 3 + 3 + 2);
}

TEST(TimeInterleavedTest, RunningOutOfTimeStopsEveryoneNotThroughTheirRounds) {
  std::vector<Call> calls;
  const std::vector<CandidateTimer> timers = {
      FakeTimer(1, 3, &calls),
      FakeTimer(2, 3, &calls, /*fail_round=*/2,
                absl::DeadlineExceededError("timing exceeded 5 ms")),
      FakeTimer(3, 3, &calls)};
  absl::StatusOr<InterleavedTiming> timing = TimeInterleaved(timers, TimingOptions{}, 3);
  ASSERT_TRUE(timing.ok()) << timing.status();
  for (int c = 0; c < 3; ++c) {
    EXPECT_EQ(timing->status[c],
              absl::DeadlineExceededError("the time ran out in round 2 of 3: timing exceeded 5 ms"))
        << c;
    EXPECT_TRUE(timing->costs[c].empty()) << c;
  }
  ASSERT_FALSE(calls.empty());
  EXPECT_EQ(calls.back(), (Call{2, 2, 3, 1, 0}));  // nobody is called after the deadline

  // In the last round, those that had their turn are through and keep their costs.
  calls.clear();
  const std::vector<CandidateTimer> last = {
      FakeTimer(1, 3, &calls),
      FakeTimer(2, 3, &calls, /*fail_round=*/2, absl::DeadlineExceededError("out")),
      FakeTimer(3, 3, &calls)};
  timing = TimeInterleaved(last, TimingOptions{}, 2);
  ASSERT_TRUE(timing.ok()) << timing.status();
  EXPECT_TRUE(timing->status[0].ok());
  EXPECT_EQ(timing->costs[0].size(), 2u);
  EXPECT_EQ(timing->status[1].message(), "the time ran out in round 2 of 2: out");
  EXPECT_EQ(timing->status[2].code(), absl::StatusCode::kDeadlineExceeded);

  // In the warm-up, everyone.
  calls.clear();
  const std::vector<CandidateTimer> warm = {
      FakeTimer(1, 3, &calls),
      FakeTimer(2, 3, &calls, /*fail_round=*/0, absl::DeadlineExceededError("out"))};
  timing = TimeInterleaved(warm, TimingOptions{}, 5);
  ASSERT_TRUE(timing.ok()) << timing.status();
  EXPECT_EQ(timing->status[0].message(), "the time ran out in the warm-up pass: out");
  EXPECT_EQ(timing->status[1].message(), "the time ran out in the warm-up pass: out");
  EXPECT_EQ(calls.size(), 2u);
}

TEST(TimeInterleavedTest, BadOptionsOrRoundsCallNoTimer) {
  std::vector<Call> calls;
  const std::vector<CandidateTimer> timers = {FakeTimer(1, 3, &calls)};
  absl::StatusOr<InterleavedTiming> no_rounds = TimeInterleaved(timers, TimingOptions{}, 0);
  EXPECT_EQ(no_rounds.status(), absl::InvalidArgumentError("rounds must be >= 1, got 0"));
  TimingOptions negative;
  negative.min_repeat_ms = -1;
  EXPECT_EQ(TimeInterleaved(timers, negative, 3).status(),
            absl::InvalidArgumentError("min_repeat_ms must be >= 0, got -1"));
  EXPECT_TRUE(calls.empty());
  // No candidates: nothing to time, nothing called.
  absl::StatusOr<InterleavedTiming> none = TimeInterleaved({}, TimingOptions{}, 3);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->status.empty());
}

}  // namespace
}  // namespace fleettune::rpc_server
