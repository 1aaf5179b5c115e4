// The rule a tuning job sizes its search's planning budget by (tuner/planning_budget.h).
#include "tuner/planning_budget.h"

#include <limits>

#include "gtest/gtest.h"

namespace fleettune::tuner {
namespace {

TEST(PlanningBudgetTest, AShareOfTheMedianRecentRoundWithAFloor) {
  PlanningBudget budget;
  EXPECT_EQ(budget.Seconds(), kMinPlanningSeconds);  // before any round
  budget.AddRound(10);
  EXPECT_DOUBLE_EQ(budget.Seconds(), kPlanningShareOfRound * 10);
  budget.AddRound(10);
  budget.AddRound(1000);  // one disturbed round does not set the budget
  EXPECT_DOUBLE_EQ(budget.Seconds(), kPlanningShareOfRound * 10);
  budget.AddRound(-1);  // ignored, like non-finite costs
  budget.AddRound(std::numeric_limits<double>::quiet_NaN());
  EXPECT_DOUBLE_EQ(budget.Seconds(), kPlanningShareOfRound * 10);
  // Only the last kPlanningRounds rounds count; fast rounds meet the floor.
  for (int i = 0; i < kPlanningRounds; ++i) budget.AddRound(40);
  EXPECT_DOUBLE_EQ(budget.Seconds(), kPlanningShareOfRound * 40);
  for (int i = 0; i < kPlanningRounds; ++i) budget.AddRound(0.01);
  EXPECT_EQ(budget.Seconds(), kMinPlanningSeconds);
}

}  // namespace
}  // namespace fleettune::tuner
