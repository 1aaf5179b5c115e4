#include "tuner/planning_budget.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "util/median.h"

namespace fleettune::tuner {

void PlanningBudget::AddRound(double seconds) {
  if (!(std::isfinite(seconds) && seconds >= 0)) return;
  recent_.push_back(seconds);
  if (recent_.size() > static_cast<size_t>(kPlanningRounds)) recent_.pop_front();
}

double PlanningBudget::Seconds() const {
  const double round = util::Median(std::vector<double>(recent_.begin(), recent_.end()));
  return std::max(kMinPlanningSeconds, kPlanningShareOfRound * round);
}

}  // namespace fleettune::tuner
