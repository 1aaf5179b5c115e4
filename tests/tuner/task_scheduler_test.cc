// The task scheduler on synthetic tasks with known curves: each task's best latency after r
// rounds is a function the test picks, reported through Record() as a job would.
#include "tuner/task_scheduler.h"

#include <cmath>
#include <functional>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fleettune::tuner {
namespace {

using ::testing::ElementsAre;

// best latency (seconds) of a task after its r-th round (r from 1).
using Curve = std::function<double(int)>;

// Runs `rounds` rounds: each one is handed out by Next() and recorded at once with the
// task's curve. Returns how many rounds each task got.
std::vector<int> Drive(TaskScheduler& scheduler, const std::vector<Curve>& curves, int rounds,
                       std::vector<size_t>* order = nullptr) {
  std::vector<int> given(curves.size(), 0);
  for (int r = 0; r < rounds; ++r) {
    std::optional<size_t> task = scheduler.Next();
    if (!task) break;
    ++given[*task];
    if (order) order->push_back(*task);
    scheduler.Record(*task, 8, curves[*task](given[*task]));
  }
  return given;
}

ScheduledTask Task(const std::string& op, int64_t count, double flops) {
  return {op + ":" + std::to_string(flops), op, count, flops};
}

Curve Flat(double seconds) {
  return [seconds](int) { return seconds; };
}
// Halves the distance to `floor` every round, from `start`.
Curve Improving(double start, double floor) {
  return [start, floor](int r) { return floor + (start - floor) / std::pow(2.0, r - 1); };
}

TEST(TaskSchedulerTest, ParsesPolicies) {
  EXPECT_EQ(*ParseSchedulerPolicy("gradient"), SchedulerPolicy::kGradient);
  EXPECT_EQ(*ParseSchedulerPolicy("round-robin"), SchedulerPolicy::kRoundRobin);
  absl::StatusOr<SchedulerPolicy> bad = ParseSchedulerPolicy("greedy");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()),
              ::testing::HasSubstr("'greedy' (choices: gradient, round-robin)"));
  EXPECT_EQ(SchedulerPolicyName(SchedulerPolicy::kRoundRobin), "round-robin");
}

TEST(TaskSchedulerTest, WarmsUpEveryTaskThenRoundRobinTakesTurns) {
  TaskSchedulerOptions options;
  options.policy = SchedulerPolicy::kRoundRobin;
  TaskScheduler scheduler({Task("conv2d", 1, 1e9), Task("conv2d", 1, 2e9), Task("matmul", 3, 1e8)},
                          options);
  std::vector<size_t> order;
  // The first task improves a lot, the others not at all: round-robin does not care.
  Drive(scheduler, {Improving(1.0, 0.01), Flat(0.5), Flat(0.2)}, 9, &order);
  EXPECT_THAT(order, ElementsAre(0, 1, 2, 0, 1, 2, 0, 1, 2));
}

TEST(TaskSchedulerTest, GradientFavoursTheTaskWithTheMostToGain) {
  TaskSchedulerOptions options;
  options.epsilon = 0;
  TaskScheduler scheduler({Task("conv2d", 1, 1e9), Task("matmul", 1, 1e9)}, options);
  // Task 0 is most of the network and keeps halving its distance to 50 ms from 200 ms; task
  // 1 is stuck at 10 ms.
  std::vector<int> given = Drive(scheduler, {Improving(0.2, 0.05), Flat(0.01)}, 20);
  EXPECT_GT(given[0], 2 * given[1]) << given[0] << " vs " << given[1];
  EXPECT_GE(given[1], 1);  // its warm-up round at least

  // Round-robin splits the same budget evenly.
  TaskSchedulerOptions even = options;
  even.policy = SchedulerPolicy::kRoundRobin;
  TaskScheduler round_robin({Task("conv2d", 1, 1e9), Task("matmul", 1, 1e9)}, even);
  EXPECT_THAT(Drive(round_robin, {Improving(0.2, 0.05), Flat(0.01)}, 20), ElementsAre(10, 10));
}

