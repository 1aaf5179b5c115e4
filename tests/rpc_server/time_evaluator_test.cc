#include "rpc_server/time_evaluator.h"

#include <gtest/gtest.h>

#include <chrono>
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

}  // namespace
}  // namespace fleettune::rpc_server
