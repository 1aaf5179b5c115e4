// A board's noise figure (BoardStatus.noise_cv): the coefficient of variation of each OK
// result's repeats, the median over the board's last 64, as the scheduler reports it.
#include "tracker/board_noise.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "tests/tracker/scheduler_fixture.h"
#include "tracker/scheduler.h"

namespace fleettune::tracker {
namespace {

v1::MeasureResult OkWithCosts(const std::vector<double>& costs) {
  v1::MeasureResult result;
  result.set_status(v1::OK);
  for (double cost : costs) result.add_costs(cost);
  return result;
}

TEST(CoefficientOfVariationTest, SampleStddevOverMean) {
  // mean 2, deviations -1 0 1: sample variance 2 / 2 = 1, so 1 / 2.
  EXPECT_DOUBLE_EQ(*CoefficientOfVariation({1, 2, 3}), 0.5);
  // mean 11, deviations -1 -1 2: sample variance 6 / 2 = 3.
  EXPECT_DOUBLE_EQ(*CoefficientOfVariation({10, 10, 13}), std::sqrt(3.0) / 11);
  EXPECT_DOUBLE_EQ(*CoefficientOfVariation({4, 4, 4, 4}), 0.0);
  // No figure rather than a misleading one.
  EXPECT_FALSE(CoefficientOfVariation({}).has_value());
  EXPECT_FALSE(CoefficientOfVariation({1e-3}).has_value());
  EXPECT_FALSE(CoefficientOfVariation({0, 0}).has_value());
  EXPECT_FALSE(CoefficientOfVariation({1, std::numeric_limits<double>::infinity()}).has_value());
  EXPECT_FALSE(CoefficientOfVariation({1, std::nan("")}).has_value());
}

TEST(BoardNoiseTest, MedianOfOkResultsAndOkCandidates) {
  BoardNoise noise;
  EXPECT_EQ(noise.samples(), 0u);
  EXPECT_EQ(noise.MedianCv(), 0.0);

  noise.Add(OkWithCosts({1, 2, 3}));  // 0.5
  noise.Add(OkWithCosts({4, 4, 4}));  // 0
  noise.Add(OkWithCosts({5}));        // one repeat: no sample
  v1::MeasureResult failed = OkWithCosts({1, 9});
  failed.set_status(v1::TIMEOUT);
  noise.Add(failed);  // not OK: no sample
  // A multi-candidate result: each OK candidate's rounds are a sample; the others none.
  v1::MeasureResult multi;
  multi.set_status(v1::OK);
  v1::CandidateResult* first = multi.add_candidates();
  first->set_status(v1::OK);
  for (double cost : {1.0, 3.0}) first->add_costs(cost);  // sqrt(2) / 2
  v1::CandidateResult* wrong = multi.add_candidates();
  wrong->set_status(v1::WRONG_ANSWER);
  v1::CandidateResult* third = multi.add_candidates();
  third->set_status(v1::OK);
  for (double cost : {10.0, 10.0, 13.0}) third->add_costs(cost);  // sqrt(3) / 11
  noise.Add(multi);

  EXPECT_EQ(noise.samples(), 4u);
  // Sorted: 0, 0.157, 0.5, 0.707: the mean of the middle two.
  EXPECT_DOUBLE_EQ(noise.MedianCv(), (std::sqrt(3.0) / 11 + 0.5) / 2);
  noise.Add(OkWithCosts({2, 4}));  // sqrt(2) / 3 = 0.471: the middle of five
  EXPECT_DOUBLE_EQ(noise.MedianCv(), std::sqrt(2.0) / 3);
}

TEST(BoardNoiseTest, KeepsTheLast64Samples) {
  BoardNoise noise;
  for (int i = 0; i < 40; ++i) noise.Add(OkWithCosts({1, 3}));  // sqrt(2) / 2 each
  for (int i = 0; i < 30; ++i) noise.Add(OkWithCosts({2, 2}));  // 0 each
  // 64 kept: 34 of the first kind, 30 of the second; the median is the first kind's.
  EXPECT_EQ(noise.samples(), BoardNoise::kMaxSamples);
  EXPECT_DOUBLE_EQ(noise.MedianCv(), std::sqrt(2.0) / 2);
  for (int i = 0; i < 10; ++i) noise.Add(OkWithCosts({2, 2}));
  EXPECT_EQ(noise.samples(), 64u);
  EXPECT_DOUBLE_EQ(noise.MedianCv(), 0.0);  // 24 vs 40 now
}

// The scheduler keeps each board's noise from the results it delivers, per board.
TEST_F(SchedulerTest, StatusReportsEachBoardsNoiseFromItsOkResults) {
  FakeSink sink;
  ASSERT_TRUE(scheduler_.SubmitJob(Batch("k", {1, 2, 3, 4}), &sink).ok());
  FakeBoard noisy, quiet;
  const std::string noisy_id = AddBoard(noisy, "k");
  const std::string quiet_id = AddBoard(quiet, "k");
  v1::MeasureResult first = OkWithCosts({1, 2, 3});
  first.set_task_id(noisy.tasks[0].task_id());
  ASSERT_TRUE(scheduler_.OnBoardResult(noisy_id, first).ok());
  v1::MeasureResult second = OkWithCosts({1, 3});
  second.set_task_id(noisy.tasks[1].task_id());
  ASSERT_TRUE(scheduler_.OnBoardResult(noisy_id, second).ok());
  v1::MeasureResult single_repeat = OkWithCosts({1e-3});
  single_repeat.set_task_id(quiet.tasks[0].task_id());
  ASSERT_TRUE(scheduler_.OnBoardResult(quiet_id, single_repeat).ok());

  v1::StatusReply status = scheduler_.GetStatus();
  ASSERT_EQ(status.boards_size(), 2);
  const v1::BoardStatus& noisy_status =
      status.boards(0).board_id() == noisy_id ? status.boards(0) : status.boards(1);
  const v1::BoardStatus& quiet_status =
      status.boards(0).board_id() == quiet_id ? status.boards(0) : status.boards(1);
  EXPECT_EQ(noisy_status.noise_samples(), 2u);
  EXPECT_DOUBLE_EQ(noisy_status.noise_cv(), (0.5 + std::sqrt(2.0) / 2) / 2);
  EXPECT_EQ(quiet_status.noise_samples(), 0u);  // one repeat says nothing about noise
  EXPECT_EQ(quiet_status.noise_cv(), 0.0);
}

}  // namespace
}  // namespace fleettune::tracker