TEST(TaskSchedulerTest, WeightsByCountInTheModel) {
  TaskSchedulerOptions options;
  options.epsilon = 0;
  // Two tasks with the same curve; the second runs 6 times per inference.
  TaskScheduler scheduler({Task("conv2d", 1, 1e9), Task("matmul", 6, 1e9)}, options);
  std::vector<int> given = Drive(scheduler, {Improving(0.1, 0.01), Improving(0.1, 0.01)}, 16);
  EXPECT_GT(given[1], given[0]);
}

TEST(TaskSchedulerTest, KinOfTheSameOpPullAShapeThatLagsBehind) {
  TaskSchedulerOptions options;
  options.epsilon = 0;
  // Three tasks, all flat (no recent progress, so only the forward term speaks). Task 1 does
  // as many FLOPs as task 0 but runs 10x slower: its kin term promises beta x task 0's time
  // however many rounds it had. Task 2 (another op, as slow as task 1) has only the -g/t term,
  // which shrinks with every round it gets.
  TaskScheduler scheduler({Task("conv2d", 1, 1e9), Task("conv2d", 1, 1e9), Task("matmul", 1, 1e9)},
                          options);
  std::vector<int> given = Drive(scheduler, {Flat(0.01), Flat(0.1), Flat(0.1)}, 20);
  EXPECT_GT(given[1], 3 * given[2]) << given[1] << " vs " << given[2];
  EXPECT_EQ(given[0], 1);
}

TEST(TaskSchedulerTest, ATaskWithoutAValidResultGoesFirst) {
  TaskSchedulerOptions options;
  options.epsilon = 0;
  TaskScheduler scheduler({Task("conv2d", 1, 1e9), Task("matmul", 1, 1e9)}, options);
  ASSERT_EQ(scheduler.Next(), 0u);
  scheduler.Record(0, 8, 0.01);
  ASSERT_EQ(scheduler.Next(), 1u);
  scheduler.Record(1, 8, std::nullopt);  // every trial failed
  EXPECT_FALSE(scheduler.EstimatedSeconds().has_value());
  EXPECT_EQ(scheduler.Next(), 1u);
}

TEST(TaskSchedulerTest, EarlyStopEndsATaskAndThenTheJob) {
  TaskSchedulerOptions options;
  options.epsilon = 0;
  options.early_stop = 16;  // two rounds of 8 trials without a new best
  TaskScheduler scheduler({Task("conv2d", 1, 1e9), Task("matmul", 1, 1e9)}, options);
  // Task 1 improves for 5 rounds, then never again.
  Curve five_rounds = [](int r) { return r <= 5 ? 0.1 / r : 0.03; };
  std::vector<int> given = Drive(scheduler, {Flat(0.02), five_rounds}, 1000);
  // Each gets the rounds that set its best and two more without a better one.
  EXPECT_THAT(given, ElementsAre(3, 7));
  EXPECT_TRUE(scheduler.state(0).stopped);
  EXPECT_TRUE(scheduler.state(1).stopped);
  EXPECT_FALSE(scheduler.Next().has_value());
  EXPECT_DOUBLE_EQ(*scheduler.EstimatedSeconds(), 0.02 + 0.02);
}

TEST(TaskSchedulerTest, RebuiltFromRecordsDecidesAsTheOriginal) {
  TaskSchedulerOptions options;
  options.epsilon = 0;
  const std::vector<ScheduledTask> tasks = {Task("conv2d", 1, 1e9), Task("conv2d", 2, 1e9),
                                            Task("matmul", 1, 1e8)};
  const std::vector<Curve> curves = {Improving(0.2, 0.05), Improving(0.1, 0.02), Flat(0.01)};
  TaskScheduler original(tasks, options);
  std::vector<size_t> order;
  std::vector<int> given = Drive(original, curves, 12, &order);

  // A resumed job replays the rounds its records hold, then goes on deciding the same way.
  TaskScheduler rebuilt(tasks, options);
  std::vector<int> replayed(tasks.size(), 0);
  for (size_t task : order) rebuilt.Replay(task, 8, curves[task](++replayed[task]));
  for (int r = 0; r < 12; ++r) {
    std::optional<size_t> a = original.Next();
    std::optional<size_t> b = rebuilt.Next();
    ASSERT_EQ(a, b) << "round " << r;
    ++given[*a];
    original.Record(*a, 8, curves[*a](given[*a]));
    rebuilt.Record(*b, 8, curves[*b](given[*b]));
  }
  EXPECT_DOUBLE_EQ(*rebuilt.EstimatedSeconds(), *original.EstimatedSeconds());
}

TEST(TaskSchedulerTest, TasksWithEarlierRecordsNeedNoWarmUp) {
  TaskSchedulerOptions options;
  options.epsilon = 0;
  TaskScheduler scheduler({Task("conv2d", 1, 1e9), Task("matmul", 1, 1e9), Task("dense", 1, 1e9)},
                          options);
  // Tasks 0 and 2 have records from other jobs; task 1 has none and is warmed up first.
  scheduler.Record(0, 0, 0.5);
  scheduler.Record(2, 0, 0.01);
  EXPECT_EQ(scheduler.state(0).trials, 0);
  EXPECT_EQ(scheduler.Next(), 1u);
  scheduler.Record(1, 8, 0.01);
  // Then the gradient decides: task 0 is most of the network.
  EXPECT_EQ(scheduler.Next(), 0u);
  // A stopped task (its space exhausted) gets no more rounds.
  scheduler.Stop(0);
  scheduler.Stop(2);
  EXPECT_EQ(scheduler.Next(), 1u);
  scheduler.Stop(1);
  EXPECT_FALSE(scheduler.Next().has_value());
}

TEST(TaskSchedulerTest, EpsilonExploresLiveTasksReproducibly) {
  TaskSchedulerOptions options;
  options.epsilon = 1;  // every round after the warm-up is a random live task
  options.seed = 7;
  auto run = [&options] {
    TaskScheduler scheduler(
        {Task("conv2d", 1, 1e9), Task("conv2d", 1, 2e9), Task("matmul", 1, 1e9)}, options);
    std::vector<size_t> order;
    Drive(scheduler, {Flat(0.01), Flat(0.01), Flat(0.01)}, 60, &order);
    return order;
  };
  std::vector<size_t> order = run();
  EXPECT_EQ(order, run());  // the seed decides
  std::vector<int> given(3, 0);
  for (size_t task : order) ++given[task];
  for (int count : given) EXPECT_GE(count, 10);  // uniform over 3 tasks, 57 random rounds
}

TEST(TaskSchedulerTest, EstimatesTheNetworkAndEachTaskShare) {
  TaskScheduler scheduler({Task("conv2d", 2, 1e9), Task("matmul", 1, 1e9)}, {});
  ASSERT_EQ(scheduler.Next(), 0u);
  scheduler.Record(0, 8, 0.003);
  EXPECT_FALSE(scheduler.EstimatedSeconds().has_value());
  ASSERT_EQ(scheduler.Next(), 1u);
  scheduler.Record(1, 8, 0.004);
  ASSERT_TRUE(scheduler.EstimatedSeconds().has_value());
  EXPECT_DOUBLE_EQ(*scheduler.EstimatedSeconds(), 2 * 0.003 + 0.004);
  EXPECT_DOUBLE_EQ(scheduler.Share(0), 0.6);
  EXPECT_DOUBLE_EQ(scheduler.Share(1), 0.4);
  // A worse round keeps the best; a better one lowers the estimate.
  scheduler.Record(1, 8, 0.005);
  EXPECT_DOUBLE_EQ(*scheduler.EstimatedSeconds(), 0.010);
  scheduler.Record(1, 8, 0.002);
  EXPECT_DOUBLE_EQ(*scheduler.EstimatedSeconds(), 0.008);
  EXPECT_EQ(scheduler.state(1).trials, 24);
  EXPECT_THAT(scheduler.state(1).best_after_round, ElementsAre(0.004, 0.004, 0.002));
}

}  // namespace
}  // namespace fleettune::tuner
